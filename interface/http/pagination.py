"""Cursor pagination shared by every list endpoint.

``?limit=`` (default 50, at most 500; out of range is a 400) and ``?cursor=``,
an opaque token the previous page returned as ``next_cursor``. A cursor wraps
a JSON position (whatever the list orders by: a sequence number, a
``(time, id)`` pair...) in URL-safe base64; a cursor that does not decode is a
400. Use it in a handler like this::

    @get("/v1/things")
    def things(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> ThingsPage:
        after = decode_cursor(cursor)              # None on the first page
        rows = store.things(after=after, limit=limit + 1)
        page = take_page(rows, limit, position=lambda row: [row.created_at, row.id])
        return ThingsPage(data=page.items, next_cursor=page.next_cursor)

and declare the page as ``class ThingsPage(Struct): data: list[Thing]; next_cursor: str | None``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Limit = Annotated[
    int,
    QueryParameter(
        name="limit",
        ge=1,
        le=MAX_LIMIT,
        description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    ),
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        required=False,
        max_length=1000,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="The `next_cursor` of the previous page; omit it for the first page.",
    ),
]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(position: Any) -> str:
    raw = msgspec.json.encode(position)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


_INT64 = range(-(2**63), 2**63)


def _storable(value: Any) -> bool:
    """Whether every part of a position fits a database column (64-bit, no NUL)."""
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return True
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, str):
        return "\x00" not in value
    return False


def decode_cursor(cursor: str | None) -> Any:
    """The position a cursor names, or ``None`` for the first page."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw)
        readable = _storable(position)
    except (binascii.Error, ValueError, msgspec.DecodeError, RecursionError):
        readable = False
    if not readable:
        raise ValidationException(
            "cursor is not one this API returned",
            extra=[{"key": "cursor", "message": "not a cursor this API returned"}],
        )
    return position


def take_page(rows: Sequence[T], limit: int, position: Callable[[T], Any]) -> Page[T]:
    """Cut ``rows`` (fetched with ``limit + 1``) into a page and the cursor of the next."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(position(items[-1])) if more and items else None)


def page_after(
    rows: Sequence[T], limit: int, cursor: str | None, position: Callable[[T], Any]
) -> Page[T]:
    """Page an in-memory list ordered by ``position`` (ascending)."""
    after = decode_cursor(cursor)
    start = 0
    if after is not None:
        try:
            start = next(
                (i for i, row in enumerate(rows) if position(row) > after), len(rows)
            )
        except TypeError:
            raise ValidationException(
                "cursor is not one this API returned",
                extra=[{"key": "cursor", "message": "not a cursor for this list"}],
            ) from None
    return take_page(rows[start : start + limit + 1], limit, position)
