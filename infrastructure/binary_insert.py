"""The PostgreSQL event recorder with a cheaper insert: events go as four binary arrays.

eventsourcing's recorder sends a save's events as one array of a composite type
in text form, which psycopg builds by quoting and escaping every field in
Python. Here the same ``INSERT ... SELECT ... FROM unnest(...)`` takes one array
per column (``uuid[]``, ``bigint[]``, ``text[]``, ``bytea[]``) in binary: the same
rows, in the same order, under the same table lock and notification (which here
also names the transaction's cases), for about a tenth of the client's CPU
(figures in docs/benchmarks.md). The library selects this class through its
public ``APPLICATION_RECORDER_TOPIC`` setting
(:func:`infrastructure.database_url.eventsourcing_env`);
``DISPUTEDESK_BINARY_INSERT=0`` keeps the library's own insert.
``tests/integration/test_binary_insert.py`` holds the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infrastructure.commit_payload import payload_of

__all__ = ["TOPIC", "BinaryInsertRecorder"]

#: What ``APPLICATION_RECORDER_TOPIC`` names to select this recorder.
TOPIC = "infrastructure.binary_insert:BinaryInsertRecorder"


class BinaryInsertRecorder(PostgresApplicationRecorder):
    """:class:`PostgresApplicationRecorder` inserting one binary array per column."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._binary = self.datastore.originator_id_type == "uuid"
        self._insert_columns = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name))

    def _insert_stored_events(self, curs: Cursor[DictRow],
                              stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        if not self._binary:  # text ids: the library's own insert
            super()._insert_stored_events(curs, stored_events, **kwargs)
            return
        # As the library's: the table lock (notification ids commit in order), the
        # notification (subscribers and case reads wake), then the rows.
        self._lock_table(curs)
        self._notify_cases(curs, stored_events)
        curs.execute(self._insert_columns, (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        ))

    def _notify_cases(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> None:
        """The library's notification, naming the transaction's cases in its payload
        (``infrastructure/commit_payload.py``): a reader keeping one case current
        learns whether this commit touched it."""
        payload = payload_of(e.originator_id for e in stored_events)
        curs.execute("SELECT pg_notify(%s, %s)", (self.channel_name, payload))
