"""The connection pools' check on checkout, without a round trip unless it is needed.

psycopg_pool's ``check_connection`` sends an empty query each time a connection
leaves a pool: a round trip for every statement a request makes, about a tenth
of a request's CPU under load. An idle connection has nothing to read, while a
server that ended it (``pg_terminate_backend``, a restart, a lost peer reset by
the kernel) has sent its last message or closed the socket, which makes the
socket readable. Only such a connection is checked with the round trip (and
dropped by the pool when that fails). A peer that hangs silently is not seen
here; the statements' own timeouts and retries see it, as they did before.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

__all__ = ["check_if_disturbed"]


def check_if_disturbed(conn: psycopg.Connection[Any]) -> None:
    """Raise if ``conn`` cannot serve; ask the server only if something arrived."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)
