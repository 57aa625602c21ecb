"""A JSON body's values are taken as sent: a string is never read as a number or a boolean.

Litestar converts a decoded body into the handler's type in msgspec's lax mode, so
``{"rating": "5"}`` would become ``5`` and ``{"approve": "false"}`` would become
``False``. The contract says a value of the wrong type is a 400. This ``before_request``
hook runs before that conversion. It refuses only what the lax mode alone would
accept, and a body nested deeper than any request of this API needs (a deep one
would only cost the server recursion). Every other problem is left to Litestar's
own messages.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler

#: No request body of this API nests anywhere near this deep (a policy document: 4).
MAX_DEPTH = 32
_TOO_DEEP = "the JSON body is nested too deeply"


def _depth_exceeds(value: Any, limit: int) -> bool:
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, (list, dict))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def _body_type(handler: HTTPRouteHandler) -> Any:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    return None if parameter is None else parameter.annotation


def _field(error: msgspec.ValidationError) -> str:
    message = str(error)
    _, at, path = message.rpartition(" - at `$.")
    return path.rstrip("`") if at else "body"


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    body_type = _body_type(request.route_handler)
    if body_type is None:
        return None
    try:
        data = await request.json()  # cached: Litestar's own parsing reuses it
    except RecursionError:
        raise ClientException(_TOO_DEEP) from None
    except SerializationException:
        return None  # malformed JSON: Litestar says so in its own words
    if _depth_exceeds(data, MAX_DEPTH):
        raise ClientException(f"{_TOO_DEEP} (at most {MAX_DEPTH} levels)")
    try:
        msgspec.convert(data, body_type, strict=True)
    except msgspec.ValidationError as strict_error:
        try:
            msgspec.convert(data, body_type, strict=False)
        except msgspec.ValidationError:
            return None  # wrong either way: Litestar's message names the problem
        field = _field(strict_error)
        raise ValidationException(
            f"{field}: {strict_error}",
            extra=[{"key": field, "message": str(strict_error), "source": "body"}],
        ) from None
    return None
