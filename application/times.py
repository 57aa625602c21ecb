"""How every instant leaves the API: one style, from here.

- An instant is RFC 3339 in UTC with ``Z`` (``2026-11-25T07:59:59Z``), whatever
  offset it was sent or computed with.
- A deadline a party must act by also comes as local time in the order's
  region, with that region's offset, in a companion field named ``<field>_local``
  (``"ship_by_local": "2026-11-24T23:59:59-08:00"``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

__all__ = ["local", "local_or_none", "rfc3339", "rfc3339_or_none"]


def rfc3339(value: datetime) -> str:
    """An instant as RFC 3339 in UTC with ``Z`` (``2026-11-20T18:00:00Z``); a naive
    value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rfc3339_or_none(value: datetime | None) -> str | None:
    return None if value is None else rfc3339(value)


def local(value: datetime, zone: tzinfo) -> str:
    """An instant as RFC 3339 local time in ``zone``, with its offset
    (``2026-11-24T23:59:59-08:00``)."""
    return value.astimezone(zone).isoformat()


def local_or_none(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else local(value, zone)
