"""Writers take turns in the order they arrived.

``threading.Lock`` and ``RLock`` let the thread that releases take the lock
straight back: beside a thread writing back to back, as a sweep does, a
request's command waited up to a second. Here the thread that leaves hands the
turn to the longest-waiting thread itself, so nobody can overtake it (figures
in docs/decisions.md, "Serving").
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

__all__ = ["Turns"]


class Turns:
    """A reentrant lock that serves waiting threads first come, first served."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[tuple[int, threading.Lock]] = deque()
        self._owner: int | None = None
        self._depth = 0

    @property
    def waiting(self) -> int:
        """How many threads wait for their turn."""
        with self._guard:
            return len(self._waiting)

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append((me, gate))
        gate.acquire()  # the leaving owner made this thread the owner, then opened the gate

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._guard:
            if self._owner != threading.get_ident():
                raise RuntimeError("a turn can only be ended by the thread that holds it")
            self._depth -= 1
            if self._depth:
                return
            if not self._waiting:
                self._owner = None
                return
            self._owner, gate = self._waiting.popleft()
            self._depth = 1
            gate.release()
