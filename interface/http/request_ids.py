"""Every request's id: the client's own ``X-Request-ID`` when it is sane, else a new one."""

from __future__ import annotations

import random
from typing import Any

from litestar.types import Scope

REQUEST_ID_HEADER = "x-request-id"
_MAX_ID_LENGTH = 128
# Request ids need to be unique, not secret: os.urandom (uuid4) costs ~90 us a call here.
_ids = random.Random()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= _MAX_ID_LENGTH and text.isascii() and text.isprintable():
                return text
            return None
    return None


def request_id_of(scope: Scope) -> str:
    """The request's id, chosen once and kept in the scope's state."""
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        request_id = _incoming_request_id(scope) or f"{_ids.getrandbits(128):032x}"
        state["request_id"] = request_id
    return request_id
