"""Many disputes' events after given versions, in one query over the PostgreSQL event table.

Concurrent commands share it (:mod:`application.grouped_reads`) to learn what
other workers recorded since the disputes they kept. The rows are the ones
the library's ``select_events(originator_id, gt=version)`` returns, for every
dispute at once; they are decoded by the application, as the library would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

__all__ = ["PostgresStoredSince"]


class PostgresStoredSince:
    """``JOIN unnest(ids, versions)`` on the event table, on the recorder's own pool."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self._datastore = recorder.datastore
        self._statement = sql.SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state"
            " FROM {}.{} e JOIN unnest(%b::uuid[], %b::bigint[]) AS k(id, after)"
            " ON e.originator_id = k.id AND e.originator_version > k.after"
            " ORDER BY e.originator_id, e.originator_version"
        ).format(sql.Identifier(recorder.datastore.schema),
                 sql.Identifier(recorder.events_table_name))

    def after(self, versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        if not versions:
            return {}
        ids = list(versions)
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(self._statement, (ids, [versions[i] for i in ids]), prepare=True)
            rows: list[Any] = cursor.fetchall()
        found: dict[UUID, list[StoredEvent]] = {}
        for originator_id, version, topic, state in rows:
            found.setdefault(originator_id, []).append(
                StoredEvent(originator_id, version, topic, bytes(state)))
        return found
