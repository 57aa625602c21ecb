"""Which of many disputes are on record, in one query over the event table.

The bulk order feed (:mod:`application.order_feed`) asks this once per batch
instead of once per order. The event store is asked, never a read model: an
order committed a moment ago must be seen.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

from application.disputes import DisputeDesk
from application.order_feed import OrderFeed, RecordedByLookup, RecordedDisputes


class PostgresRecorded:
    """``originator_id = ANY(...)`` on the recorder's own pool."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._datastore = recorder.datastore
        self._statement = sql.SQL(
            "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%b::uuid[])"
        ).format(sql.Identifier(recorder.datastore.schema),
                 sql.Identifier(recorder.events_table_name))

    def recorded(self, dispute_ids: Collection[UUID]) -> set[UUID]:
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(self._statement, (list(dispute_ids),))
            rows: list[Any] = cursor.fetchall()
        return {_uuid(row[0]) for row in rows}


class SQLiteRecorded:
    """``originator_id IN (...)`` in a read transaction of the recorder's datastore."""

    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self._datastore = recorder.datastore
        self._table = recorder.events_table_name

    def recorded(self, dispute_ids: Collection[UUID]) -> set[UUID]:
        ids = [i.hex for i in dispute_ids]  # as the library stores them
        marks = ",".join("?" * len(ids))
        statement = (f"SELECT DISTINCT originator_id FROM {self._table} "
                     f"WHERE originator_id IN ({marks})")
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, ids)
            rows: list[Any] = cursor.fetchall()
        return {_uuid(row[0]) for row in rows}


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def recorded_disputes_for(app: Application[Any]) -> RecordedDisputes:
    """The fastest way ``app``'s store can tell which disputes are on record."""
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresRecorded(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteRecorded(recorder)
    return RecordedByLookup(app)


def order_feed(desk: DisputeDesk) -> OrderFeed:
    """The bulk order feed of ``desk``, asking its store in one query per batch."""
    return OrderFeed(desk, recorded_disputes_for(desk))
