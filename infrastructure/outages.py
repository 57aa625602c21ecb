"""The exceptions that mean "the database cannot be reached right now".

Interfaces answer these with "retry shortly" (HTTP 503) rather than a failure.

An outage is an error of the connection or of the server going away or timing
out: a connection refused, reset or closed (``psycopg.OperationalError``,
``psycopg.InterfaceError``), a server shutting down or not yet accepting
connections (SQLSTATE class 57: ``AdminShutdown``, ``CannotConnectNow``, ...),
a statement, lock or session timeout (``QueryCanceled``, ``LockNotAvailable``,
``IdleSessionTimeout``), a pool that found no connection in time
(``PoolTimeout``) and a session the server ended because it sat idle inside a
transaction (``IdleInTransactionSessionTimeout``: the client did not answer, as
when the network hangs). Bugs and refused data (integrity, syntax, data errors)
are not outages: they stay 500s, or the client's fault.

eventsourcing raises its own classes, ``from`` psycopg's, by kind: a session
ended for idling in a transaction arrives as ``persistence.InternalError``,
which is also what a transaction in a failed state gives. :class:`WrappedOutage`
tells them apart by the error it was raised from.

``isinstance(error, STORE_OUTAGES)`` (or :func:`is_store_outage`) gives the
answer; ``except STORE_OUTAGES`` does not see :class:`WrappedOutage`, whose test
Python's ``except`` never calls.
"""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg.errors
import psycopg_pool
from eventsourcing import persistence

__all__ = ["PSYCOPG_OUTAGES", "STORE_OUTAGES", "WrappedOutage", "is_store_outage"]

#: psycopg's errors that mean the connection or the server went away or timed
#: out. ``OperationalError`` covers SQLSTATE classes 08 (connection), 53
#: (resources), 57 (operator intervention, ``QueryCanceled`` included) and
#: ``LockNotAvailable``; ``PoolTimeout`` is one too.
PSYCOPG_OUTAGES: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg.errors.IdleInTransactionSessionTimeout,
)

_OUTRIGHT: tuple[type[Exception], ...] = (
    *PSYCOPG_OUTAGES,
    psycopg_pool.PoolTimeout,
    persistence.OperationalError,
    persistence.InterfaceError,
    sqlite3.OperationalError,
)

_MAX_CAUSES = 8


def _caused_by_outage(error: object) -> bool:
    """An eventsourcing error raised ``from`` an outage (however deeply wrapped)."""
    for _ in range(_MAX_CAUSES):
        if not isinstance(error, persistence.PersistenceError):
            return False
        error = error.__cause__
        if isinstance(error, _OUTRIGHT):
            return True
    return False


class _WrappedOutageType(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return _caused_by_outage(instance)


class WrappedOutage(Exception, metaclass=_WrappedOutageType):
    """``isinstance(error, WrappedOutage)``: an eventsourcing error raised from an
    outage, such as ``persistence.InternalError`` from
    ``IdleInTransactionSessionTimeout``. Never raised itself."""


STORE_OUTAGES: tuple[type[Exception], ...] = (*_OUTRIGHT, WrappedOutage)


def is_store_outage(error: BaseException) -> bool:
    """Whether ``error`` means the store is unavailable for now (see the module)."""
    return isinstance(error, STORE_OUTAGES)
