"""What the simulator needs from the event store: one ordered, consistent read.

Infrastructure implements :class:`HistoryReader` for SQLite and PostgreSQL
(``infrastructure/history_reader.py``). A scan never writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol
from uuid import UUID

#: One stored event as the table holds it: (originator_id, originator_version, topic, state).
StoredRow = tuple[UUID | str, int, str, bytes]


class HistoryScan(Protocol):
    """One read-only snapshot of the event store, open until the scan's context exits."""

    @property
    def estimated_events(self) -> int:
        """An upper bound of the rows the scan yields (for progress bars)."""
        ...

    def batches(self) -> Iterator[Sequence[StoredRow]]:
        """Every stored event, ordered by (originator_id, originator_version), in batches.

        Each aggregate's events are therefore contiguous; the batches are
        fetched lazily so memory stays flat however large the store is.
        """
        ...


class HistoryReader(Protocol):
    def scan(self) -> AbstractContextManager[HistoryScan]:
        """Open a consistent, read-only snapshot of the whole event store."""
        ...
