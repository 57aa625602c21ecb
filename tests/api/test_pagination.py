"""The shared cursor-pagination helper."""

from __future__ import annotations

import pytest
from litestar.exceptions import ValidationException

from interface.http.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    encode_cursor,
    page_after,
    take_page,
)


def test_limits() -> None:
    assert (DEFAULT_LIMIT, MAX_LIMIT) == (50, 500)


def test_cursors_are_opaque_round_trips() -> None:
    for position in (7, ["2026-11-20T18:00:00Z", "abc"], {"k": 1}):
        cursor = encode_cursor(position)
        assert cursor.replace("-", "").replace("_", "").isalnum()
        assert decode_cursor(cursor) == position
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize("cursor", ["***", "e30", "not base64 at all!", "eyJ4Ijox"])
def test_bad_cursors_are_a_validation_error(cursor: str) -> None:
    if cursor == "e30":  # '{}' decodes fine: a valid cursor for someone
        assert decode_cursor(cursor) == {}
        return
    with pytest.raises(ValidationException):
        decode_cursor(cursor)


def test_take_page_and_page_after() -> None:
    rows = list(range(1, 8))
    first = take_page(rows[:4], 3, position=lambda row: row)
    assert first.items == [1, 2, 3]
    assert decode_cursor(first.next_cursor) == 3
    second = page_after(rows, 3, first.next_cursor, position=lambda row: row)
    assert second.items == [4, 5, 6]
    last = page_after(rows, 3, second.next_cursor, position=lambda row: row)
    assert last.items == [7] and last.next_cursor is None
    assert page_after(rows, 10, None, position=lambda row: row).next_cursor is None
    with pytest.raises(ValidationException):
        page_after(rows, 3, encode_cursor("text"), position=lambda row: row)
