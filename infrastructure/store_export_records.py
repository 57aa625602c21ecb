"""Webhook and idempotency rows as export records, and back (SQLite and PostgreSQL).

What is carried: every webhook endpoint (secrets included), the fan-out position,
the deliveries still pending, and the idempotency keys decided within their
retention. Nothing that names an event after the export's last one: a position is
cut down to it, a pending delivery or a key of a later event is left out. Writing
keeps what the store has already (``ON CONFLICT DO NOTHING``), so it can be repeated.
The SQL is written once with ``?`` placeholders.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from application.idempotency import RETENTION
from application.store_export_format import (
    IDEMPOTENCY_KEY,
    WEBHOOK_DELIVERY,
    WEBHOOK_ENDPOINT,
    WEBHOOK_POSITION,
    Record,
)
from infrastructure.database_url import DatabaseURL, psycopg_conninfo

__all__ = ["SideTables"]

ENDPOINTS, DELIVERIES, POSITIONS, KEYS = (
    "webhook_endpoints", "webhook_deliveries", "webhook_position", "idempotency_keys")
_KEY_COLUMNS = ("principal", "key", "fingerprint", "created_at", "status", "headers",
                "body", "outcome")


class SideTables:
    """The webhook and idempotency tables beside the events of ``url``."""

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.postgres = url.is_postgres

    @contextmanager
    def _run(self) -> Iterator[_Run]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        if self.postgres:
            with psycopg.connect(psycopg_conninfo(self.url), prepare_threshold=None) as conn:
                yield _Run(conn, "%s")
            return
        assert self.url.sqlite_path is not None
        lite = sqlite3.connect(self.url.sqlite_path, timeout=10.0)
        try:
            with lite:
                yield _Run(lite, "?")
        finally:
            lite.close()

    def _exists(self, run: _Run, table: str) -> bool:
        if self.postgres:
            return run("SELECT to_regclass(?) IS NOT NULL", (table,))[0][0] is True
        return bool(run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)))

    def holds(self) -> str | None:
        """What these tables hold (a phrase), or None when they are empty or absent."""
        with self._run() as run:
            for table, what in ((ENDPOINTS, "webhook endpoints"),
                                (KEYS, "idempotency keys")):
                if self._exists(run, table) and run(f"SELECT 1 FROM {table} LIMIT 1"):
                    return what
        return None

    # ---- reading -----------------------------------------------------------------

    def records(self, upto: int, now: datetime) -> Iterator[Record]:
        with self._run() as run:
            if self._exists(run, ENDPOINTS):
                yield from self._webhooks(run, upto)
            if self._exists(run, KEYS):
                yield from self._keys(run, upto, now)

    def _webhooks(self, run: _Run, upto: int) -> Iterator[Record]:
        for row in run.dicts(f"SELECT * FROM {ENDPOINTS} ORDER BY created_at, id"):
            row["created_position"] = min(int(row["created_position"]), upto)
            yield {"type": WEBHOOK_ENDPOINT, "row": row}
        for name, position in run(f"SELECT name, position FROM {POSITIONS} ORDER BY name"):
            yield {"type": WEBHOOK_POSITION, "name": name, "position": min(int(position), upto)}
        pending = (f"SELECT * FROM {DELIVERIES} WHERE status = 'pending' AND event_id <= ? "
                   "ORDER BY event_id, endpoint_id")
        for row in run.dicts(pending, (upto,)):
            yield {"type": WEBHOOK_DELIVERY, "row": row}

    def _keys(self, run: _Run, upto: int, now: datetime
              ) -> Iterator[Record]:
        horizon = now - RETENTION
        since: Any = horizon if self.postgres else horizon.timestamp()
        rows = run(f"SELECT {', '.join(_KEY_COLUMNS)} FROM {KEYS} WHERE status IS NOT NULL "
                   "AND created_at >= ? ORDER BY created_at, principal, key", (since,))
        for principal, key, fingerprint, created, status, headers, body, outcome in rows:
            named = json.loads(outcome) if isinstance(outcome, str) else outcome
            if named is not None and named.get("position") is not None and (
                int(named["position"]) > upto
            ):
                continue  # its command's events are not in the file: a retry runs it again
            yield {
                "type": IDEMPOTENCY_KEY, "principal": principal, "key": key,
                "fingerprint": fingerprint,
                "created_at": created.timestamp() if isinstance(created, datetime) else created,
                "status": status,
                "headers": json.loads(headers) if isinstance(headers, str) else headers,
                "body_b64": None if body is None else base64.b64encode(bytes(body)).decode(),
                "outcome": named,
            }

    # ---- writing -----------------------------------------------------------------

    def put(self, records: Sequence[Record], position: Callable[[int], int]) -> None:
        """Keep ``records`` (tables already made); ``position`` translates event ids."""
        with self._run() as run:
            for record in records:
                kind = record["type"]
                if kind == WEBHOOK_ENDPOINT:
                    row = dict(record["row"])
                    row["created_position"] = position(int(row["created_position"]))
                    _insert(run, ENDPOINTS, row, "id")
                elif kind == WEBHOOK_POSITION:
                    run(f"UPDATE {POSITIONS} SET position = ? WHERE name = ?",
                        (position(int(record["position"])), record["name"]))
                elif kind == WEBHOOK_DELIVERY:
                    row = dict(record["row"])
                    row["event_id"] = position(int(row["event_id"]))
                    _insert(run, DELIVERIES, row, "endpoint_id, event_id")
                elif kind == IDEMPOTENCY_KEY:
                    self._put_key(run, record, position)
                else:
                    raise ValueError(f"unknown record type {kind!r}")

    def _put_key(self, run: _Run, record: Record,
                 position: Callable[[int], int]) -> None:
        outcome = record.get("outcome")
        if outcome is not None and outcome.get("position") is not None:
            outcome = {**outcome, "position": position(int(outcome["position"]))}
        created = float(record["created_at"])
        body = record.get("body_b64")
        values = (
            record["principal"], record["key"], record["fingerprint"],
            datetime.fromtimestamp(created, UTC) if self.postgres else created,
            record["status"], json.dumps(record["headers"]),
            None if body is None else base64.b64decode(body),
            None if outcome is None else json.dumps(outcome),
        )
        cast = "?::jsonb" if self.postgres else "?"
        run(f"INSERT INTO {KEYS} ({', '.join(_KEY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, {cast}, ?, "
            f"{cast}) ON CONFLICT (principal, key) DO NOTHING", values)


class _Run:
    """Statements on one connection (SQLite's or psycopg's), written with ``?``."""

    def __init__(self, conn: Any, mark: str) -> None:
        self._conn = conn
        self._mark = mark

    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(sql.replace("?", self._mark), params)
        return cursor

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self._cursor(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self._cursor(sql, params)
        names = [str(column[0]) for column in cursor.description]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))


def _insert(run: _Run, table: str, row: dict[str, Any], key: str) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    run(f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING",
        tuple(row.values()))
