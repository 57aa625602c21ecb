"""Read the whole event store once, ordered by aggregate, without ever writing.

Both readers hold one read transaction for the whole scan (a consistent
snapshot while the service keeps writing) and fetch rows in batches through a
cursor, so memory stays flat however large the store is:

- SQLite: the file is opened read-only (``file:...?mode=ro``, plus
  ``PRAGMA query_only``); in WAL mode (eventsourcing switches every file
  store to it) a reader neither blocks writers nor sees their later commits.
- PostgreSQL: a ``REPEATABLE READ, READ ONLY`` transaction and a named
  (server-side) binary cursor.

Rows come ordered by the primary key (originator_id, originator_version), so
each aggregate's history is contiguous. The SQLite file is not memory-mapped:
mapped pages count as the process's resident memory, which must stay flat
however large the store is.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

from application.simulation_ports import HistoryReader, StoredRow

__all__ = [
    "PostgresHistoryReader",
    "SQLiteHistoryReader",
    "history_reader_for",
]

DEFAULT_BATCH_SIZE = 2000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_COLUMNS = "originator_id, originator_version, topic, state"


def _identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} {name!r} is not a plain SQL identifier")
    return name


class _Scan:
    """A scan over an open cursor; iterating it fetches ``batch_size`` rows at a time."""

    def __init__(self, cursor: Any, estimated_events: int, batch_size: int) -> None:
        self._cursor = cursor
        self._estimated = estimated_events
        self._batch_size = batch_size

    @property
    def estimated_events(self) -> int:
        return self._estimated

    def batches(self) -> Iterator[Sequence[StoredRow]]:
        while True:
            rows = self._cursor.fetchmany(self._batch_size)
            if not rows:
                return
            yield cast(Sequence[StoredRow], rows)


class SQLiteHistoryReader:
    def __init__(
        self,
        path: str | Path,
        *,
        table: str = "stored_events",
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path).absolute()
        self.table = _identifier(table, "table")
        self.batch_size = batch_size
        self.lock_timeout = lock_timeout

    @contextmanager
    def scan(self) -> Iterator[_Scan]:
        if not self.path.is_file():
            raise FileNotFoundError(f"no SQLite event store at {self.path}")
        conn = sqlite3.connect(
            f"{self.path.as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=self.lock_timeout,
        )
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")  # the snapshot starts at the first read below
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
            ).fetchone()
            if found is None:
                yield _Scan(_Empty(), 0, self.batch_size)
                return
            (estimated,) = conn.execute(f"SELECT MAX(rowid) FROM {self.table}").fetchone()
            cursor = conn.execute(
                f"SELECT {_COLUMNS} FROM {self.table} "
                "ORDER BY originator_id, originator_version"
            )
            yield _Scan(cursor, int(estimated or 0), self.batch_size)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()


class _Empty:
    def fetchmany(self, size: int) -> list[StoredRow]:
        return []


class PostgresHistoryReader:
    def __init__(
        self,
        conninfo: str = "",
        *,
        connect_kwargs: Mapping[str, Any] | None = None,
        schema: str = "public",
        table: str = "stored_events",
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.conninfo = conninfo
        self.connect_kwargs = dict(connect_kwargs or {})
        self.schema = _identifier(schema, "schema")
        self.table = _identifier(table, "table")
        self.batch_size = batch_size

    @contextmanager
    def scan(self) -> Iterator[_Scan]:
        with psycopg.connect(self.conninfo, autocommit=False, **self.connect_kwargs) as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                table = sql.Identifier(self.schema, self.table)
                exists = conn.execute(
                    "SELECT to_regclass(%s)", (f'"{self.schema}"."{self.table}"',)
                ).fetchone()
                if exists is None or exists[0] is None:
                    yield _Scan(_Empty(), 0, self.batch_size)
                    return
                row = conn.execute(
                    sql.SQL("SELECT MAX(notification_id) FROM {}").format(table)
                ).fetchone()
                estimated = int(row[0] or 0) if row is not None else 0
                with conn.cursor(name="disputedesk_simulation", binary=True) as cursor:
                    cursor.itersize = self.batch_size
                    cursor.execute(
                        sql.SQL(
                            "SELECT " + _COLUMNS + " FROM {} "
                            "ORDER BY originator_id, originator_version"
                        ).format(table)
                    )
                    yield _Scan(cursor, estimated, self.batch_size)
            finally:
                conn.rollback()


def history_reader_for(
    app: Application[Any], *, batch_size: int = DEFAULT_BATCH_SIZE
) -> HistoryReader:
    """A reader over the very store (database, schema, table) ``app`` records into."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        db_name = recorder.datastore.pool.db_name
        if recorder.datastore.pool.is_sqlite_memory_mode:
            raise ValueError("an in-memory SQLite store cannot be read by another connection")
        return SQLiteHistoryReader(
            db_name, table=recorder.events_table_name, batch_size=batch_size
        )
    if isinstance(recorder, PostgresApplicationRecorder):
        datastore = recorder.datastore
        pool_kwargs = datastore.pool.kwargs
        kwargs = dict(pool_kwargs() if callable(pool_kwargs) else (pool_kwargs or {}))
        kwargs.pop("row_factory", None)
        return PostgresHistoryReader(
            datastore.pool.conninfo if isinstance(datastore.pool.conninfo, str) else "",
            connect_kwargs=kwargs,
            schema=datastore.schema,
            table=recorder.events_table_name,
            batch_size=batch_size,
        )
    raise TypeError(f"no history reader for {type(recorder).__name__}")
