"""A JSON body is taken as sent: JSON by its content type, each key once, values of their type.

This ``before_request`` hook runs before Litestar converts a decoded body into the
handler's type, and refuses what Litestar alone would let through:

- a body sent as something other than JSON (``text/plain``, a form, no content
  type at all) to a route that reads JSON: 415. Litestar would parse it as JSON
  anyway. A request without a body still needs no content type.
- a key given twice in one JSON object, at any depth: 400 naming the key. A JSON
  decoder keeps the last value, so the server would act on a value that the
  client (or a proxy, or a signature check) may have read as the first.
- a value that msgspec's lax mode would convert: ``{"rating": "5"}`` would become
  ``5`` and ``{"approve": "false"}`` would become ``False``; the contract says a
  value of the wrong type is a 400.
- a body nested deeper than any request of this API needs (a deep one would only
  cost the server recursion): 400.

Every other problem is left to Litestar's own messages.

A route that reads its body itself (an upload that also takes JSON) runs the same
checks with :func:`check_content_type` and :func:`check_decoded`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler

#: No request body of this API nests anywhere near this deep (a policy document: 4).
MAX_DEPTH = 32
_TOO_DEEP = "the JSON body is nested too deeply"
#: Methods whose body a handler reads.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON = RequestEncodingType.JSON.value


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


def _body_parameter(handler: HTTPRouteHandler) -> Any:
    return handler.parsed_fn_signature.parameters.get("data")


def _field(error: msgspec.ValidationError) -> str:
    message = str(error)
    _, at, path = message.rpartition(" - at `$.")
    return path.rstrip("`") if at else "body"


# -- content type ------------------------------------------------------------------


def _reads_json(parameter: Any) -> bool:
    """Whether the route's body is JSON (the default), not a form or a multipart upload."""
    media_type = getattr(parameter.kwarg_definition, "media_type", None)
    return media_type is None or media_type == _JSON


def _is_json(media_type: str) -> bool:
    kind = media_type.strip().lower()
    return kind == _JSON or (kind.startswith("application/") and kind.endswith("+json"))


async def _check_content_type(request: Request[Any, Any, Any]) -> None:
    """415 unless a body sent to a JSON route says it is JSON (in UTF-8)."""
    media_type, _ = request.content_type
    check_content_type(request, None if _is_json(media_type) else await request.body())


def check_content_type(
    request: Request[Any, Any, Any], body: bytes | None, accepts: Sequence[str] = (_JSON,)
) -> None:
    """415 unless a body says it is JSON (in UTF-8): ``body`` (None when not read) sent
    to a route that reads ``accepts`` (JSON, and what else it reads itself)."""
    media_type, options = request.content_type
    others = "".join(f" or {kind}" for kind in accepts if kind != _JSON)
    if _is_json(media_type):
        charset = options.get("charset", "utf-8").strip().strip('"').lower()
        if charset.replace("-", "").replace("_", "") == "utf8":
            return
        problem = f"a JSON body must be UTF-8, not {charset!r}"
    elif body is not None and not body.strip():
        return  # no body: nothing to read (an empty body is Litestar's to refuse)
    elif not media_type:
        problem = f"send the body with Content-Type: {_JSON}{others}"
    else:
        problem = f"this route reads JSON ({_JSON}){others}, not {media_type!r}"
    accepted = ", ".join(accepts)
    accept = {"Accept-Patch" if request.method == "PATCH" else "Accept-Post": accepted}
    raise ValidationException(
        problem,
        status_code=415,
        headers=accept,
        extra=[{"key": "content_type", "message": problem, "source": "header"}],
    )


# -- duplicate keys ------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers the first key it was given twice."""

    duplicate: str | None = None


class _Repeated(Exception):
    """An object of the body holds a key twice (raised by :func:`_unique_keys`)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's pairs as a dict, built in C: the check every body pays."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Repeated
    return found


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    found = _Object()
    for key, value in pairs:
        if key in found and found.duplicate is None:
            found.duplicate = key
        found[key] = value
    return found


def _duplicate_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """(the dotted path, such as ``orders[2].amount.currency``, the key) of the first key
    given twice."""
    if isinstance(value, _Object):
        if value.duplicate is not None:
            key = value.duplicate
            return (f"{path}.{key}" if path else key), key
        for key, child in value.items():
            found = _duplicate_path(child, f"{path}.{key}" if path else key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _duplicate_path(child, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _check_duplicate_keys(body: bytes) -> None:
    """400 naming the first key that an object of ``body`` holds twice.

    msgspec, which decodes the body, keeps the last value of a repeated key and
    cannot say it saw one; the standard library's decoder hands each object's
    pairs over as sent. Called on a body already decoded and checked for depth.
    A body without a repeated key is read once; only one with a repeated key is
    read again to name where.
    """
    if body.count(b'"') < 4:  # fewer than two keys: nothing can repeat
        return
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
        return
    except _Repeated:
        pass
    except (ValueError, RecursionError):
        return  # what msgspec read, the standard library did not: no duplicate found
    try:
        decoded = json.loads(body, object_pairs_hook=_object)
    except (ValueError, RecursionError):
        return
    found = _duplicate_path(decoded)
    if found is None:
        return
    path, key = found
    message = f"the key {key!r} appears more than once in the same object"
    raise ValidationException(
        f"{path}: {message}", extra=[{"key": path, "message": message, "source": "body"}]
    )


# -- the hook -------------------------------------------------------------------------


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    parameter = _body_parameter(request.route_handler)
    if parameter is None or not _reads_json(parameter):
        return None
    if request.method in _BODY_METHODS:
        await _check_content_type(request)
    try:
        data = await request.json()  # cached: Litestar's own parsing reuses it
    except RecursionError:
        raise ClientException(_TOO_DEEP) from None
    except SerializationException:
        return None  # malformed JSON: Litestar says so in its own words
    check_decoded(await request.body(), data, parameter.annotation)
    return None


def too_deep() -> ClientException:
    """The refusal of a body nested too deeply to decode."""
    return ClientException(_TOO_DEEP)


def check_decoded(body: bytes, data: Any, annotation: Any) -> None:
    """400 for a decoded JSON ``body`` nested too deeply, with a key twice, or with a
    value that only a lax conversion to ``annotation`` would take."""
    if _depth_exceeds(data, MAX_DEPTH):
        raise ClientException(f"{_TOO_DEEP} (at most {MAX_DEPTH} levels)")
    _check_duplicate_keys(body)
    try:
        msgspec.convert(data, annotation, strict=True)
    except msgspec.ValidationError as strict_error:
        try:
            msgspec.convert(data, annotation, strict=False)
        except msgspec.ValidationError:
            return  # wrong either way: Litestar's message names the problem
        field = _field(strict_error)
        raise ValidationException(
            f"{field}: {strict_error}",
            extra=[{"key": field, "message": str(strict_error), "source": "body"}],
        ) from None
