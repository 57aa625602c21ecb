"""The PostgreSQL read-model store: the events' database, tables of its own (``rm_``).

The writer holds one connection (autocommit, explicit transactions); its named
locks are session advisory locks, so they vanish with the connection (a killed
worker, or one whose backend was terminated, holds nothing). It waits for new
events with LISTEN on the channel eventsourcing NOTIFYs on every insert.
Readers use a small pool; each read is one REPEATABLE READ, READ ONLY transaction,
each statement bounded by a ``statement_timeout``. Every connection notices a
dead peer (TCP keepalives, ``tcp_user_timeout``: ``psycopg_conninfo``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from application.projections.records import DisputesChanges, StateRow
from infrastructure.notify_wait import wait_for_notifies
from infrastructure.outages import PSYCOPG_OUTAGES
from infrastructure.pool_check import pool_hooks
from infrastructure.schema_lock import advisory_lock_key
from infrastructure.stores import tables
from infrastructure.stores.dialect import POSTGRES, Dialect
from infrastructure.stores.reader import SqlReader
from infrastructure.stores.session import NestedTransactions, Row
from infrastructure.stores.writer import SqlWriter

WRITER_APPLICATION_NAME = "disputedesk-projections"
COPY_THRESHOLD = 200  # rows: below this, plain statements are as quick
READER_APPLICATION_NAME = "disputedesk-read-models"
#: The readers' pool: how long a query waits for a connection before the store
#: is reported unavailable (s; psycopg_pool's default is 30), and how long a lost
#: connection is retried in the background before the next query starts afresh
#: (psycopg_pool's default, 5 minutes, lets its back-off grow to minutes).
READER_POOL_TIMEOUT = 5.0
READER_RECONNECT_TIMEOUT = 5.0
#: The readers' ``statement_timeout`` (ms). Their queries serve requests and the
#: sweeper's pages, by index, in milliseconds; one held longer (by a lock, or a
#: server that stalls) is reported unavailable rather than holding a worker
#: thread and a connection. Writers (catch-up, rebuild, ``COPY``) have none.
READER_STATEMENT_TIMEOUT_MS = 5000


def lock_key(name: str) -> int:
    """The advisory-lock key of a read-model lock name."""
    return advisory_lock_key(f"disputedesk:rm:{name}")


def _placeholders(text: str) -> str:
    return text.replace("%", "%%").replace("?", "%s")


class PostgresSession(NestedTransactions):
    dialect: Dialect = POSTGRES

    def __init__(self, conn: psycopg.Connection[Any], *, write: bool) -> None:
        self.conn = conn
        self._begin = "BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        self._depth = 0

    def execute(self, text: str, params: Sequence[Any] = ()) -> int:
        with self.conn.cursor() as cur:
            cur.execute(_placeholders(text), params or None)
            return cur.rowcount

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_placeholders(text), rows)

    def fetchall(self, text: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.conn.cursor() as cur:
            cur.execute(_placeholders(text), params or None)
            return cur.fetchall()

    def _run(self, sql: str) -> None:
        self.conn.execute(sql)

    def _can_roll_back(self) -> bool:
        return not self.conn.closed


class PostgresStore(SqlWriter):
    """One writer's connection (``ReadModelStore``)."""

    def __init__(
        self,
        conninfo: str,
        application_name: str,
        *,
        channel: str | None,
        events_table: str | None = None,
    ) -> None:
        self._conn: psycopg.Connection[Any] = psycopg.connect(
            conninfo, autocommit=True, application_name=WRITER_APPLICATION_NAME
        )
        super().__init__(PostgresSession(self._conn, write=True), application_name)
        self._conninfo = conninfo
        self._channel = channel
        self._events_table = events_table  # "schema.table", for inflight_writers
        self._listening = False
        self._locks: set[str] = set()

    # ---- bulk writes: COPY instead of one statement per row -----------------------

    def _write_states(self, lane: str, states: Sequence[StateRow]) -> None:
        copy = sql.SQL(
            "COPY {} (dispute_id, version, position, events) FROM STDIN (FORMAT BINARY)"
        ).format(sql.Identifier(tables.state_table(lane)))
        with self._conn.cursor() as cur, cur.copy(copy) as rows:
            rows.set_types(tables.STATE_PG_TYPES)  # binary: the events' bytes as they are
            for row in states:
                rows.write_row(row)

    def _write_disputes(self, changes: DisputesChanges) -> None:
        if len(changes.rows) < COPY_THRESHOLD:
            super()._write_disputes(changes)
            return
        target = tables.table("rm_disputes", changes.version)
        staging = f"rm_staging_{target}"
        columns = tables.DISPUTE_COLUMNS
        with self._conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)"
                    " ON COMMIT DELETE ROWS"
                ).format(sql.Identifier(staging), sql.Identifier(target))
            )
            copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(staging), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cur.copy(copy) as rows:
                rows.set_types(tables.DISPUTE_PG_TYPES)
                for row in changes.rows:
                    rows.write_row(row)
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "dispute_id")
            cur.execute(
                f"INSERT INTO {target} ({', '.join(columns)})"
                f" SELECT {', '.join(columns)} FROM {staging}"
                f" ON CONFLICT (dispute_id) DO UPDATE SET {updates}"
            )

    def _insert_rows(
        self, insert: str, types: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str
    ) -> None:
        # One statement over one array per column, not one statement per row.
        columns = [list(column) for column in zip(*rows, strict=True)]
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in types)
        with self._conn.cursor() as cur:
            cur.execute(f"{insert} SELECT * FROM unnest({arrays}) {conflict}", columns)

    def _delete_rows(self, table: str, column: str, values: Sequence[Any]) -> None:
        with self._conn.cursor() as cur:
            cur.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(values),))

    def _setup_lock(self) -> None:
        self.session.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("setup"),))

    def try_lock(self, name: str) -> bool:
        if name in self._locks:
            return True
        rows = self.session.fetchall("SELECT pg_try_advisory_lock(?)", (lock_key(name),))
        if rows[0][0]:
            self._locks.add(name)
            return True
        return False

    def unlock(self, name: str) -> None:
        if name in self._locks:
            self._locks.discard(name)
            self.session.fetchall("SELECT pg_advisory_unlock(?)", (lock_key(name),))

    def inflight_writers(self) -> frozenset[str]:
        if self._events_table is None:
            return frozenset()
        rows = self.session.fetchall(
            "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
            " AND relation = to_regclass(?) AND mode = 'RowExclusiveLock' AND granted"
            " AND pid <> pg_backend_pid()",
            (self._events_table,),
        )
        return frozenset(str(row[0]) for row in rows)

    @property
    def notifies(self) -> bool:
        return self._channel is not None

    def wait_for_events(self, timeout: float, stop: threading.Event) -> None:
        if self._channel is None:
            stop.wait(timeout)
            return
        if not self._listening:
            self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._listening = True
        wait_for_notifies(self._conn, timeout, stop)

    @property
    def overlap_writes(self) -> bool:
        return True  # the server writes batch k while this process folds k+1

    def clone(self) -> PostgresStore:
        return PostgresStore(
            self._conninfo, self.application_name, channel=None, events_table=self._events_table
        )

    def close(self) -> None:
        self._locks.clear()
        self._conn.close()  # session advisory locks go with the session


def _configure_reader(conn: psycopg.Connection[Any]) -> None:
    # A session setting (the connection is in autocommit): kept while pooled.
    conn.execute(f"SET statement_timeout = {int(READER_STATEMENT_TIMEOUT_MS)}")


class PostgresReader(SqlReader):
    """Thread-safe queries over a small connection pool."""

    def __init__(self, conninfo: str, *, max_size: int = 8) -> None:
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            conninfo,
            kwargs={"autocommit": True, "application_name": READER_APPLICATION_NAME},
            min_size=1,
            max_size=max_size,
            configure=_configure_reader,
            **pool_hooks(),  # a round trip only where it can matter
            open=True,
            name="disputedesk-read-models",
            timeout=READER_POOL_TIMEOUT,
            reconnect_timeout=READER_RECONNECT_TIMEOUT,
        )
        super().__init__(self._session, PSYCOPG_OUTAGES)

    @contextmanager
    def _session(self) -> Iterator[PostgresSession]:
        with self._pool.connection() as conn:
            yield PostgresSession(conn, write=False)

    def close(self) -> None:
        self._pool.close()
