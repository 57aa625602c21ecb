"""Import an export file into an empty store, and resume an import that was cut short.

Events go in first, in the file's order, in batches of one transaction each; then the
evidence files; then webhook and idempotency records. Every step can be run again:
a store whose events are a prefix of the file's (the same first and last event where
the file has them) is an import cut short and continues after its last event;
evidence files already present and records already kept are left as they are. A
store holding anything else is refused (:class:`StoreNotEmpty`).

Notification ids: the target keeps the file's ids when it can set them
(``ImportTarget.keeps_ids``) or when they are 1, 2, 3, ... (what a store that numbers
rows one after another gives anyway). Otherwise they are renumbered in order, and
every position the records name is translated to the new numbering.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Protocol
from uuid import UUID

from application.event_feed import Notification
from application.log_import_file import FileFacts, event_state, verified_records
from application.store_export_format import BLOB, BLOB_CHUNK, CHECKSUM, EVENT, HEADER, Record

__all__ = ["ImportSummary", "ImportTarget", "ImportedEvent", "LogImport", "StoreNotEmpty"]

#: Events written per transaction.
BATCH = 2_000
#: Webhook and idempotency records written per transaction.
RECORDS_BATCH = 500


class StoreNotEmpty(Exception):
    """The store holds something this file did not put there."""


class IdsDiverged(Exception):
    """The store gave the events other ids than expected: another writer is at work."""


@dataclass(frozen=True)
class ImportedEvent:
    """An event of the file as the store will hold it; ``id``: its id in the file."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class ImportTarget(Protocol):
    """The store being filled."""

    keeps_ids: bool

    def head(self) -> int:
        """The highest notification id recorded (0: none)."""
        ...

    def stored(self, notification_id: int) -> Notification | None: ...

    def holds_other_data(self) -> str | None:
        """What the store holds beside events (a phrase), or None."""
        ...

    def insert(self, events: Sequence[ImportedEvent], first_id: int) -> Sequence[int]:
        """Record ``events`` in one transaction, numbered from ``first_id`` when the
        store keeps ids; their notification ids."""
        ...

    def put_blob(self, blob_id: str, chunks: Iterator[bytes]) -> bool:
        """Keep an evidence file under ``blob_id``; False when it was already there."""
        ...

    def put_records(self, records: Sequence[Record], position: Callable[[int], int]) -> None:
        """Keep webhook and idempotency records (those kept already stay);
        ``position`` translates a notification id of the file to the store's."""
        ...


@dataclass(frozen=True)
class ImportSummary:
    events: int
    imported: int
    already: int
    blobs_written: int
    blobs_present: int
    blobs_missing: int
    records: int
    ids_kept: bool


class LogImport:
    """One import of a checked file (:func:`application.log_import_file.scan`)."""

    def __init__(self, target: ImportTarget, facts: FileFacts, batch: int = BATCH) -> None:
        self.target = target
        self.facts = facts
        self.batch = batch
        self.ids_kept = target.keeps_ids or facts.dense
        self.position: Callable[[int], int] = (lambda p: p) if self.ids_kept else facts.rank
        self.already = self._resume_point()

    def _resume_point(self) -> int:
        """How many of the file's events the store holds already (as a prefix)."""
        head = self.target.head()
        if head == 0:
            other = self.target.holds_other_data()
            if other is not None:
                raise StoreNotEmpty(f"the store is not empty: it holds {other}")
            return 0
        rank = self.facts.rank(head) if self.ids_kept else head
        if not 0 < rank <= self.facts.events or self.position(self.facts.ids[rank - 1]) != head:
            raise StoreNotEmpty(f"the store is not empty: it holds {head:,} events that are "
                                "not a beginning of this file's")
        return rank

    def run(self, stream: IO[bytes], progress: Callable[[int], None] | None = None
            ) -> ImportSummary:
        """Write what the store lacks; ``progress(events in the store)`` after each batch."""
        records = verified_records(stream)
        batch: list[ImportedEvent] = []
        side: list[Record] = []
        rank = 0
        counts = {"written": 0, "present": 0, "missing": 0, "records": 0}
        for number, record in records:
            kind = record["type"]
            if kind == EVENT:
                rank += 1
                event = _event(record)
                if rank <= self.already:
                    if rank in (1, self.already):
                        self._check_same(number, event)
                    continue
                if batch and self.ids_kept and event.id != batch[-1].id + 1:
                    self._flush(batch, rank - 1, progress)  # a gap: numbered anew after it
                batch.append(event)
                if len(batch) >= self.batch:
                    self._flush(batch, rank, progress)
                continue
            self._flush(batch, rank, progress)
            if kind == BLOB_CHUNK:
                self._blob(record, records, counts)
            elif kind == BLOB:
                if record.get("missing"):
                    counts["missing"] += 1
                else:  # an empty file: no chunk line before its blob line
                    self._count(self.target.put_blob(str(record["blob_id"]), iter(())), counts)
            elif kind not in (HEADER, CHECKSUM):
                side.append(record)
                if len(side) >= RECORDS_BATCH:
                    counts["records"] += self._put(side)
        counts["records"] += self._put(side)
        return ImportSummary(self.facts.events, rank - self.already, self.already,
                             counts["written"], counts["present"], counts["missing"],
                             counts["records"], self.ids_kept)

    def _check_same(self, number: int, event: ImportedEvent) -> None:
        stored = self.target.stored(self.position(event.id))
        same = stored is not None and (
            _uuid(stored.originator_id), stored.originator_version, stored.topic,
            bytes(stored.state),
        ) == (event.originator_id, event.originator_version, event.topic, event.state)
        if not same:
            raise StoreNotEmpty(f"the store is not empty: its event {self.position(event.id)} "
                                f"is not the one on line {number} of this file")

    def _flush(self, batch: list[ImportedEvent], rank: int,
               progress: Callable[[int], None] | None) -> None:
        if not batch:
            return
        first = self.position(batch[0].id) if self.ids_kept else rank - len(batch) + 1
        expected = [self.position(e.id) for e in batch] if self.ids_kept else list(
            range(first, rank + 1))
        got = list(self.target.insert(batch, first))
        if got != expected:
            raise IdsDiverged(f"the store numbered events {got[:1]}..{got[-1:]}, expected "
                              f"{first}..{expected[-1]}: is another process writing to it?")
        batch.clear()
        if progress is not None:
            progress(rank)

    def _blob(self, first: Record, records: Iterator[tuple[int, Record]],
              counts: dict[str, int]) -> None:
        """Stream one evidence file's chunk lines (the first already read) into the store."""

        def chunks() -> Iterator[bytes]:
            yield base64.b64decode(first["data"])
            for _number, record in records:
                if record["type"] != BLOB_CHUNK:
                    return  # its blob line: checked by the first pass
                yield base64.b64decode(record["data"])

        pieces = chunks()
        self._count(self.target.put_blob(str(first["blob_id"]), pieces), counts)
        for _ in pieces:  # a file kept already: read past its lines
            pass

    @staticmethod
    def _count(written: bool, counts: dict[str, int]) -> None:
        counts["written" if written else "present"] += 1

    def _put(self, side: list[Record]) -> int:
        if not side:
            return 0
        self.target.put_records(side, self.position)
        done = len(side)
        side.clear()
        return done


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _event(record: Record) -> ImportedEvent:
    return ImportedEvent(int(record["id"]), UUID(str(record["originator_id"])),
                         int(record["originator_version"]), str(record["topic"]),
                         event_state(record))
