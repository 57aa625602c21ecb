"""How the read-model queries write figures and take page sizes: instants as RFC 3339,
durations in hours, rates as fractions (null when there is nothing to divide by)."""

from __future__ import annotations

from application.projections.records import MICROS_PER_HOUR, from_micros
from application.times import rfc3339
from domain.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def iso_micros(value: int | None) -> str | None:
    return None if value is None else rfc3339(from_micros(value))


def hours(micros: float | None) -> float | None:
    return None if micros is None else round(micros / MICROS_PER_HOUR, 2)


def ratio(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(part / whole, 4)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", field="limit")
    return limit
