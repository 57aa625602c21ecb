"""The webhook figures a scrape reports, read from the webhook tables.

A connection of its own per scrape (read-only on SQLite, a statement timeout on
PostgreSQL), so that a scrape never queues behind the delivery worker's pool.
The tables are the webhook store's (``infrastructure/webhook_store.py``); before
that store first opened there is nothing to report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg

from infrastructure.database_url import DatabaseURL, psycopg_conninfo

__all__ = ["WebhookCounts", "WebhookNumbers"]

_COUNTS = (
    "SELECT status, count(*), min(created_at) FROM webhook_deliveries"
    " WHERE status IN ('pending', 'failed') GROUP BY status"
)
_ENDPOINTS = (
    "SELECT count(*), coalesce(sum(CASE WHEN enabled = 0 THEN 1 ELSE 0 END), 0),"
    " coalesce(sum(CASE WHEN failing_since IS NOT NULL THEN 1 ELSE 0 END), 0)"
    " FROM webhook_endpoints"
)
_POSITION = "SELECT position FROM webhook_position WHERE name = 'fanout'"
_SQLITE_EXISTS = (
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_position'"
)
_POSTGRES_EXISTS = "SELECT to_regclass('webhook_position') IS NOT NULL"


@dataclass(frozen=True, slots=True)
class WebhookNumbers:
    pending: int = 0
    failed: int = 0
    oldest_pending_seconds: float = 0.0
    endpoints: int = 0
    endpoints_disabled: int = 0
    endpoints_failing: int = 0
    fanout_position: int = 0


class _Run(Protocol):
    def __call__(self, sql: str) -> Sequence[Sequence[Any]]: ...


class WebhookCounts:
    """Reads :class:`WebhookNumbers` from the events' database."""

    def __init__(self, url: DatabaseURL, *, timeout: float = 2.0) -> None:
        self._url = url
        self._timeout = timeout

    def read(self, now: datetime) -> WebhookNumbers:
        with self._connection() as (run, exists):
            if not run(exists)[0][0]:
                return WebhookNumbers()
            counts = {str(row[0]): (int(row[1]), row[2]) for row in run(_COUNTS)}
            endpoints = run(_ENDPOINTS)[0]
            position = run(_POSITION)
        pending, oldest = counts.get("pending", (0, None))
        age = max(0.0, now.timestamp() - float(oldest)) if oldest is not None else 0.0
        return WebhookNumbers(
            pending=pending,
            failed=counts.get("failed", (0, None))[0],
            oldest_pending_seconds=age,
            endpoints=int(endpoints[0]),
            endpoints_disabled=int(endpoints[1]),
            endpoints_failing=int(endpoints[2]),
            fanout_position=int(position[0][0]) if position else 0,
        )

    @contextmanager
    def _connection(self) -> Iterator[tuple[_Run, str]]:
        """(run a query, the query that says whether the webhook tables exist)."""
        if self._url.is_sqlite:
            path = self._url.sqlite_path
            assert path is not None
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=self._timeout)
            with closing(conn):

                def run_sqlite(sql: str) -> Sequence[Sequence[Any]]:
                    return conn.execute(sql).fetchall()

                yield run_sqlite, _SQLITE_EXISTS
            return
        millis = max(1, int(self._timeout * 1000))
        with psycopg.connect(
            psycopg_conninfo(self._url), autocommit=True,
            connect_timeout=max(1, int(self._timeout)),
        ) as pg:
            pg.execute(f"SET statement_timeout = {millis}")

            def run_postgres(sql: str) -> Sequence[Sequence[Any]]:
                return pg.execute(sql).fetchall()

            yield run_postgres, _POSTGRES_EXISTS
