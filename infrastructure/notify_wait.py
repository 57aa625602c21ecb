"""Waiting for a LISTEN notification in a way a stop request can end.

psycopg's ``Connection.notifies`` cannot be woken from another thread, so a
thread that waited a whole interval in it held up whoever stopped it for as
long: each server shutdown waited 0.1 to 0.25 s for the commit listener and as
long again for the projection worker. Here the wait is cut into short slices
with a look at the stop event between them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

__all__ = ["STOP_CHECK", "wait_for_notifies"]

#: The longest a stop request waits to be seen (s).
STOP_CHECK = 0.02


def wait_for_notifies(conn: psycopg.Connection[Any], timeout: float,
                      stop: threading.Event) -> list[str] | None:
    """The payloads of the notifications that arrived within ``timeout`` (from the
    first one that did); empty when none did; None when ``stop`` was set first."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        arrived = [n.payload for n in conn.notifies(timeout=min(left, STOP_CHECK),
                                                    stop_after=1)]
        if arrived:
            return arrived
    return None
