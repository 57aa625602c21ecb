"""The access audit kept in the events' own database (table ``access_audit``).

SQLite: the events' file, one connection behind a lock, each record committed
before the read it records is served. PostgreSQL: the events' database, a small
pool of its own. The table and its indexes are made when the store opens, if
missing (several processes may open it at once). The SQL is written once, with
``?`` placeholders.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from application.access_audit import (
    AccessEntry,
    AccessLog,
    AccessQuery,
    AccessRecord,
    Channel,
    Read,
)
from infrastructure.database_url import DatabaseURL, psycopg_conninfo
from infrastructure.pool_check import pool_hooks
from infrastructure.private_files import private_sqlite_file

__all__ = ["PostgresAccessLog", "SQLiteAccessLog", "open_access_log"]

TABLE = "access_audit"
_COLUMNS = ("at, actor_role, actor_id, dispute_id, read, channel, evidence_id, request_id")
_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS {TABLE}_actor ON {TABLE} (actor_id, seq)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_dispute ON {TABLE} (dispute_id, seq)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_at ON {TABLE} (at)",
)
_ROWS = (
    " at DOUBLE PRECISION NOT NULL, actor_role TEXT NOT NULL, actor_id TEXT NOT NULL,"
    " dispute_id TEXT NOT NULL, read TEXT NOT NULL, channel TEXT NOT NULL,"
    " evidence_id TEXT, request_id TEXT)"
)
SQLITE_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT," + _ROWS,
    *_INDEXES,
)
POSTGRES_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," + _ROWS,
    *_INDEXES,
)
_INSERT = f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def _row(record: AccessRecord) -> tuple[Any, ...]:
    return (record.at.timestamp(), record.actor_role, record.actor_id,
            str(record.dispute_id), record.read.value, record.channel.value,
            record.evidence_id, record.request_id)


def _entry(row: Sequence[Any]) -> AccessEntry:
    return AccessEntry(int(row[0]), AccessRecord(
        at=datetime.fromtimestamp(float(row[1]), UTC), actor_role=row[2], actor_id=row[3],
        dispute_id=UUID(row[4]), read=Read(row[5]), channel=Channel(row[6]),
        evidence_id=row[7], request_id=row[8],
    ))


def _select(query: AccessQuery) -> tuple[str, list[Any]]:
    """The statement for ``query`` (newest first) and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    for condition, value in (
        ("seq < ?", query.before_seq),
        ("actor_id = ?", query.actor_id),
        ("dispute_id = ?", None if query.dispute_id is None else str(query.dispute_id)),
        ("at >= ?", None if query.since is None else query.since.timestamp()),
        ("at < ?", None if query.until is None else query.until.timestamp()),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    params.append(query.limit)
    return f"SELECT seq, {_COLUMNS} FROM {TABLE}{clause} ORDER BY seq DESC LIMIT ?", params


class SQLiteAccessLog:
    """One connection guarded by a lock; SQLite serialises writers across processes."""

    def __init__(self, path: str, *, timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                     check_same_thread=False)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            for statement in SQLITE_SCHEMA:
                self._conn.execute(statement)

    def record(self, record: AccessRecord) -> None:
        with self._lock:
            self._conn.execute(_INSERT, _row(record))  # autocommit: durable on return

    def entries(self, query: AccessQuery) -> list[AccessEntry]:
        sql, params = _select(query)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_entry(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresAccessLog:
    """A small connection pool of its own on the events' database."""

    def __init__(self, conninfo: str, *, max_size: int = 4) -> None:
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=True, name="access-audit",
            timeout=5.0, reconnect_timeout=5.0, **pool_hooks(),
            kwargs={"prepare_threshold": None},  # as the event store (bootstrap)
        )
        try:
            with self._pool.connection() as conn, conn.transaction():
                # Several workers may start at once: one makes the table, the others wait.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
                for statement in POSTGRES_SCHEMA:
                    conn.execute(statement)
        except BaseException:
            self._pool.close()
            raise

    def record(self, record: AccessRecord) -> None:
        with self._pool.connection() as conn:  # committed when the block ends
            conn.execute(_INSERT.replace("?", "%s"), _row(record))

    def entries(self, query: AccessQuery) -> list[AccessEntry]:
        sql, params = _select(query)
        with self._pool.connection() as conn:
            rows = conn.execute(sql.replace("?", "%s"), params).fetchall()
        return [_entry(row) for row in rows]

    def close(self) -> None:
        self._pool.close()


def open_access_log(url: DatabaseURL) -> AccessLog:
    """The access audit in the events' database named by ``url``."""
    if url.is_sqlite:
        assert url.sqlite_path is not None
        private_sqlite_file(url.sqlite_path)
        return SQLiteAccessLog(str(url.sqlite_path),
                               timeout=float(url.query.get("lock_timeout", "10")))
    return PostgresAccessLog(psycopg_conninfo(url))


@contextmanager
def access_log_at(url: DatabaseURL) -> Iterator[AccessLog]:
    """The access audit of ``url``, closed when the block ends (the CLI's reads)."""
    log = open_access_log(url)
    try:
        yield log
    finally:
        log.close()
