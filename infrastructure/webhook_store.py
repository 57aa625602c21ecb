"""Webhook endpoints, deliveries, attempts and the fan-out position, beside the events.

SQLite: the events' file, one connection behind a lock, writers serialised by
``BEGIN IMMEDIATE``. PostgreSQL: the events' database, a small pool of its own;
claims take a transaction-scoped advisory lock so that several workers never
lease one delivery twice, and the fan-out moves its position with a
compare-and-set update whose row lock makes a racing worker wait and then find
the position moved. The SQL is written once, with ``?`` placeholders.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from application.webhooks import (
    Attempt,
    AttemptRecord,
    Claim,
    Delivery,
    DeliveryStatus,
    Endpoint,
    NewDelivery,
    WebhookStore,
)
from infrastructure.database_url import DatabaseURL, psycopg_conninfo
from infrastructure.pool_check import pool_hooks
from infrastructure.private_files import private_sqlite_file

__all__ = ["SQLWebhookStore", "open_webhook_store"]

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS webhook_endpoints ("
    " id TEXT PRIMARY KEY, url TEXT NOT NULL, event_types TEXT NOT NULL,"
    " description TEXT NOT NULL, enabled INTEGER NOT NULL, disabled_reason TEXT,"
    " created_at DOUBLE PRECISION NOT NULL, created_position BIGINT NOT NULL,"
    " secrets TEXT NOT NULL, previous_until DOUBLE PRECISION,"
    " failing_since DOUBLE PRECISION)",
    "CREATE TABLE IF NOT EXISTS webhook_deliveries ("
    " endpoint_id TEXT NOT NULL, event_id BIGINT NOT NULL, event_type TEXT NOT NULL,"
    " dispute_id TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL,"
    " next_attempt_at DOUBLE PRECISION, first_attempt_at DOUBLE PRECISION,"
    " delivered_at DOUBLE PRECISION, last_status_code INTEGER, last_error TEXT,"
    " last_latency_ms INTEGER, lease_until DOUBLE PRECISION, lease_token TEXT,"
    " PRIMARY KEY (endpoint_id, event_id))",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due"
    " ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_dispute"
    " ON webhook_deliveries (endpoint_id, dispute_id, event_id) WHERE status = 'pending'",
    "CREATE TABLE IF NOT EXISTS webhook_attempts ("
    " endpoint_id TEXT NOT NULL, event_id BIGINT NOT NULL, attempt INTEGER NOT NULL,"
    " at DOUBLE PRECISION NOT NULL, latency_ms INTEGER NOT NULL, status_code INTEGER,"
    " error TEXT, PRIMARY KEY (endpoint_id, event_id, attempt))",
    "CREATE TABLE IF NOT EXISTS webhook_position ("
    " name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
)
#: Candidates read per claim, before the per-endpoint cap is applied.
CLAIM_SCAN = 500
_ENDPOINT = (
    "id, url, event_types, description, enabled, disabled_reason, created_at,"
    " created_position, secrets, failing_since"
)
_DELIVERY = (
    "endpoint_id, event_id, event_type, dispute_id, status, attempts, created_at,"
    " next_attempt_at, last_status_code, last_error, last_latency_ms, first_attempt_at,"
    " delivered_at"
)


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


class _Tx(Protocol):
    """Runs statements inside one transaction (``?`` placeholders)."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> _Cursor: ...
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class _SQLiteRun:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        return self._conn.execute(sql, tuple(params))

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)


class _PostgresRun:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        cursor: _Cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
        return cursor

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _endpoint(row: Sequence[Any]) -> Endpoint:
    created = _dt(row[6])
    assert created is not None
    return Endpoint(
        id=row[0], url=row[1], event_types=tuple(json.loads(row[2])), description=row[3],
        enabled=bool(row[4]), disabled_reason=row[5], created_at=created,
        created_position=int(row[7]), secrets=tuple(json.loads(row[8])),
        failing_since=_dt(row[9]),
    )


def _delivery(row: Sequence[Any]) -> Delivery:
    created = _dt(row[6])
    assert created is not None
    return Delivery(
        id=str(row[1]), endpoint_id=row[0], event_id=int(row[1]), event_type=row[2],
        dispute_id=row[3], status=DeliveryStatus(row[4]), attempts=int(row[5]),
        created_at=created, next_attempt_at=_dt(row[7]), last_status_code=row[8],
        last_error=row[9], last_latency_ms=row[10], first_attempt_at=_dt(row[11]),
        delivered_at=_dt(row[12]),
    )


class SQLWebhookStore(WebhookStore):
    """The store's queries; subclasses give it transactions."""

    postgres = False

    def _tx(self, *, locked: bool = False) -> AbstractContextManager[_Tx]:
        """A transaction (``locked``: serialised with other claims)."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[_Tx]:
        """A transaction that only reads (on SQLite it takes no write lock)."""
        return self._tx()

    def _create(self) -> None:
        with self._tx(locked=True) as run:
            for statement in SCHEMA:
                run(statement)
            run("INSERT INTO webhook_position (name, position) VALUES ('fanout', 0)"
                " ON CONFLICT (name) DO NOTHING")

    # ---- endpoints -----------------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint) -> Endpoint:
        with self._tx() as run:
            # Under the position's row lock: a fan-out either commits first (the
            # endpoint starts after it) or finds this endpoint and starts over.
            row = run("SELECT position FROM webhook_position WHERE name = 'fanout'"
                      + (" FOR UPDATE" if self.postgres else "")).fetchone()
            endpoint = replace(endpoint,
                               created_position=max(int(row[0]), endpoint.created_position))
            run(
                f"INSERT INTO webhook_endpoints ({_ENDPOINT}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (endpoint.id, endpoint.url, json.dumps(list(endpoint.event_types)),
                 endpoint.description, int(endpoint.enabled), endpoint.disabled_reason,
                 _ts(endpoint.created_at), endpoint.created_position,
                 json.dumps(list(endpoint.secrets)), None),
            )
        return endpoint

    def endpoints(self) -> list[Endpoint]:
        with self._read() as run:
            rows = run(f"SELECT {_ENDPOINT} FROM webhook_endpoints ORDER BY created_at, id")
            return [_endpoint(row) for row in rows.fetchall()]

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        with self._read() as run:
            row = run(f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE id = ?",
                      (endpoint_id,)).fetchone()
            return None if row is None else _endpoint(row)

    def delete_endpoint(self, endpoint_id: str) -> bool:
        with self._tx() as run:
            run("DELETE FROM webhook_attempts WHERE endpoint_id = ?", (endpoint_id,))
            run("DELETE FROM webhook_deliveries WHERE endpoint_id = ?", (endpoint_id,))
            return run("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,)).rowcount > 0

    def set_enabled(self, endpoint_id: str, enabled: bool, reason: str | None,
                    now: datetime) -> bool:
        with self._tx() as run:
            return self._set_enabled(run, endpoint_id, enabled, reason, now)

    @staticmethod
    def _set_enabled(run: _Tx, endpoint_id: str, enabled: bool, reason: str | None,
                     now: datetime) -> bool:
        changed = run(
            "UPDATE webhook_endpoints SET enabled = ?, disabled_reason = ?,"
            " failing_since = CASE WHEN ? = 1 THEN NULL ELSE failing_since END WHERE id = ?",
            (int(enabled), reason, int(enabled), endpoint_id),
        ).rowcount
        # Disabled: its deliveries wait outside the due index; enabled: all due now,
        # and the per-dispute order sends them oldest first.
        run("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ?"
            " AND status = 'pending'", (_ts(now) if enabled else None, endpoint_id))
        return changed > 0

    def set_secrets(self, endpoint_id: str, secrets: tuple[str, ...],
                    previous_until: datetime | None) -> bool:
        with self._tx() as run:
            return run(
                "UPDATE webhook_endpoints SET secrets = ?, previous_until = ? WHERE id = ?",
                (json.dumps(list(secrets)), _ts(previous_until), endpoint_id),
            ).rowcount > 0

    def previous_secret_until(self, endpoint_id: str) -> datetime | None:
        with self._read() as run:
            row = run("SELECT previous_until FROM webhook_endpoints WHERE id = ?",
                      (endpoint_id,)).fetchone()
            return None if row is None else _dt(row[0])

    # ---- the fan-out ---------------------------------------------------------------

    def position(self) -> int:
        with self._read() as run:
            row = run("SELECT position FROM webhook_position WHERE name = 'fanout'").fetchone()
            return 0 if row is None else int(row[0])

    def fan_out(self, after: int, position: int, deliveries: Sequence[NewDelivery],
                now: datetime, endpoints_seen: frozenset[str]) -> bool:
        try:
            with self._tx() as run:
                moved = run("UPDATE webhook_position SET position = ? WHERE name = 'fanout'"
                            " AND position = ?", (position, after)).rowcount
                if not moved:
                    raise _PositionMoved  # rolls the transaction back
                endpoints = run("SELECT id, enabled FROM webhook_endpoints").fetchall()
                if {row[0] for row in endpoints} - endpoints_seen:
                    raise _PositionMoved  # an endpoint the deliveries did not consider
                enabled = {row[0] for row in endpoints if row[1]}
                self._insert(run, deliveries, enabled, _ts(now))
        except _PositionMoved:
            return False
        return True

    def _insert(self, run: _Tx, deliveries: Sequence[NewDelivery], enabled: set[str],
                now: float | None) -> None:
        run.many(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type,"
            " dispute_id, body, status, attempts, created_at, next_attempt_at)"
            " VALUES (?,?,?,?,?,'pending',0,?,?) ON CONFLICT DO NOTHING",
            [(d.endpoint_id, d.event_id, d.event_type, d.dispute_id, d.body, now,
              now if d.endpoint_id in enabled else None) for d in deliveries],
        )

    # ---- deliveries ----------------------------------------------------------------

    def claim_due(self, now: datetime, lease: timedelta, limit: int,
                  per_endpoint: int) -> list[Claim]:
        if limit <= 0:
            return []
        at = _ts(now)
        with self._read() as run:  # most rounds find nothing due: no write lock for that
            due = run("SELECT 1 FROM webhook_deliveries WHERE status = 'pending'"
                      " AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
                      " LIMIT 1", (at, at)).fetchone()
        if due is None:
            return []
        with self._tx(locked=True) as run:
            busy = dict(run(
                "SELECT endpoint_id, COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"
                " AND lease_until > ? GROUP BY endpoint_id", (at,)).fetchall())
            rows = run(
                "SELECT d.endpoint_id, d.event_id, d.event_type, d.dispute_id, d.status,"
                " d.attempts, d.created_at, d.next_attempt_at, d.last_status_code,"
                " d.last_error, d.last_latency_ms, d.first_attempt_at, d.delivered_at,"
                " d.body, e.url, e.secrets, e.previous_until, e.failing_since"
                " FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
                " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND e.enabled = 1"
                " AND (d.lease_until IS NULL OR d.lease_until <= ?)"
                " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p"
                "  WHERE p.endpoint_id = d.endpoint_id AND p.dispute_id = d.dispute_id"
                "  AND p.status = 'pending' AND p.event_id < d.event_id)"
                " ORDER BY d.event_id LIMIT ?",
                (at, at, min(CLAIM_SCAN, limit * 4))).fetchall()
            claims: list[Claim] = []
            until = _ts(now + lease)
            token = uuid.uuid4().hex  # one per claim: each delivery is still keyed by its id
            for row in rows:
                if len(claims) >= limit:
                    break
                if busy.get(row[0], 0) >= per_endpoint:
                    continue
                busy[row[0]] = busy.get(row[0], 0) + 1
                claims.append(Claim(
                    delivery=_delivery(row[:13]), body=row[13], url=row[14],
                    secrets=tuple(json.loads(row[15])), previous_until=_dt(row[16]),
                    failing_since=_dt(row[17]), token=token,
                ))
            run.many("UPDATE webhook_deliveries SET lease_until = ?, lease_token = ?"
                     " WHERE endpoint_id = ? AND event_id = ?",
                     [(until, token, c.delivery.endpoint_id, c.delivery.event_id)
                      for c in claims])
            return claims

    def record_attempts(self, records: Sequence[AttemptRecord]) -> int:
        """One transaction for the whole batch: a few statements, not a few per attempt.

        A delivery whose lease ran out (another worker took it) is left as that
        worker records it; its attempt is still logged, as it did happen.
        """
        if not records:
            return 0
        updates, attempts = [], []
        failing: dict[str, float | None] = {}
        recovered: set[str] = set()
        for record in records:
            claim, attempt = record.claim, record.attempt
            d, at = claim.delivery, _ts(attempt.at)
            if attempt.succeeded:
                status = DeliveryStatus.DELIVERED
                recovered.add(d.endpoint_id)
            else:
                status = DeliveryStatus.FAILED if record.give_up else DeliveryStatus.PENDING
                failing.setdefault(d.endpoint_id, at)
            updates.append((
                status.value, attempt.status_code, attempt.error, attempt.latency_ms, at,
                _ts(record.next_attempt_at) if status is DeliveryStatus.PENDING else None,
                at if attempt.succeeded else None, d.endpoint_id, d.event_id, claim.token,
            ))
            attempts.append((d.endpoint_id, d.event_id, d.attempts + 1, at, attempt.latency_ms,
                             attempt.status_code, attempt.error))
        with self._tx() as run:
            run.many(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?,"
                " last_status_code = ?, last_error = ?, last_latency_ms = ?,"
                " first_attempt_at = COALESCE(first_attempt_at, ?), next_attempt_at = ?,"
                " delivered_at = ?, lease_until = NULL, lease_token = NULL"
                " WHERE endpoint_id = ? AND event_id = ? AND lease_token = ?", updates)
            run.many(
                "INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, at, latency_ms,"
                " status_code, error) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", attempts)
            for endpoint_id in recovered - set(failing):
                run("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?"
                    " AND failing_since IS NOT NULL", (endpoint_id,))
            for endpoint_id, at in failing.items():
                run("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?)"
                    " WHERE id = ?", (at, endpoint_id))
            for record in records:
                if record.disable_reason is not None:
                    self._set_enabled(run, record.claim.delivery.endpoint_id, False,
                                      record.disable_reason, record.attempt.at)
        return len(records)

    def deliveries(self, endpoint_id: str, after: str | None, limit: int,
                   status: DeliveryStatus | None = None) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE endpoint_id = ?"
        params: list[Any] = [endpoint_id]
        if after is not None:
            sql += " AND event_id > ?"
            params.append(int(after))
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        sql += " ORDER BY event_id LIMIT ?"
        params.append(limit)
        with self._read() as run:
            return [_delivery(row) for row in run(sql, params).fetchall()]

    def delivery(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        if not delivery_id.isdigit():
            return None
        with self._read() as run:
            row = run(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE endpoint_id = ?"
                      " AND event_id = ?", (endpoint_id, int(delivery_id))).fetchone()
            return None if row is None else _delivery(row)

    def attempts_of(self, endpoint_id: str, delivery_id: str, limit: int = 20
                    ) -> list[Attempt]:
        if not delivery_id.isdigit():
            return []
        with self._read() as run:
            rows = run("SELECT at, latency_ms, status_code, error FROM webhook_attempts"
                       " WHERE endpoint_id = ? AND event_id = ? ORDER BY attempt DESC LIMIT ?",
                       (endpoint_id, int(delivery_id), limit)).fetchall()
        return [Attempt(at=_dt(r[0]) or datetime.now(UTC), latency_ms=r[1], status_code=r[2],
                        error=r[3]) for r in rows]

    def retry_now(self, endpoint_id: str, delivery_id: str, now: datetime) -> bool:
        if not delivery_id.isdigit():
            return False
        with self._tx() as run:
            enabled = run("SELECT enabled FROM webhook_endpoints WHERE id = ?",
                          (endpoint_id,)).fetchone()
            if enabled is None:
                return False
            return run(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,"
                " first_attempt_at = NULL WHERE endpoint_id = ? AND event_id = ?",
                (_ts(now) if enabled[0] else None, endpoint_id, int(delivery_id)),
            ).rowcount > 0

    def close(self) -> None:
        raise NotImplementedError


class _PositionMoved(Exception):
    """Another worker moved the fan-out position first: this transaction rolls back."""


class SQLiteWebhookStore(SQLWebhookStore):
    def __init__(self, path: str, *, timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._create()

    @contextmanager
    def _tx(self, *, locked: bool = False) -> Iterator[_Tx]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteRun(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[_Tx]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN")  # deferred: readers never hold up the events' writers
            try:
                yield _SQLiteRun(conn)
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresWebhookStore(SQLWebhookStore):
    postgres = True

    def __init__(self, conninfo: str, *, max_size: int = 4) -> None:
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=True, name="webhooks",
            timeout=5.0, reconnect_timeout=5.0, **pool_hooks(),
            kwargs={"prepare_threshold": None},
        )
        self._create()

    @contextmanager
    def _tx(self, *, locked: bool = False) -> Iterator[_Tx]:
        with self._pool.connection() as conn, conn.transaction():
            if locked:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('disputedesk.webhooks'))")
            yield _PostgresRun(conn)

    def close(self) -> None:
        self._pool.close()


def open_webhook_store(url: DatabaseURL) -> SQLWebhookStore:
    """The webhook tables in the events' database named by ``url``."""
    if url.is_sqlite:
        assert url.sqlite_path is not None
        private_sqlite_file(url.sqlite_path)
        return SQLiteWebhookStore(str(url.sqlite_path),
                                  timeout=float(url.query.get("lock_timeout", "10")))
    return PostgresWebhookStore(psycopg_conninfo(url))
