"""Write the store to an export file: the event log in pages, then what a rebuild cannot make.

The log is read a page at a time up to the head seen when the export began; an event
is written as the store holds it (its bytes untouched). Then the evidence files the
written events name, then (for a whole-log export) webhook endpoints, the fan-out
position, pending deliveries and idempotency keys still within their retention, each
trimmed to the events written, so a store still serving gives a file that agrees
with itself. Read models are not written: they are rebuilt from the events.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Protocol
from uuid import UUID

from application.evidence_files import BlobMissing
from application.projections.ports import LogEntry
from application.store_export_format import (
    BLOB,
    BLOB_CHUNK,
    EVENT,
    FORMAT,
    FORMAT_VERSION,
    HEADER,
    Chain,
    Record,
)
from application.times import rfc3339, rfc3339_or_none

__all__ = ["ExportSource", "ExportSummary", "StoreExport"]

#: Events read per page of the log.
PAGE = 5_000
#: Bytes of an evidence file per ``blob_chunk`` line (before base64).
BLOB_CHUNK_BYTES = 192 * 1024
_BLOB_ID = re.compile(rb'"blob_id":"([0-9a-f]{32})"')


class ExportSource(Protocol):
    """The store being exported."""

    kind: str

    def head(self) -> int:
        """The highest notification id recorded."""
        ...

    def page(self, start: int, limit: int, stop: int) -> Sequence[LogEntry]:
        """Notifications with ``start <= id <= stop``, in order, at most ``limit``."""
        ...

    def recorded_at(self, entry: LogEntry) -> datetime:
        """When the event was recorded (its ``timestamp``)."""
        ...

    def blob(self, blob_id: str) -> Iterator[bytes]:
        """An evidence file's bytes; :class:`BlobMissing` when there is none."""
        ...

    def side_records(self, upto: int, now: datetime) -> Iterator[Record]:
        """Webhook and idempotency records as export lines, none naming an event after
        ``upto``; keys decided within their retention before ``now``."""
        ...


@dataclass(frozen=True)
class ExportSummary:
    events: int
    blobs: int
    blobs_missing: tuple[str, ...]
    side_records: int
    lines: int
    sha256: str
    head: int
    seconds: float


@dataclass(frozen=True)
class StoreExport:
    """One export: where from, which recorded times (``None``: unbounded), and when."""

    source: ExportSource
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    @property
    def whole(self) -> bool:
        return self.recorded_from is None and self.recorded_to is None

    def write(self, out: IO[bytes], now: datetime, clock: Callable[[], float],
              progress: Callable[[int, int], None] | None = None) -> ExportSummary:
        """Write the file to ``out``; ``progress(position, head)`` after each page."""
        began = clock()
        chain = Chain()
        head = self.source.head()
        out.write(chain.line({
            "type": HEADER, "format": FORMAT, "format_version": FORMAT_VERSION,
            "exported_at": rfc3339(now), "head": head, "store": self.source.kind,
            "recorded_from": rfc3339_or_none(self.recorded_from),
            "recorded_to": rfc3339_or_none(self.recorded_to),
        }))
        blob_ids: dict[str, None] = {}
        events = self._events(out, chain, head, blob_ids, progress)
        missing = [blob_id for blob_id in blob_ids if not self._blob(out, chain, blob_id)]
        side = 0
        if self.whole:
            for record in self.source.side_records(head, now):
                out.write(chain.line(record))
                side += 1
        out.write(chain.checksum())
        return ExportSummary(events, len(blob_ids) - len(missing), tuple(missing), side,
                             chain.lines + 1, chain.last, head, clock() - began)

    def _events(self, out: IO[bytes], chain: Chain, head: int, blob_ids: dict[str, None],
                progress: Callable[[int, int], None] | None) -> int:
        written = 0
        position = 0
        while position < head:
            page = self.source.page(position + 1, PAGE, head)
            if not page:
                break
            lines = []
            for entry in page:
                recorded = self.source.recorded_at(entry)
                if not self._in_range(recorded):
                    continue
                lines.append(chain.line(_event_record(entry, recorded)))
                if b'"blob_id"' in entry.state:
                    blob_ids.update(dict.fromkeys(m.decode() for m in
                                                  _BLOB_ID.findall(entry.state)))
            out.write(b"".join(lines))
            written += len(lines)
            position = page[-1].id
            if progress is not None:
                progress(position, head)
        return written

    def _in_range(self, recorded: datetime) -> bool:
        if self.recorded_from is not None and recorded < self.recorded_from:
            return False
        return self.recorded_to is None or recorded < self.recorded_to

    def _blob(self, out: IO[bytes], chain: Chain, blob_id: str) -> bool:
        """Write one evidence file as chunk lines closed by its ``blob`` line."""
        try:
            chunks = self.source.blob(blob_id)
        except BlobMissing:
            out.write(chain.line({"type": BLOB, "blob_id": blob_id, "missing": True}))
            return False
        digest, size, seq = hashlib.sha256(), 0, 0
        for piece in _regroup(chunks, BLOB_CHUNK_BYTES):
            digest.update(piece)
            size += len(piece)
            out.write(chain.line({"type": BLOB_CHUNK, "blob_id": blob_id, "seq": seq,
                                  "data": base64.b64encode(piece).decode("ascii")}))
            seq += 1
        out.write(chain.line({"type": BLOB, "blob_id": blob_id, "size": size,
                              "sha256": digest.hexdigest(), "chunks": seq}))
        return True


def _event_record(entry: LogEntry, recorded: datetime) -> Record:
    record: Record = {
        "type": EVENT, "id": entry.id, "originator_id": _uuid_text(entry.originator_id),
        "originator_version": entry.originator_version, "topic": entry.topic,
        "recorded_at": rfc3339(recorded),
    }
    try:
        record["state"] = entry.state.decode("utf-8")
    except UnicodeDecodeError:  # a compressed or encrypted store
        record["state_b64"] = base64.b64encode(entry.state).decode("ascii")
    return record


def _uuid_text(value: UUID | str) -> str:
    """A UUID in its usual hyphenated form (SQLite keeps 32 hex digits)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value if isinstance(value, UUID) else UUID(value))


def _regroup(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    pending = bytearray()
    try:
        for chunk in chunks:
            pending += chunk
            while len(pending) >= size:
                yield bytes(pending[:size])
                del pending[:size]
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    if pending:
        yield bytes(pending)
