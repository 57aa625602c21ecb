"""Read an export file line by line, checking each against the chain and the format.

:func:`verified_records` is the one reader: both passes of an import go through it, so
a file changed between them is refused too. :func:`scan` is the first pass: the whole
file checked (chain, totals, event order, evidence files' hashes) before anything is
written, and the facts the second pass needs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO
from uuid import UUID

from application.store_export_format import (
    BLOB,
    BLOB_CHUNK,
    CHECKSUM,
    EVENT,
    FORMAT,
    FORMAT_VERSION,
    HEADER,
    Chain,
    FileDamaged,
    Record,
)

__all__ = ["FileFacts", "scan", "verified_records"]


def verified_records(stream: IO[bytes]) -> Iterator[tuple[int, Record]]:
    """Each line's number and record (the checksum line's last), or :class:`FileDamaged`
    at the first line that is not what an intact export holds there."""
    chain = Chain()
    number = 0
    closed = False
    last_id = 0
    for number, raw in enumerate(stream, start=1):
        if closed:
            raise FileDamaged(number, "a line after the checksum line")
        record = chain.follow(number, raw)
        kind = record["type"]
        if number == 1:
            _check_header(record)
        elif kind == HEADER:
            raise FileDamaged(number, "a second header")
        elif kind == EVENT:
            last_id = _check_event(number, record, last_id)
        closed = kind == CHECKSUM
        yield number, record
    if not closed:
        raise FileDamaged(number + 1, "the file ends without its checksum line: it is "
                                      "truncated")


def _check_header(record: Record) -> None:
    if record.get("type") != HEADER or record.get("format") != FORMAT:
        raise FileDamaged(1, f"not a {FORMAT} file (no header line)")
    if record.get("format_version") != FORMAT_VERSION:
        raise FileDamaged(1, f"format version {record.get('format_version')!r}; this "
                             f"disputedesk reads version {FORMAT_VERSION}")


def _check_event(number: int, record: Record, last_id: int) -> int:
    event_id = record.get("id")
    if not isinstance(event_id, int) or event_id <= last_id:
        raise FileDamaged(number, "event ids must increase from line to line")
    version = record.get("originator_version")
    if not isinstance(version, int) or not isinstance(record.get("topic"), str):
        raise FileDamaged(number, "an event needs an originator_version and a topic")
    try:
        UUID(str(record.get("originator_id")))
        if "state_b64" in record:
            base64.b64decode(record["state_b64"], validate=True)
        elif not isinstance(record.get("state"), str):
            raise ValueError("no state")
    except (ValueError, binascii.Error):
        raise FileDamaged(number, "an event needs an originator_id (a UUID) and its "
                                  "state") from None
    return event_id


def event_state(record: Record) -> bytes:
    """An event line's state, as the store held it."""
    if "state_b64" in record:
        return base64.b64decode(record["state_b64"])
    return str(record["state"]).encode("utf-8")


@dataclass
class FileFacts:
    """What the first pass learnt: the header, the source's notification ids in order,
    and the number of lines of each type."""

    header: Record
    ids: array[int] = field(default_factory=lambda: array("q"))
    counts: dict[str, int] = field(default_factory=dict)
    lines: int = 0

    @property
    def events(self) -> int:
        return len(self.ids)

    @property
    def dense(self) -> bool:
        """Whether the ids are 1, 2, 3, ... (a store that renumbers keeps them then)."""
        return not self.ids or (self.ids[0] == 1 and self.ids[-1] == len(self.ids))

    def rank(self, position: int) -> int:
        """How many events of the file have an id at or before ``position``."""
        return bisect_right(self.ids, position)

    def line_of_rank(self, rank: int) -> int:
        """The source id of the ``rank``-th event (1-based)."""
        return self.ids[rank - 1]


def scan(stream: IO[bytes], progress: Callable[[int], None] | None = None) -> FileFacts:
    """Check the whole file; refuse (``FileDamaged``) what cannot be imported whole."""
    facts: FileFacts | None = None
    blob: tuple[str, int, int, hashlib._Hash] | None = None  # id, next seq, size, hash
    for number, record in verified_records(stream):
        kind = record["type"]
        if facts is None:
            facts = FileFacts(record)
            if record.get("recorded_from") is not None or record.get("recorded_to") is not None:
                raise FileDamaged(1, "the file holds a range of recorded times (--from, --to), "
                                     "not the whole log: it cannot be imported")
        elif kind == EVENT:
            facts.ids.append(int(record["id"]))
        elif kind == BLOB_CHUNK:
            blob = _chunk(number, record, blob)
        elif kind == BLOB:
            _close_blob(number, record, blob)
            blob = None
        elif blob is not None:
            raise FileDamaged(number, f"evidence file {blob[0]} is not closed by its blob line")
        if kind == CHECKSUM:
            facts.counts = dict(record["counts"])
            facts.lines = number
        if progress is not None and number % 10_000 == 0:
            progress(number)
    assert facts is not None  # verified_records raises on an empty file
    return facts


def _chunk(number: int, record: Record, blob: tuple[str, int, int, hashlib._Hash] | None
           ) -> tuple[str, int, int, hashlib._Hash]:
    blob_id, seq = str(record.get("blob_id")), record.get("seq")
    if blob is None:
        blob = (blob_id, 0, 0, hashlib.sha256())
    if blob[0] != blob_id or seq != blob[1]:
        raise FileDamaged(number, "evidence file chunks out of order")
    try:
        data = base64.b64decode(str(record.get("data")), validate=True)
    except binascii.Error:
        raise FileDamaged(number, "an evidence file chunk that is not base64") from None
    blob[3].update(data)
    return blob_id, blob[1] + 1, blob[2] + len(data), blob[3]


def _close_blob(number: int, record: Record,
                blob: tuple[str, int, int, hashlib._Hash] | None) -> None:
    if record.get("missing") is True:
        if blob is not None:
            raise FileDamaged(number, "an evidence file both present and missing")
        return
    size, digest, chunks = (0, hashlib.sha256(), 0) if blob is None else (
        blob[2], blob[3], blob[1])
    if blob is not None and blob[0] != record.get("blob_id"):
        raise FileDamaged(number, "an evidence file's blob line names another file")
    if (record.get("size"), record.get("sha256"), record.get("chunks")) != (
        size, digest.hexdigest(), chunks
    ):
        raise FileDamaged(number, f"evidence file {record.get('blob_id')}: its bytes do not "
                                  "match its size and SHA-256")
