"""Summarise replayed disputes into the simulation report (plain, JSON-ready values).

The builder keeps only counters (per type, per seller, per currency, per
week) and a bounded list of samples, so its memory does not grow with the
number of disputes beyond one small record per seller.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from application.simulation_types import Derived, DisputeOutcome, SimulationRequest
from application.times import rfc3339, rfc3339_or_none
from domain import deadlines
from domain.dispute.late_reports import DEADLINE_MISS_WITHDRAWN
from domain.money import Money

MISMATCH_LIMIT = 100
DEADLINE_MISSED = deadlines.DEADLINE_MISSED
#: Every derived type a replay records: the timers', and the withdrawal of a miss that a
#: late-reported shipment disproves.
DERIVED_KINDS = (*deadlines.DERIVED_TYPES, DEADLINE_MISS_WITHDRAWN)
AUTO_CANCELLED = deadlines.ORDER_AUTO_CANCELLED


# Per seller: orders, then (baseline, candidate) pairs of: orders counted in the
# late-dispatch denominator, orders with DeadlineMissed, orders auto-cancelled.
ORDERS, DUE_B, DUE_C, LATE_B, LATE_C, CANCELLED_B, CANCELLED_C = range(7)
_NO_KINDS: frozenset[str] = frozenset()


def _late(kinds: frozenset[str] | set[str], derived: list[Derived]) -> bool:
    """A late dispatch: a DeadlineMissed that stands (no late-reported shipment
    withdrew it)."""
    if DEADLINE_MISSED not in kinds:
        return False
    if DEADLINE_MISS_WITHDRAWN not in kinds:
        return True
    types = [event.kind for event in derived]
    return types.count(DEADLINE_MISSED) > types.count(DEADLINE_MISS_WITHDRAWN)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)  # a Monday: week numbers count from it
_WEEK = 7 * 24 * 3600


def _week_index(at: datetime) -> int:
    """The UTC week (Monday to Sunday) of ``at``, as a number (cheap: called per event)."""
    return int((at.timestamp() - _MONDAY.timestamp()) // _WEEK)


def _week_label(index: int) -> str:
    year, week, _ = (_MONDAY + timedelta(weeks=index)).isocalendar()
    return f"{year}-W{week:02d}"


def _timeline(history: list[tuple[str, datetime]]) -> list[dict[str, Any]]:
    derived = DERIVED_KINDS
    return [
        {"type": kind, "occurred_at": rfc3339(at), "derived": kind in derived}
        for kind, at in history
    ]


class ReportBuilder:
    def __init__(
        self,
        *,
        request: SimulationRequest,
        baseline_policy_version: str,
        sample_limit: int = 20,
    ) -> None:
        self.request = request
        self.baseline_policy_version = baseline_policy_version
        self.sample_limit = sample_limit
        self.events_read = 0
        self.events_replayed = 0
        self.disputes = 0
        self.changed = 0
        self.retimed = 0
        self.counterfactual = 0
        self.counterfactual_facts: Counter[str] = Counter()
        self.mismatched = 0
        self.mismatched_ids: list[str] = []
        self.derived: dict[str, list[int]] = {kind: [0, 0] for kind in DERIVED_KINDS}
        self.versions: Counter[str] = Counter()
        self.sellers: dict[str, list[int]] = {}
        self.exposure: dict[str, list[Decimal]] = {}
        self.return_postage: dict[str, list[Decimal]] = {}
        self.weeks: dict[int, list[int]] = {}
        self.samples: list[dict[str, Any]] = []
        self.unknown: Counter[tuple[str, str]] = Counter()

    def not_comparable(self, region: str, category: str) -> None:
        """An order the candidate has no rules for (its region or category is unknown)."""
        self.unknown[(region, category)] += 1

    def add(self, outcome: DisputeOutcome) -> None:
        self.disputes += 1
        self.events_replayed += outcome.facts
        self.versions[outcome.baseline_version] += 1
        if not outcome.matches_recorded:
            self.mismatched += 1
            if len(self.mismatched_ids) < MISMATCH_LIMIT:
                self.mismatched_ids.append(str(outcome.dispute_id))
        shared = outcome.shared
        baseline_kinds = self._count(outcome.baseline, (0, 1) if shared else (0,), outcome.currency)
        candidate_kinds = (
            baseline_kinds if shared else self._count(outcome.candidate, (1,), outcome.currency)
        )

        if outcome.baseline_return_postage or outcome.candidate_return_postage:
            postage = self.return_postage.get(outcome.currency)
            if postage is None:
                postage = self.return_postage[outcome.currency] = [Decimal(0), Decimal(0)]
            postage[0] += outcome.baseline_return_postage
            postage[1] += outcome.candidate_return_postage

        seller = self.sellers.get(outcome.seller_id)
        if seller is None:
            seller = self.sellers[outcome.seller_id] = [0] * 7
        seller[ORDERS] += 1
        if outcome.baseline_late_eligible:
            seller[DUE_B] += 1
        if outcome.candidate_late_eligible:
            seller[DUE_C] += 1
        if baseline_kinds:
            seller[LATE_B] += _late(baseline_kinds, outcome.baseline)
            seller[CANCELLED_B] += AUTO_CANCELLED in baseline_kinds
        if candidate_kinds:
            seller[LATE_C] += _late(candidate_kinds, outcome.candidate)
            seller[CANCELLED_C] += AUTO_CANCELLED in candidate_kinds

        if shared or not outcome.differs:
            return
        changed = outcome.changed
        if changed:
            self.changed += 1
        else:
            self.retimed += 1
        impossible = outcome.impossible
        if impossible is not None:
            self.counterfactual += 1
            self.counterfactual_facts[impossible.kind] += 1
        if (changed or impossible is not None) and len(self.samples) < self.sample_limit:
            self.samples.append(self._sample(outcome, changed))

    def _count(
        self, derived: list[Derived], sides: tuple[int, ...], currency: str
    ) -> frozenset[str] | set[str]:
        if not derived:
            return _NO_KINDS
        kinds: set[str] = set()
        for event in derived:
            kinds.add(event.kind)
            counts = self.derived[event.kind]
            index = _week_index(event.at)
            week = self.weeks.get(index)
            if week is None:
                week = self.weeks[index] = [0, 0]
            for side in sides:
                counts[side] += 1
                week[side] += 1
            refund = event.refund
            if refund is not None:
                totals = self.exposure.get(currency)
                if totals is None:
                    totals = self.exposure[currency] = [Decimal(0), Decimal(0)]
                for side in sides:
                    totals[side] += refund
        return kinds

    @staticmethod
    def _sample(outcome: DisputeOutcome, changed: bool) -> dict[str, Any]:
        diverged_at = outcome.diverged_at
        impossible = outcome.impossible
        return {
            "dispute_id": str(outcome.dispute_id),
            "order_id": outcome.order_id,
            "seller_id": outcome.seller_id,
            "region": outcome.region,
            "category": outcome.category,
            "baseline": [d.kind for d in outcome.baseline],
            "candidate": [d.kind for d in outcome.candidate],
            "status": {
                "baseline": outcome.baseline_status,
                "candidate": outcome.candidate_status,
            },
            "change": "changed" if changed else "retimed",
            "diverged_at": rfc3339_or_none(diverged_at),
            "counterfactual": impossible is not None,
            "impossible_fact": (
                {
                    "type": impossible.kind,
                    "recorded_at": rfc3339(impossible.recorded_at),
                    "reason": impossible.reason,
                }
                if impossible is not None
                else None
            ),
            "timeline": {
                "baseline": _timeline(outcome.baseline_history),
                "candidate": _timeline(outcome.candidate_history),
            },
        }

    def build(self) -> dict[str, Any]:
        request = self.request
        return {
            "as_of": rfc3339(request.as_of),
            "baseline_policy_version": self.baseline_policy_version,
            "candidate_policy_version": request.candidate.version,
            "baseline_policy_versions": dict(sorted(self.versions.items())),
            "changes": dict(request.changes) if request.changes is not None else None,
            "filters": request.filters.to_dict(),
            "events_read": self.events_read,
            "events_replayed": self.events_replayed,
            "disputes": self.disputes,
            "derived": {
                kind: {"baseline": counts[0], "candidate": counts[1]}
                for kind, counts in self.derived.items()
            },
            "changed_disputes": self.changed,
            "retimed_disputes": self.retimed,
            "counterfactual_disputes": self.counterfactual,
            "counterfactual_facts": dict(sorted(self.counterfactual_facts.items())),
            "baseline_matches_recorded": self.mismatched == 0,
            "mismatched_count": self.mismatched,
            "mismatched_disputes": self.mismatched_ids,
            "not_comparable": [
                {"region": region, "category": category, "disputes": count}
                for (region, category), count in sorted(self.unknown.items())
            ],
            "sellers": [
                {
                    "seller_id": seller_id,
                    "orders": s[ORDERS],
                    "late_dispatch_rate": {
                        "baseline": _rate(s[LATE_B], s[DUE_B]),
                        "candidate": _rate(s[LATE_C], s[DUE_C]),
                    },
                    "auto_cancel_rate": {
                        "baseline": _rate(s[CANCELLED_B], s[ORDERS]),
                        "candidate": _rate(s[CANCELLED_C], s[ORDERS]),
                    },
                }
                for seller_id, s in sorted(self.sellers.items())
            ],
            "refund_exposure": [
                {
                    "currency": currency,
                    "baseline": Money(totals[0], currency).to_dict(),
                    "candidate": Money(totals[1], currency).to_dict(),
                }
                for currency, totals in sorted(self.exposure.items())
            ],
            "return_postage_exposure": [
                {
                    "currency": currency,
                    "baseline": Money(totals[0], currency).to_dict(),
                    "candidate": Money(totals[1], currency).to_dict(),
                }
                for currency, totals in sorted(self.return_postage.items())
            ],
            "derived_per_week": [
                {"week": _week_label(index), "baseline": counts[0], "candidate": counts[1]}
                for index, counts in sorted(self.weeks.items())
            ],
            "samples": self.samples,
        }
