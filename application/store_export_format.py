"""The export file: JSON Lines, one record a line, chained by SHA-256, closed by a checksum.

Every line but the last is an object with a ``type`` and a ``chain``: the hex SHA-256
of the previous line's ``chain`` (64 zeros before the first line) followed by this
line's canonical content (the object without ``chain``, keys sorted, no spaces,
UTF-8). The last line (``type: checksum``) holds the number of lines of each type
and the last ``chain``. Changing, dropping, reordering or cutting lines breaks the
chain or the totals at a line that can be named (docs/moving-the-store.md).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "GENESIS",
    "Chain",
    "FileDamaged",
    "Record",
    "canonical",
    "parse_line",
]

FORMAT = "disputedesk-export"
FORMAT_VERSION = 1
GENESIS = "0" * 64
#: The line types, in the order they appear (``checksum`` is always last).
HEADER, WEBHOOK_ENDPOINT, WEBHOOK_POSITION, WEBHOOK_DELIVERY = (
    "header", "webhook_endpoint", "webhook_position", "webhook_delivery")
IDEMPOTENCY_KEY, EVENT, BLOB, BLOB_CHUNK, CHECKSUM = (
    "idempotency_key", "event", "blob", "blob_chunk", "checksum")

Record = dict[str, Any]

_encode = msgspec.json.Encoder(order="sorted").encode
_decode = msgspec.json.Decoder().decode


class FileDamaged(Exception):
    """The file is not an intact export; ``line`` (1-based) says where it stopped being one."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def canonical(record: Record) -> bytes:
    """The bytes a line's hash covers: ``record`` without ``chain``, keys sorted."""
    return _encode(record)


@dataclass
class Chain:
    """The running hash and the count of each line type, as lines are written or read."""

    last: str = GENESIS
    lines: int = 0

    def __post_init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def link(self, body: bytes) -> str:
        self.last = hashlib.sha256(self.last.encode("ascii") + body).hexdigest()
        return self.last

    def line(self, record: Record) -> bytes:
        """``record`` as a line of the file (with its ``chain``, newline included)."""
        body = canonical(record)
        digest = self.link(body)
        self.lines += 1
        self.counts[record["type"]] += 1
        return body[:-1] + b',"chain":"' + digest.encode("ascii") + b'"}\n'

    def checksum(self) -> bytes:
        """The closing line: the totals and the final hash."""
        record = {"type": CHECKSUM, "lines": self.lines,
                  "counts": dict(sorted(self.counts.items())), "sha256": self.last}
        return canonical(record) + b"\n"

    def follow(self, number: int, raw: bytes) -> Record:
        """Check the next line read (``number``, 1-based) against the chain; its record."""
        record = parse_line(number, raw)
        claimed = record.pop("chain", None)
        if record.get("type") == CHECKSUM:
            self._close(number, record)
            return record
        if not isinstance(claimed, str):
            raise FileDamaged(number, "the line has no chain hash")
        if self.link(canonical(record)) != claimed:
            raise FileDamaged(number, "the chain hash does not match: the line or one "
                                      "before it was changed, added or removed")
        self.lines += 1
        self.counts[str(record["type"])] += 1
        return record

    def _close(self, number: int, record: Record) -> None:
        counts = record.get("counts")
        if record.get("lines") != self.lines or not isinstance(counts, dict) or (
            Counter({str(k): v for k, v in counts.items()}) != self.counts
        ):
            raise FileDamaged(number, "the checksum line's totals do not match the lines "
                                      "before it")
        if record.get("sha256") != self.last:
            raise FileDamaged(number, "the checksum line's hash does not match the chain")


def parse_line(number: int, raw: bytes) -> Record:
    """One line as an object with a string ``type``, or :class:`FileDamaged`."""
    if not raw.endswith(b"\n"):
        raise FileDamaged(number, "the line is cut short (no newline): the file is truncated")
    try:
        record = _decode(raw)
    except msgspec.DecodeError as error:
        raise FileDamaged(number, f"not JSON ({error})") from None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise FileDamaged(number, "not an export record (an object with a type)")
    return record
