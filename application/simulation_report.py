"""Summarise replayed disputes into the simulation report (plain, JSON-ready values).

The builder keeps only counters (per type, per seller, per currency, per
week) and a bounded list of samples, so its memory does not grow with the
number of disputes beyond one small record per seller.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain import deadlines
from domain.money import Money

if TYPE_CHECKING:
    from application.simulator import Derived, DisputeOutcome, SimulationRequest

MISMATCH_LIMIT = 100
DEADLINE_MISSED = deadlines.DEADLINE_MISSED
AUTO_CANCELLED = deadlines.ORDER_AUTO_CANCELLED


@dataclass(slots=True)
class _Seller:
    orders: int = 0
    late_baseline: int = 0
    late_candidate: int = 0
    due_baseline: int = 0
    due_candidate: int = 0
    cancelled_baseline: int = 0
    cancelled_candidate: int = 0


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _week(at: datetime) -> str:
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _timeline(history: list[tuple[str, datetime]]) -> list[dict[str, Any]]:
    derived = deadlines.DERIVED_TYPES
    return [
        {"type": kind, "occurred_at": at.isoformat(), "derived": kind in derived}
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
        self.mismatched = 0
        self.mismatched_ids: list[str] = []
        self.derived: dict[str, list[int]] = {kind: [0, 0] for kind in deadlines.DERIVED_TYPES}
        self.versions: Counter[str] = Counter()
        self.sellers: dict[str, _Seller] = {}
        self.exposure: dict[str, list[Decimal]] = {}
        self.weeks: dict[str, list[int]] = {}
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
        baseline_kinds = self._count(outcome.baseline, 0, outcome.currency)
        candidate_kinds = self._count(outcome.candidate, 1, outcome.currency)

        seller = self.sellers.get(outcome.seller_id)
        if seller is None:
            seller = self.sellers[outcome.seller_id] = _Seller()
        seller.orders += 1
        seller.due_baseline += outcome.baseline_late_eligible
        seller.due_candidate += outcome.candidate_late_eligible
        seller.late_baseline += DEADLINE_MISSED in baseline_kinds
        seller.late_candidate += DEADLINE_MISSED in candidate_kinds
        seller.cancelled_baseline += AUTO_CANCELLED in baseline_kinds
        seller.cancelled_candidate += AUTO_CANCELLED in candidate_kinds

        changed = baseline_kinds != candidate_kinds
        diverged_at = outcome.diverged_at
        if changed:
            self.changed += 1
        elif diverged_at is not None:
            self.retimed += 1
        counterfactual = outcome.counterfactual
        if counterfactual:
            self.counterfactual += 1
        if changed and len(self.samples) < self.sample_limit:
            self.samples.append(self._sample(outcome, diverged_at, counterfactual))

    def _count(self, derived: list[Derived], side: int, currency: str) -> set[str]:
        kinds: set[str] = set()
        for event in derived:
            kinds.add(event.kind)
            self.derived[event.kind][side] += 1
            week = self.weeks.get(_week(event.at))
            if week is None:
                week = self.weeks[_week(event.at)] = [0, 0]
            week[side] += 1
            if event.refund is not None:
                totals = self.exposure.get(currency)
                if totals is None:
                    totals = self.exposure[currency] = [Decimal(0), Decimal(0)]
                totals[side] += event.refund
        return kinds

    @staticmethod
    def _sample(
        outcome: DisputeOutcome, diverged_at: datetime | None, counterfactual: bool
    ) -> dict[str, Any]:
        return {
            "dispute_id": str(outcome.dispute_id),
            "order_id": outcome.order_id,
            "seller_id": outcome.seller_id,
            "region": outcome.region,
            "category": outcome.category,
            "baseline": [d.kind for d in outcome.baseline],
            "candidate": [d.kind for d in outcome.candidate],
            "diverged_at": diverged_at.isoformat() if diverged_at is not None else None,
            "counterfactual": counterfactual,
            "timeline": {
                "baseline": _timeline(outcome.baseline_history),
                "candidate": _timeline(outcome.candidate_history),
            },
        }

    def build(self) -> dict[str, Any]:
        request = self.request
        return {
            "as_of": request.as_of.isoformat(),
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
                    "orders": s.orders,
                    "late_dispatch_rate": {
                        "baseline": _rate(s.late_baseline, s.due_baseline),
                        "candidate": _rate(s.late_candidate, s.due_candidate),
                    },
                    "auto_cancel_rate": {
                        "baseline": _rate(s.cancelled_baseline, s.orders),
                        "candidate": _rate(s.cancelled_candidate, s.orders),
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
            "derived_per_week": [
                {"week": week, "baseline": counts[0], "candidate": counts[1]}
                for week, counts in sorted(self.weeks.items())
            ],
            "samples": self.samples,
        }
