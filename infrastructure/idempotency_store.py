"""Idempotency keys kept in the events' own database (table ``idempotency_keys``).

SQLite: the same file as the event store. PostgreSQL: the same database (and
schema, when the URL names one). The table is created, or given the columns it
lacks, when the store opens.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from application.idempotency import (
    CaseOutcome,
    IdempotencyRecord,
    IdempotencyStore,
    Outcome,
    StoredResponse,
)
from infrastructure.database_url import DatabaseURL, psycopg_conninfo
from infrastructure.pool_check import pool_hooks
from infrastructure.private_files import private_sqlite_file

__all__ = [
    "PostgresIdempotencyStore",
    "SQLiteIdempotencyStore",
    "open_idempotency_store",
]

TABLE = "idempotency_keys"
RETRIES = 3
P = ParamSpec("P")
R = TypeVar("R")
_COLUMNS = "fingerprint, created_at, status, headers, body, outcome"


def _headers_to_json(headers: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([list(pair) for pair in headers])


def _headers_from_json(raw: str | list[Any] | None) -> tuple[tuple[str, str], ...]:
    pairs = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return tuple((str(name), str(value)) for name, value in pairs)


def _columns(outcome: Outcome) -> tuple[int, str, bytes | None, str | None]:
    """status, headers, body, outcome: a case answer keeps no body."""
    headers = _headers_to_json(outcome.headers)
    if isinstance(outcome, CaseOutcome):
        named = {
            "dispute_id": outcome.dispute_id,
            "version": outcome.version,
            "position": outcome.position,
        }
        return outcome.status, headers, None, json.dumps(named)
    return outcome.status, headers, outcome.body, None


def _record(
    fingerprint: str,
    created_at: datetime,
    status: int | None,
    headers: str | list[Any] | None,
    body: bytes | memoryview | None,
    outcome: str | dict[str, Any] | None,
) -> IdempotencyRecord:
    kept: Outcome | None = None
    if status is not None:
        pairs = _headers_from_json(headers)
        if outcome is not None:
            named = json.loads(outcome) if isinstance(outcome, str) else outcome
            kept = CaseOutcome(
                status, pairs, str(named["dispute_id"]), int(named["version"]),
                None if named.get("position") is None else int(named["position"]),
            )
        else:
            kept = StoredResponse(status, pairs, bytes(body or b""))
    return IdempotencyRecord(fingerprint, created_at, kept)


class SQLiteIdempotencyStore:
    """One connection guarded by a lock; SQLite serialises writers across processes."""

    def __init__(self, path: str, *, timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
                "created_at REAL NOT NULL, claim TEXT, status INTEGER, headers TEXT, "
                "body BLOB, outcome TEXT, PRIMARY KEY (principal, key))"
            )
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({TABLE})")}
            for column in ("claim", "outcome"):
                if column not in present:  # a table made by an earlier version
                    self._conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} TEXT")
            self._conn.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_created_at ON {TABLE} (created_at)"
            )

    def reserve(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        claim: str,
        now: datetime,
        *,
        stale_before: datetime,
    ) -> IdempotencyRecord | None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE principal = ? AND key = ? "
                    "AND status IS NULL AND created_at < ?",
                    (principal, key, stale_before.timestamp()),
                )
                inserted = conn.execute(
                    f"INSERT INTO {TABLE} (principal, key, fingerprint, created_at, claim) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (principal, key, fingerprint, now.timestamp(), claim),
                ).rowcount
                row = None
                if not inserted:
                    row = conn.execute(
                        f"SELECT {_COLUMNS} FROM {TABLE} WHERE principal = ? AND key = ?",
                        (principal, key),
                    ).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if row is None:
            return None
        return _record(row[0], datetime.fromtimestamp(row[1], UTC), *row[2:])

    def complete(self, principal: str, key: str, claim: str, outcome: Outcome) -> None:
        with self._lock:
            self._conn.execute(
                f"UPDATE {TABLE} SET status = ?, headers = ?, body = ?, outcome = ? "
                "WHERE principal = ? AND key = ? AND claim = ?",
                (*_columns(outcome), principal, key, claim),
            )

    def release(self, principal: str, key: str, claim: str) -> None:
        with self._lock:
            self._conn.execute(
                f"DELETE FROM {TABLE} WHERE principal = ? AND key = ? AND claim = ? "
                "AND status IS NULL",
                (principal, key, claim),
            )

    def purge(self, older_than: datetime, limit: int) -> int:
        with self._lock:
            return self._conn.execute(
                f"DELETE FROM {TABLE} WHERE rowid IN (SELECT rowid FROM {TABLE} "
                "WHERE created_at < ? LIMIT ?)",
                (older_than.timestamp(), limit),
            ).rowcount

    def count(self) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _retrying(method: Callable[P, R]) -> Callable[P, R]:
    """Run again on a connection the server dropped (restart, pg_terminate_backend).

    Every statement here is safe to repeat: the reservation is an insert that
    does nothing on conflict, completion and release are keyed updates/deletes.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(RETRIES):
            try:
                return method(*args, **kwargs)
            except psycopg.OperationalError:
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper


class PostgresIdempotencyStore:
    """A small connection pool of its own on the events' database."""

    def __init__(self, conninfo: str, *, max_size: int = 4) -> None:
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=True,
            name="idempotency",
            # With its 3 tries, about 5 s before a request hears the store is down
            # (as the event store's bounded waits); a lost connection is retried for
            # 5 s, not psycopg_pool's 5 minutes of growing back-off.
            timeout=1.5,
            reconnect_timeout=5.0,
            **pool_hooks(),  # a round trip only where it can matter
            # Each statement is its own transaction: one round trip, no BEGIN/COMMIT.
            kwargs={"prepare_threshold": None, "autocommit": True},  # as the event store
        )
        with self._pool.connection() as conn, conn.transaction():
            # Several workers may start at once: one creates the table, the others wait.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                "principal text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, "
                "created_at timestamptz NOT NULL, claim text, status integer, headers jsonb, "
                "body bytea, outcome jsonb, PRIMARY KEY (principal, key))"
            )
            # A table made by an earlier version lacks these.
            conn.execute(
                f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS claim text, "
                "ADD COLUMN IF NOT EXISTS outcome jsonb"
            )
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_created_at ON {TABLE} (created_at)"
            )

    @_retrying
    def reserve(
        self,
        principal: str,
        key: str,
        fingerprint: str,
        claim: str,
        now: datetime,
        *,
        stale_before: datetime,
    ) -> IdempotencyRecord | None:
        for _ in range(RETRIES):
            with self._pool.connection() as conn:
                # One statement: a new key, or an attempt "in progress" that died
                # (older than the lease), becomes this claim; anything else stays.
                claimed = conn.execute(
                    f"INSERT INTO {TABLE} AS kept (principal, key, fingerprint, created_at, "
                    "claim) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (principal, key) DO UPDATE "
                    "SET fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, "
                    "claim = EXCLUDED.claim "
                    "WHERE kept.status IS NULL AND kept.created_at < %s RETURNING 1",
                    (principal, key, fingerprint, now, claim, stale_before),
                ).fetchone()
                if claimed is not None:
                    return None
                row: TupleRow | None = conn.execute(
                    f"SELECT {_COLUMNS} FROM {TABLE} WHERE principal = %s AND key = %s",
                    (principal, key),
                ).fetchone()
            if row is not None:
                return _record(*row)
            # released between our insert attempt and the select: try again
        raise psycopg.OperationalError("the idempotency key kept changing hands")

    @_retrying
    def complete(self, principal: str, key: str, claim: str, outcome: Outcome) -> None:
        status, headers, body, named = _columns(outcome)
        with self._pool.connection() as conn:
            conn.execute(
                f"UPDATE {TABLE} SET status = %s, headers = %s::jsonb, body = %s, "
                "outcome = %s::jsonb WHERE principal = %s AND key = %s AND claim = %s",
                (status, headers, body, named, principal, key, claim),
            )

    @_retrying
    def release(self, principal: str, key: str, claim: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"DELETE FROM {TABLE} WHERE principal = %s AND key = %s AND claim = %s "
                "AND status IS NULL",
                (principal, key, claim),
            )

    @_retrying
    def purge(self, older_than: datetime, limit: int) -> int:
        with self._pool.connection() as conn:
            deleted: int = conn.execute(
                f"DELETE FROM {TABLE} WHERE ctid IN (SELECT ctid FROM {TABLE} "
                "WHERE created_at < %s LIMIT %s)",
                (older_than, limit),
            ).rowcount
        return deleted

    @_retrying
    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        return int(row[0]) if row is not None else 0

    def close(self) -> None:
        self._pool.close()


def open_idempotency_store(url: DatabaseURL) -> IdempotencyStore:
    """The store for the events' database named by ``url``."""
    if url.is_sqlite:
        assert url.sqlite_path is not None
        private_sqlite_file(url.sqlite_path)
        timeout = float(url.query.get("lock_timeout", "10"))
        return SQLiteIdempotencyStore(str(url.sqlite_path), timeout=timeout)
    return PostgresIdempotencyStore(psycopg_conninfo(url))
