"""The eventsourcing SQLite persistence module with two settings changed.

eventsourcing already puts the file in WAL mode; here every connection also
uses ``synchronous=NORMAL``, the usual pairing with WAL: a commit no longer
waits for an fsync (about 10x more commands per second on one disk), and a
crash of the process still loses nothing. Only a power failure can lose the
last few transactions. Select it with ``PERSISTENCE_MODULE``.

A new database file is created private (0600, in a 0700 directory if that is
new too) before the library opens it; SQLite gives its ``-wal`` and ``-shm``
files the same permissions. Then :func:`check_usable` makes sure the file is a
database this process can write: a damaged file, another kind of file or a
read-only one is :class:`UnusableStore` at once, with one line saying which,
rather than an error at the first write (SQLite opens a read-only file without
a word and refuses only the writes).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from eventsourcing import sqlite
from eventsourcing.utils import Environment

from infrastructure.private_files import is_file_database, private_sqlite_file

__all__ = ["Factory", "UnusableStore", "check_usable", "unusable_store"]

# The library keeps 5 connections and closes any further one when it is returned:
# with a server's worker threads, every request beyond the fifth opened a new
# connection (file open, schema read, pragmas) and closed it again.
POOL_SIZE = 16
MAX_OVERFLOW = 32


class UnusableStore(sqlite3.OperationalError):
    """An SQLite store file that cannot serve: not a database, damaged, read-only,
    or impossible to open. The message is one line naming the file and the reason.

    An ``OperationalError``, so that code which treats SQLite's operational
    errors as "the store is unavailable" (HTTP 503) still does.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


#: SQLite's primary result codes (``sqlite_errorname`` without its extended part)
#: that say the file itself cannot serve, and how to say so.
_UNUSABLE = {
    "SQLITE_NOTADB": "not an SQLite database (a damaged file, or another kind of file)",
    "SQLITE_CORRUPT": "the database file is damaged (SQLite: malformed)",
    "SQLITE_READONLY": "read-only: the store must be writable by this process",
    "SQLITE_CANTOPEN": "cannot be opened (does its directory exist, and is it writable?)",
    "SQLITE_PERM": "permission denied",
    "SQLITE_AUTH": "permission denied",
    "SQLITE_IOERR": "cannot be read or written (I/O error)",
    "SQLITE_FULL": "the disk is full",
}


def unusable_store(path: str | Path, error: sqlite3.Error) -> UnusableStore | None:
    """``error`` as an UnusableStore when it says the file cannot serve; None when it is
    passing (busy, locked) or not about the file."""
    if isinstance(error, UnusableStore):
        return error
    name = getattr(error, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED -> SQLITE_READONLY
    reason = _UNUSABLE.get(primary)
    if reason is None:
        return None
    return UnusableStore(path, f"{reason} ({error})" if primary == "SQLITE_IOERR" else reason)


def check_usable(conn: sqlite3.Connection, path: str | Path) -> None:
    """Raise UnusableStore unless ``conn``'s file is a database this process can write.

    Reads the schema (a file that is not a database fails here), then makes a
    change in a transaction that it rolls back: SQLite opens a read-only file
    without complaint and refuses only writes. When another connection holds
    the write lock, the file is evidently writable: no wait, no error. ``conn``
    must be idle (in autocommit mode, outside a transaction).
    """
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN")
            try:
                conn.execute("CREATE TABLE disputedesk_write_check (x)")
            finally:
                if conn.in_transaction:  # SQLite may have rolled back itself
                    conn.execute("ROLLBACK")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    except sqlite3.Error as error:
        unusable = unusable_store(path, error)
        if unusable is not None:
            raise unusable from error
        if getattr(error, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return
        raise


def _check_file(name: str) -> None:
    """Create the events file private if it is new, then check that it can serve."""
    if not is_file_database(name):
        return
    private_sqlite_file(name)
    try:
        conn = sqlite3.connect(name, isolation_level=None, timeout=0)
    except sqlite3.Error as error:
        unusable = unusable_store(name, error)
        if unusable is None:
            raise
        raise unusable from error
    try:
        check_usable(conn, name)
    finally:
        conn.close()


class TunedSQLiteConnectionPool(sqlite.SQLiteConnectionPool):
    def _create_connection(self) -> sqlite.SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return connection


class Factory(sqlite.SQLiteFactory):
    """The only factory class here: eventsourcing picks it up by module."""

    def __init__(self, env: Any):
        environment = env if isinstance(env, Environment) else Environment(env=env)
        _check_file(environment.get(self.SQLITE_DBNAME) or "")
        super().__init__(environment)
        old = self.datastore.pool
        self.datastore.pool = TunedSQLiteConnectionPool(
            db_name=old.db_name,
            lock_timeout=old.lock_timeout,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
        )
        old.close()

