"""Clocks: the only way the application learns what time it is.

Both classes satisfy a ``Clock`` protocol with one method, ``now() -> datetime``,
returning an aware datetime in UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "SystemClock"]


def _require_aware(t: datetime) -> datetime:
    if not isinstance(t, datetime):
        raise TypeError(f"expected a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()} refused: give it a time zone")
    return t.astimezone(UTC)


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to (tests, demos, simulations). Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _require_aware(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, t: datetime) -> None:
        """Jump to ``t`` (aware; earlier instants are allowed)."""
        aware = _require_aware(t)
        with self._lock:
            self._now = aware

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"expected a timedelta, got {type(delta).__name__}")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"
