"""Pure timer decisions: which derived events a dispute is due, and when.

The same functions serve the live sweeper, commands (which record what fell
due before they act) and the simulator, so a replay cannot drift from
production. Inputs are the dispute's facts, the policy's rules and calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol

from domain.calendar import BusinessCalendar
from domain.policy import Rules

DEADLINE_MISSED = "DeadlineMissed"
SELLER_RESPONSE_OVERDUE = "SellerResponseOverdue"
REFUND_AUTO_APPROVED = "RefundAutoApproved"
ORDER_AUTO_CANCELLED = "OrderAutoCancelled"
DERIVED_TYPES = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
)


class TimerFacts(Protocol):
    """What the decisions read from a dispute."""

    @property
    def ship_by(self) -> datetime: ...
    @property
    def auto_cancel_at(self) -> datetime: ...
    @property
    def is_shipped(self) -> bool: ...
    @property
    def is_finished(self) -> bool: ...
    @property
    def deadline_missed_for(self) -> datetime | None: ...
    @property
    def contact_pending_since(self) -> datetime | None: ...
    @property
    def response_overdue(self) -> bool: ...
    @property
    def refund_requested_at(self) -> datetime | None: ...
    @property
    def fully_refunded(self) -> bool: ...


class Due(NamedTuple):
    """A derived event to come; tuples order by instant, then rank (cheap to build)."""

    at: datetime
    rank: int
    kind: str


def seller_response_due(
    facts: TimerFacts, rules: Rules, calendar: BusinessCalendar
) -> datetime | None:
    if facts.contact_pending_since is None:
        return None
    return calendar.window_end(facts.contact_pending_since, rules.seller_response_business_days)


def refund_response_due(
    facts: TimerFacts, rules: Rules, calendar: BusinessCalendar
) -> datetime | None:
    if facts.refund_requested_at is None:
        return None
    return calendar.window_end(facts.refund_requested_at, rules.refund_response_business_days)


def pending(facts: TimerFacts, rules: Rules, calendar: BusinessCalendar) -> list[Due]:
    """Every derived event still to come for these facts, earliest first."""
    if facts.is_finished:
        return []
    timers: list[Due] = []
    if not facts.is_shipped:
        if facts.deadline_missed_for != facts.ship_by:
            timers.append(Due(facts.ship_by, 0, DEADLINE_MISSED))
        if not facts.fully_refunded:
            timers.append(Due(facts.auto_cancel_at, 3, ORDER_AUTO_CANCELLED))
    if not facts.response_overdue:
        due = seller_response_due(facts, rules, calendar)
        if due is not None:
            timers.append(Due(due, 1, SELLER_RESPONSE_OVERDUE))
    due = refund_response_due(facts, rules, calendar)
    if due is not None:
        timers.append(Due(due, 2, REFUND_AUTO_APPROVED))
    timers.sort()
    return timers


def next_due(facts: TimerFacts, rules: Rules, calendar: BusinessCalendar) -> Due | None:
    """The first of :func:`pending`, without building and sorting the whole list.

    Every command, sweep and replay asks this before anything else, so it is
    kept cheap; a property test holds it equal to ``pending(...)[0]``.
    """
    if facts.is_finished:
        return None
    at: datetime | None = None
    rank = 0
    if not facts.is_shipped:
        ship_by = facts.ship_by
        if facts.deadline_missed_for != ship_by:
            at = ship_by
        if not facts.fully_refunded:
            cancel_at = facts.auto_cancel_at
            if at is None or cancel_at < at:
                at, rank = cancel_at, 3
    if not facts.response_overdue:
        due = seller_response_due(facts, rules, calendar)
        if due is not None and (at is None or due < at or (due == at and rank > 1)):
            at, rank = due, 1
    due = refund_response_due(facts, rules, calendar)
    if due is not None and (at is None or due < at or (due == at and rank > 2)):
        at, rank = due, 2
    if at is None:
        return None
    return Due(at, rank, _KIND_OF_RANK[rank])


_KIND_OF_RANK = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
)
