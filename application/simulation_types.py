"""The simulation's shared values: the request, and one dispute's outcome.

Both the replay (``application.simulator``) and the report
(``application.simulation_report``) read these; neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from application.times import rfc3339_or_none
from domain.dispute import Dispute
from domain.errors import InvalidInput
from domain.policy import Policy

__all__ = [
    "Derived",
    "DisputeOutcome",
    "Filters",
    "ImpossibleFact",
    "SimulationInputError",
    "SimulationRequest",
]


class SimulationInputError(InvalidInput):
    code = "invalid-simulation"


# ---- the request ----------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which orders a simulation covers (all when every field is None)."""

    region: str | None = None
    seller_id: str | None = None
    category: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None

    def admits(self, placed: Dispute.OrderPlaced) -> bool:
        if self.region is not None and placed.region != self.region:
            return False
        if self.seller_id is not None and placed.seller_id != self.seller_id:
            return False
        if self.category is not None and placed.category != self.category:
            return False
        if self.placed_from is not None and placed.placed_at < self.placed_from:
            return False
        return not (self.placed_to is not None and placed.placed_at > self.placed_to)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "region": self.region,
            "seller_id": self.seller_id,
            "category": self.category,
            "placed_from": _iso(self.placed_from),
            "placed_to": _iso(self.placed_to),
        }


@dataclass(frozen=True)
class SimulationRequest:
    candidate: Policy
    as_of: datetime
    filters: Filters = field(default_factory=Filters)
    changes: Mapping[str, Any] | None = None


_iso = rfc3339_or_none


# ---- replaying one dispute ----------------------------------------------------------


class Derived(NamedTuple):
    """A derived event of a replay: its type, when its rule fired, the money it refunds."""

    kind: str
    at: datetime
    refund: Decimal | None


class ImpossibleFact(NamedTuple):
    """A recorded fact the candidate's case would have refused: its type, when it was
    recorded, and why (the refusal its command would have met)."""

    kind: str
    recorded_at: datetime
    reason: str


@dataclass(slots=True)
class DisputeOutcome:
    """What one dispute got under both policies, and what was recorded.

    A dispute whose replays differ is *retimed* (the same derived events, with
    the same refunds, and the same final status: only instants moved) or
    *changed* (other derived events, refunds or status). Either may also be
    *counterfactual*: under the candidate a recorded fact could not have
    happened as recorded (``impossible``: its case would have refused the
    command, where the baseline's allowed it), so the candidate's history from
    then on is not what would have been. A fact merely recorded after a
    deadline that moved is not.
    """

    dispute_id: UUID
    order_id: str
    seller_id: str
    region: str
    category: str
    currency: str
    baseline_version: str
    facts: int
    baseline: list[Derived]
    candidate: list[Derived]
    recorded: list[tuple[str, datetime]]
    baseline_forced: int
    baseline_late_eligible: bool
    candidate_late_eligible: bool
    baseline_history: list[tuple[str, datetime]]
    candidate_history: list[tuple[str, datetime]]
    baseline_status: str = ""
    candidate_status: str = ""
    impossible: ImpossibleFact | None = None
    #: Return labels the seller pays (recorded costs, under each policy's payer rule).
    baseline_return_postage: Decimal = Decimal(0)
    candidate_return_postage: Decimal = Decimal(0)

    @property
    def shared(self) -> bool:
        """The candidate took the baseline's decisions for this order: one replay served both."""
        return self.candidate is self.baseline

    @property
    def differs(self) -> bool:
        """The candidate's derived events (type, instant, refund) or final status differ."""
        if self.shared:
            return False
        return self.baseline != self.candidate or self.baseline_status != self.candidate_status

    @property
    def changed(self) -> bool:
        """Other derived events (types, their number or order, refunds) or another status."""
        if self.shared:
            return False
        return self.baseline_status != self.candidate_status or [
            (d.kind, d.refund) for d in self.baseline
        ] != [(d.kind, d.refund) for d in self.candidate]

    @property
    def retimed(self) -> bool:
        """The same derived events and status; only some instants differ."""
        return self.differs and not self.changed

    @property
    def diverged_at(self) -> datetime | None:
        if self.shared:
            return None
        for b, c in zip(self.baseline, self.candidate, strict=False):
            if b.kind != c.kind or b.at != c.at:
                return min(b.at, c.at)
        if len(self.baseline) == len(self.candidate):
            return None
        longer = self.baseline if len(self.baseline) > len(self.candidate) else self.candidate
        return longer[min(len(self.baseline), len(self.candidate))].at

    @property
    def counterfactual(self) -> bool:
        return self.impossible is not None

    @property
    def matches_recorded(self) -> bool:
        """The baseline replay reproduces the derived events on record.

        The record must be a prefix of the baseline's derived events (same
        type and instant, same order) that includes every event the baseline
        recorded before one of its facts (a live command records those in the
        same transaction as the fact). Later ones, due after the last recorded
        fact, exist only where a sweep has already run; a sweep records every
        event due by its instant, in time order, hence a prefix.
        """
        recorded = self.recorded
        if not recorded:
            return self.baseline_forced == 0
        if len(recorded) < self.baseline_forced or len(recorded) > len(self.baseline):
            return False
        pairs = zip(recorded, self.baseline, strict=False)
        return all(kind == d.kind and at == d.at for (kind, at), d in pairs)
