"""The connection pools' check on checkout, with a round trip only where it can matter.

psycopg_pool's ``check_connection`` sends an empty query each time a connection
leaves a pool: under load, a round trip for every statement a request makes,
about a tenth of a request's CPU. :class:`PoolCheck` pings a connection only
when the world may have changed since it was last used:

- it has never been handed out, or it sat in the pool longer than ``quiet``
  seconds (a database that restarted or went away meanwhile leaves connections
  that look alive until something is sent on them);
- or its socket is readable, which an idle connection's never is unless the
  server ended it (``pg_terminate_backend``, a shutdown: its last message or
  the socket's end is waiting).

A connection that went back to the pool a moment ago and shows nothing new is
handed out as it is. A connection that fails its ping is dropped by the pool,
which hands out another.
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

__all__ = ["QUIET", "PoolCheck", "pool_hooks"]

#: A connection back in the pool for longer than this (s) is pinged before use.
QUIET = 0.5


class PoolCheck:
    """One pool's ``check`` and ``reset`` callbacks (both public psycopg_pool hooks)."""

    def __init__(self, quiet: float = QUIET) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    def returned(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's ``reset`` callback: ``conn`` is back in the pool, healthy."""
        with self._lock:
            self._returned[conn] = time.monotonic()

    def check(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's ``check`` callback: raise if ``conn`` cannot serve."""
        if conn.closed:
            raise psycopg.OperationalError("the connection is closed")
        with self._lock:
            returned_at = self._returned.pop(conn, None)
        if (returned_at is None or time.monotonic() - returned_at > self.quiet
                or _readable(conn)):
            ConnectionPool.check_connection(conn)


def pool_hooks(quiet: float = QUIET) -> dict[str, Any]:
    """``check`` and ``reset`` for one pool, together: one without the other pings always."""
    checks = PoolCheck(quiet)
    return {"check": checks.check, "reset": checks.returned}


def _readable(conn: psycopg.Connection[Any]) -> bool:
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))
