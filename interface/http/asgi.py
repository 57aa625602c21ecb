"""Small reads of the raw ASGI scope, for code on every request's path."""

from __future__ import annotations

from typing import Any


def header_value(scope: Any, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case, as ASGI gives names), unparsed."""
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None
