"""Replaying one dispute twice in memory: under its recorded policy and the candidate.

See ``application.simulator`` for the rules of the replay. Nothing here is saved.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from application.simulation_types import Derived, DisputeOutcome, ImpossibleFact
from domain import deadlines
from domain.calendar import BusinessCalendar
from domain.dispute import SYSTEM_ROLE, Dispute, new_dispute
from domain.dispute.feasibility import refusal
from domain.dispute.late_reports import withdraw_disproved_misses
from domain.policy import Policy, Rules

__all__ = ["Replay", "Segment", "with_deadlines"]


def with_deadlines(
    placed: Dispute.OrderPlaced, ship_by: datetime, auto_cancel_at: datetime, version: str
) -> Dispute.OrderPlaced:
    """``placed`` with the candidate's deadlines and policy version (a new frozen event)."""
    changes: dict[str, Any] = {
        "ship_by": ship_by,
        "auto_cancel_at": auto_cancel_at,
        "policy_version": version,
    }
    return dataclasses.replace(placed, **changes)


class _Side:
    """One in-memory replay of a dispute under one policy (never saved)."""

    __slots__ = ("calendar", "derived", "dispute", "forced", "policy", "return_postage", "rules")

    def __init__(
        self, policy: Policy, rules: Rules, calendar: BusinessCalendar, placed: Dispute.OrderPlaced
    ) -> None:
        self.policy = policy
        self.rules = rules
        self.calendar = calendar
        self.dispute = new_dispute(placed)
        self.derived: list[Derived] = []
        self.forced = 0
        #: Return labels the seller pays under this side's rules (the order's currency).
        self.return_postage = Decimal(0)

    def record_due(self, until: datetime) -> None:
        dispute = self.dispute
        # The first check record_due makes, with this order's rules and
        # calendar looked up once per segment instead of on every call.
        due = deadlines.next_due(dispute, self.rules, self.calendar)
        if due is None or due.at > until:
            return
        dispute.record_due_under(self.rules, self.calendar, self.policy.version, until, due=due)
        for event in dispute.collect_events():
            if isinstance(event, Dispute.RefundDue):
                continue  # the money a derived approval owes, not a decision of its own
            refund: Decimal | None = None
            if isinstance(event, Dispute.RefundAutoApproved):
                refund = event.amount
            elif isinstance(event, Dispute.OrderAutoCancelled):
                refund = event.refund_amount
            at: datetime = event.occurred_at  # type: ignore[attr-defined]
            self.derived.append(Derived(type(event).__name__, at, refund))

    def apply(self, fact: Dispute.Event) -> None:
        # ``apply`` (not ``mutate``): the replay's derived events do not take
        # the recorded ones' version numbers, so the version check cannot hold.
        dispute = self.dispute
        fact.apply(dispute)
        label_cost = getattr(fact, "label_cost", None)
        if label_cost is not None and self.rules.return_shipping_payer == "seller":
            self.return_postage += label_cost
        # As live: a shipment withdraws the misses its date disproves, with it.
        if isinstance(fact, Dispute.OrderShipped) and withdraw_disproved_misses(
            dispute, fact.acted_at
        ):
            for event in dispute.collect_events():
                at: datetime = event.occurred_at  # type: ignore[attr-defined]
                self.derived.append(Derived(type(event).__name__, at, None))
        self.forced = len(self.derived)

    def late_dispatch_eligible(self, as_of: datetime) -> bool:
        """Counted in late_dispatch_rate's denominator: shipped, or ship_by passed."""
        return self.dispute.is_shipped or self.dispute.ship_by <= as_of


class Segment:
    """What every order of one (baseline version, region, category) shares.

    The rules and calendars of both policies are looked up once. ``same``:
    both policies take the same timer decisions (``record_due`` reads only
    the rules and the calendar, besides the version it stamps on derived
    events), so such an order replays exactly as its baseline does and the
    replay runs once. The candidate's order deadlines are memoised per local
    order day: a window's end depends only on the local day it opened.
    """

    __slots__ = (
        "baseline",
        "baseline_calendar",
        "baseline_rules",
        "candidate",
        "candidate_calendar",
        "candidate_rules",
        "deadlines",
        "same",
    )

    def __init__(self, baseline: Policy, candidate: Policy, region: str, category: str) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self.baseline_rules = baseline.rules_for(region, category)
        self.baseline_calendar = baseline.calendar(region)
        self.candidate_rules = candidate.rules_for(region, category)
        self.candidate_calendar = candidate.calendar(region)
        ra, rb = baseline.regions[region], candidate.regions[region]
        self.same = self.baseline_rules == self.candidate_rules and (
            ra.timezone,
            ra.holiday_subdivision,
        ) == (rb.timezone, rb.holiday_subdivision)
        self.deadlines: dict[date, tuple[datetime, datetime]] = {}

    def candidate_deadlines(self, placed_at: datetime) -> tuple[datetime, datetime]:
        calendar = self.candidate_calendar
        day = calendar.local_date(placed_at)
        found = self.deadlines.get(day)
        if found is None:
            rules = self.candidate_rules
            found = self.deadlines[day] = (
                calendar.window_end(placed_at, rules.ship_within_business_days),
                calendar.window_end(placed_at, rules.auto_cancel_after_business_days),
            )
        return found


class Replay:
    """The replay of the dispute whose rows are being read."""

    __slots__ = ("baseline", "candidate", "facts", "impossible", "placed", "recorded", "sides")

    def __init__(self, placed: Dispute.OrderPlaced, segment: Segment) -> None:
        self.placed = placed
        self.baseline = _Side(
            segment.baseline, segment.baseline_rules, segment.baseline_calendar, placed
        )
        self.candidate: _Side | None = None
        ship_by, auto_cancel_at = segment.candidate_deadlines(placed.placed_at)
        if not (
            segment.same and ship_by == placed.ship_by and auto_cancel_at == placed.auto_cancel_at
        ):
            candidate = segment.candidate
            self.candidate = _Side(
                candidate,
                segment.candidate_rules,
                segment.candidate_calendar,
                with_deadlines(placed, ship_by, auto_cancel_at, candidate.version),
            )
        self.sides = (self.baseline,) if self.candidate is None else (self.baseline, self.candidate)
        self.recorded: list[tuple[str, datetime]] = []
        self.facts = 1
        self.impossible: ImpossibleFact | None = None

    def fact(self, event: Dispute.Event) -> None:
        if isinstance(event, Dispute.RefundDue) and event.actor_role == SYSTEM_ROLE:
            return  # owed by a derived approval: each side's own timers record it
        at = event.acted_at
        for side in self.sides:
            side.record_due(at)
        candidate = self.candidate
        if candidate is not None and self.impossible is None:
            self._check(event, at, candidate)
        for side in self.sides:
            side.apply(event)
        self.facts += 1

    def _check(self, event: Dispute.Event, at: datetime, candidate: _Side) -> None:
        """Note the first fact the candidate's case would have refused at the time it was
        recorded while the baseline's allowed it (a rule that changed since the fact was
        recorded is not the candidate's doing)."""
        refused = refusal(candidate.dispute, event, candidate.policy, at)
        if refused is None:
            return
        baseline = self.baseline
        if refusal(baseline.dispute, event, baseline.policy, at) is None:
            self.impossible = ImpossibleFact(type(event).__name__, at, refused.detail)

    def finish(self, as_of: datetime) -> DisputeOutcome:
        baseline = self.baseline
        baseline.record_due(as_of)
        candidate = self.candidate
        if candidate is None:
            candidate = baseline
            candidate_eligible = baseline_eligible = baseline.late_dispatch_eligible(as_of)
        else:
            candidate.record_due(as_of)
            baseline_eligible = baseline.late_dispatch_eligible(as_of)
            candidate_eligible = candidate.late_dispatch_eligible(as_of)
        placed = self.placed
        return DisputeOutcome(  # positional: this runs once per dispute
            placed.originator_id,
            placed.order_id,
            placed.seller_id,
            placed.region,
            placed.category,
            placed.currency,
            baseline.policy.version,
            self.facts,
            baseline.derived,
            candidate.derived,
            self.recorded,
            baseline.forced,
            baseline_eligible,
            candidate_eligible,
            baseline.dispute.history,
            candidate.dispute.history,
            baseline.dispute.status.value,
            candidate.dispute.status.value,
            self.impossible,
            baseline.return_postage,
            candidate.return_postage,
        )
