"""What an import of history reports: each refused line, its progress, its summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ImportProgress", "ImportSummary", "Rejection"]


@dataclass(frozen=True)
class Rejection:
    """A line that cannot be applied: its number, why, and its order (None: unreadable)."""

    line: int
    reason: str
    order_id: str | None = None


@dataclass(frozen=True)
class ImportProgress:
    """Lines and orders done so far, of how many."""

    lines_done: int
    lines: int
    orders_done: int
    orders: int


@dataclass
class ImportSummary:
    """What a run recorded, recognised from an earlier run, and refused."""

    lines: int = 0
    orders: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    #: Orders with nothing recorded: their order line was refused or missing.
    orders_rejected: int = 0
    facts_recorded: int = 0
    facts_unchanged: int = 0
    facts_rejected: int = 0
    #: What fell due while the history was replayed (DeadlineMissed, auto-cancels, ...).
    derived_recorded: int = 0
    events_recorded: int = 0
    seconds: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["seconds"] = round(self.seconds, 3)
        found["orders_per_second"] = round(self.orders_per_second, 1)
        return found
