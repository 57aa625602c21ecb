"""ETags and conditional requests: the ETag of a dispute is its version, ``"<version>"``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.params import HeaderParameter

from interface.http.asgi import header_value

_STRONG = re.compile(r'^"(\d{1,18})"$')
_ANY_TAG = re.compile(r'^(W/)?"([^"]*)"$')

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        pattern=r'^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$',
        description='Run the command only if the dispute is still at this version: its ETag, '
        'e.g. `"7"` (or `*`). Otherwise 412.',
    ),
]


@dataclass
class ReadsIfNoneMatch(Operation):
    """The OpenAPI operation of a read that honours ``If-None-Match``.

    The handler reads the header from the raw request (:func:`if_none_match`):
    declared as a parameter, Litestar would parse every header of every read.
    """

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or ()), Parameter(
            name="If-None-Match",
            param_in=ParamType.HEADER,
            required=False,
            schema=Schema(type=OpenAPIType.STRING),
            description="An ETag the client holds; 304 when the dispute is still at that version.",
        )]


def if_none_match(scope: Any) -> str | None:
    return header_value(scope, b"if-none-match")

ETAG_HEADER = ResponseHeader(
    name="ETag",
    description='The dispute\'s version as a strong entity tag, e.g. `"7"`.',
    documentation_only=True,
)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (``None``: no condition, or ``*``)."""
    if if_match is None:
        return None
    value = if_match.strip()
    if value == "*":
        return None
    if "," in value:
        raise ClientException("If-Match must name one entity tag, e.g. \"7\"")
    match = _STRONG.match(value)
    if match is None:
        raise HTTPException(
            status_code=412,
            detail=f"If-Match {value[:50]!r} cannot match: send the dispute's ETag, e.g. \"7\"",
        )
    return int(match[1])


def matches_none(if_none_match: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names the current version (weak comparison), or is ``*``."""
    if if_none_match is None:
        return False
    current = str(version)
    for part in if_none_match.split(","):
        value = part.strip()
        if value == "*":
            return True
        match = _ANY_TAG.match(value)
        if match is not None and match[2] == current:
            return True
    return False
