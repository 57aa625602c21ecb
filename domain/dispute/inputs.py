"""Checks on a command's input, before any rule of the case is asked."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import EventInFuture, InvalidInput, NaiveDatetime

FUTURE_TOLERANCE = timedelta(minutes=5)


def check_instant(value: datetime, now: datetime, field: str) -> datetime:
    """An event time must be aware and not more than five minutes ahead of now."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{field} must carry a UTC offset (RFC 3339), got {value.isoformat()}", field=field
        )
    if value > now + FUTURE_TOLERANCE:
        raise EventInFuture(
            f"{field} {value.isoformat()} is more than 5 minutes in the future", field=field
        )
    return value


def text(value: str | None, field: str, *, max_length: int = 2000, required: bool = True) -> str:
    """Free text, trimmed; a NUL is refused (no database can store it in a text column)."""
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    if "\x00" in cleaned:
        raise InvalidInput(f"{field} must not contain a NUL character", field=field)
    return cleaned


def identifier(value: str | None, field: str, *, max_length: int = 200) -> str:
    """An id or code that others will look up and filter by: printable characters only."""
    cleaned = text(value, field, max_length=max_length)
    if not cleaned.isprintable():
        raise InvalidInput(
            f"{field} must contain only printable characters (no control characters)",
            field=field,
        )
    return cleaned


def one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"{field} must be one of {', '.join(allowed)}; got {value!r}", field=field
        )
    return value
