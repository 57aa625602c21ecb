"""What a read model is to the engine: a name, a schema number and a fold.

For each batch the engine hands every read model of the lane the disputes the
batch touched, each with its facts before and after the batch; the read model
returns the changes to write (rows to upsert, counters to add). Because the
changes depend only on (before, after), replaying the same events in batches
of any size gives the same tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from application.projections.facts import DisputeFacts
from application.projections.records import ModelChanges


@dataclass(slots=True)
class Touch:
    """One dispute that a batch changed."""

    before: DisputeFacts | None
    after: DisputeFacts
    position: int  # notification id of its last event in the batch
    responses: list[tuple[int, int]] = field(default_factory=list)  # (version, micros)
    #: Notification id of its first event in the batch: for a dispute the batch
    #: opened (``before`` None), its OrderPlaced's place in the log (or, were the
    #: OrderPlaced committed out of order, that of the event that brought it).
    first: int = 0


class ReadModel(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def schema(self) -> int:
        """Bumped when the tables change shape: the new shape needs a rebuild."""
        ...

    def changes(self, version: int, touched: Sequence[Touch]) -> ModelChanges: ...
