"""The store as an export reads it and as an import fills it.

Both open the event store as a bare eventsourcing application under the
application's name (the same tables), never as :class:`DisputeDesk`: building that
publishes the configured policy, and an import must find its store empty and leave
nothing in it but what the file holds.

Notification ids: eventsourcing's public ``insert_events`` lets the store number the
rows. On PostgreSQL the numbers come from the events table's sequence, so an import
sets the sequence before each batch (``setval``) and keeps the file's ids, gaps and
all, even after a run was killed mid-batch (which spends sequence values). SQLite
numbers a row one past the highest: it keeps ids 1, 2, 3, ... and renumbers, in
order, a log with gaps (a PostgreSQL log whose inserts once rolled back).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from application.disputes import DisputeDesk
from application.log_import import ImportedEvent
from application.projections.ports import LogEntry
from application.store_export_format import Record
from infrastructure.blob_store import INCOMING, blob_directory, open_blob_store
from infrastructure.database_url import DatabaseURL, eventsourcing_env, psycopg_conninfo
from infrastructure.idempotency_store import open_idempotency_store
from infrastructure.log_reader import log_reader_for
from infrastructure.postgres_blobs import BLOCK, TABLE, PostgresBlobStore
from infrastructure.private_files import PRIVATE_FILE_MODE, private_directory
from infrastructure.schema_lock import event_store_setup_lock
from infrastructure.store_export_records import SideTables
from infrastructure.webhook_store import open_webhook_store

__all__ = ["EventStore", "StoreExportSource", "StoreImportTarget", "open_event_store"]


class EventStore(Application[UUID]):
    """The application's events and nothing else: it records nothing of its own."""

    name = DisputeDesk.name


def open_event_store(url: DatabaseURL) -> EventStore:
    with event_store_setup_lock(url):
        return EventStore(env=eventsourcing_env(url, name=EventStore.name))


class _Data(msgspec.Struct):
    data: str = msgspec.field(name="_data_")


class _Stamped(msgspec.Struct):
    timestamp: _Data


_stamp = msgspec.json.Decoder(_Stamped).decode


class StoreExportSource:
    """The event log read in pages (the projections' reader), the evidence files'
    bytes and the webhook and idempotency tables of the store at ``url``."""

    def __init__(self, app: EventStore, url: DatabaseURL) -> None:
        self.kind: str = url.kind
        self._app = app
        self._url = url
        self._reader = log_reader_for(app)
        self._side = SideTables(url)
        self._blobs: Any = None

    def head(self) -> int:
        return self._app.recorder.max_notification_id() or 0

    def page(self, start: int, limit: int, stop: int) -> Sequence[LogEntry]:
        if self._reader is not None:
            return self._reader.select(start, limit, stop)
        return self._app.recorder.select_notifications(start=start, limit=limit, stop=stop)

    def recorded_at(self, entry: LogEntry) -> datetime:
        try:
            return datetime.fromisoformat(_stamp(entry.state).timestamp.data)
        except (msgspec.DecodeError, ValueError):  # not the JSON transcoder's bytes
            event = self._app.mapper.to_domain_event(StoredEvent(
                entry.originator_id, entry.originator_version, entry.topic, entry.state))
            stamp = getattr(event, "timestamp", None)
            if not isinstance(stamp, datetime):
                raise
            return stamp

    def blob(self, blob_id: str) -> Iterator[bytes]:
        if self._blobs is None:
            self._blobs = open_blob_store(self._url)
        chunks: Iterator[bytes] = self._blobs.open(blob_id)
        return chunks

    def side_records(self, upto: int, now: datetime) -> Iterator[Record]:
        return self._side.records(upto, now)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


class StoreImportTarget:
    """The store at ``url``, filled through the recorder's ``insert_events``."""

    def __init__(self, app: EventStore, url: DatabaseURL) -> None:
        self._app = app
        self._url = url
        self._side = SideTables(url)
        self._tables_made = False
        self._blob_table_made = False
        recorder = app.recorder
        self.keeps_ids = isinstance(recorder, PostgresApplicationRecorder)
        self._sequence: sql.Composed | None = None
        if isinstance(recorder, PostgresApplicationRecorder):
            self._sequence = sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'notification_id'), %s, %s)"
            ).format(sql.Literal(f"{recorder.datastore.schema}.{recorder.events_table_name}"))

    def head(self) -> int:
        return self._app.recorder.max_notification_id() or 0

    def stored(self, notification_id: int) -> LogEntry | None:
        found = self._app.recorder.select_notifications(
            start=notification_id, limit=1, stop=notification_id)
        return found[0] if found else None

    def holds_other_data(self) -> str | None:
        return self._side.holds() or self._blobs_held()

    def insert(self, events: Sequence[ImportedEvent], first_id: int) -> Sequence[int]:
        recorder = self._app.recorder
        if self._sequence is not None and isinstance(recorder, PostgresApplicationRecorder):
            with recorder.datastore.transaction(commit=True) as cursor:
                # The next id handed out is first_id (is_called false: "next is this one").
                cursor.execute(self._sequence, (max(first_id, 1), False))
        ids = recorder.insert_events([
            StoredEvent(e.originator_id, e.originator_version, e.topic, e.state)
            for e in events
        ])
        return list(ids or [])

    # ---- evidence files ---------------------------------------------------------

    def _blobs_held(self) -> str | None:
        if self._url.is_sqlite:
            assert self._url.sqlite_path is not None
            root = blob_directory(self._url.sqlite_path)
            return "evidence files" if any(root.glob("??/*")) else None
        with self._side_connection() as conn:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()
            if row and row[0] and conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchone():
                return "evidence files"
        return None

    def _side_connection(self) -> psycopg.Connection[Any]:
        return psycopg.connect(psycopg_conninfo(self._url), prepare_threshold=None)

    def put_blob(self, blob_id: str, chunks: Iterator[bytes]) -> bool:
        if self._url.is_sqlite:
            return self._put_file(blob_id, chunks)
        if not self._blob_table_made:
            PostgresBlobStore(psycopg_conninfo(self._url), max_transfers=1)  # makes the table
            self._blob_table_made = True
        with self._side_connection() as conn:
            if conn.execute(f"SELECT 1 FROM {TABLE} WHERE blob_id = %s AND seq = 0",
                            (blob_id,)).fetchone():
                return False
            for seq, block in enumerate(_blocks(chunks, BLOCK)):
                conn.execute(f"INSERT INTO {TABLE} (blob_id, seq, data) VALUES (%s, %s, %s)",
                             (blob_id, seq, block))
        return True

    def _put_file(self, blob_id: str, chunks: Iterator[bytes]) -> bool:
        """Write, flush and rename into place, as the disk blob store does."""
        assert self._url.sqlite_path is not None
        root = private_directory(blob_directory(self._url.sqlite_path))
        final = private_directory(root / blob_id[:2]) / blob_id
        if final.exists():
            return False
        partial = private_directory(root / INCOMING) / f"{blob_id}.import"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return True

    # ---- webhook and idempotency records ---------------------------------------

    def put_records(self, records: Sequence[Record], position: Any) -> None:
        if not self._tables_made:  # the stores make their tables when opened
            open_webhook_store(self._url).close()
            open_idempotency_store(self._url).close()
            self._tables_made = True
        self._side.put(records, position)


def _blocks(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)
