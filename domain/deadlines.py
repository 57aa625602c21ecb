"""Pure timer decisions: which derived events a dispute is due, and when.

The same functions serve the live sweeper, commands (which record what fell
due before they act) and the simulator, so a replay cannot drift from
production. Inputs are the dispute's facts, the policy's rules and calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from domain.calendar import BusinessCalendar
from domain.policy import Rules

DEADLINE_MISSED = "DeadlineMissed"
SELLER_RESPONSE_OVERDUE = "SellerResponseOverdue"
REFUND_AUTO_APPROVED = "RefundAutoApproved"
ORDER_AUTO_CANCELLED = "OrderAutoCancelled"
DEADLINE_APPROACHING = "DeadlineApproaching"
DERIVED_TYPES = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
    DEADLINE_APPROACHING,
)
#: The seller's deadlines a reminder (DeadlineApproaching) is recorded before.
SHIP_BY = "ship_by"
SELLER_RESPONSE = "seller_response"
REFUND_DECISION = "refund_decision"
REMINDED_DEADLINES = (SHIP_BY, SELLER_RESPONSE, REFUND_DECISION)


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
    @property
    def placed_at(self) -> datetime: ...
    @property
    def ship_by_since(self) -> datetime: ...
    @property
    def reminded(self) -> Mapping[str, datetime]: ...


class Due(NamedTuple):
    """A derived event to come; tuples order by instant, then rank (cheap to build).

    A reminder also names the deadline it is for and that deadline's instant."""

    at: datetime
    rank: int
    kind: str
    deadline: str = ""
    deadline_at: datetime | None = None


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


def reminders(
    facts: TimerFacts,
    rules: Rules,
    response_due: datetime | None,
    refund_due: datetime | None,
) -> list[Due]:
    """The reminders still to come: ``reminder_hours_before`` each open seller deadline,
    once per deadline, and only when that instant is not before the deadline was set."""
    if not rules.reminder_hours_before:
        return []
    ahead = timedelta(hours=rules.reminder_hours_before)
    reminded = facts.reminded
    found: list[Due] = []
    if not facts.is_shipped:
        ship_by = facts.ship_by
        if facts.deadline_missed_for != ship_by and reminded.get(SHIP_BY) != ship_by:
            at = ship_by - ahead
            if at >= facts.ship_by_since:
                found.append(Due(at, 4, DEADLINE_APPROACHING, SHIP_BY, ship_by))
    since = facts.contact_pending_since
    if response_due is not None and since is not None and not facts.response_overdue:
        at = response_due - ahead
        if at >= since and reminded.get(SELLER_RESPONSE) != response_due:
            found.append(Due(at, 4, DEADLINE_APPROACHING, SELLER_RESPONSE, response_due))
    requested = facts.refund_requested_at
    if refund_due is not None and requested is not None:
        at = refund_due - ahead
        if at >= requested and reminded.get(REFUND_DECISION) != refund_due:
            found.append(Due(at, 4, DEADLINE_APPROACHING, REFUND_DECISION, refund_due))
    return found


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
    response_due = seller_response_due(facts, rules, calendar)
    if not facts.response_overdue and response_due is not None:
        timers.append(Due(response_due, 1, SELLER_RESPONSE_OVERDUE))
    refund_due = refund_response_due(facts, rules, calendar)
    if refund_due is not None:
        timers.append(Due(refund_due, 2, REFUND_AUTO_APPROVED))
    timers += reminders(facts, rules, response_due, refund_due)
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
    response_due = seller_response_due(facts, rules, calendar)
    if (
        not facts.response_overdue
        and response_due is not None
        and (at is None or response_due < at or (response_due == at and rank > 1))
    ):
        at, rank = response_due, 1
    refund_due = refund_response_due(facts, rules, calendar)
    if refund_due is not None and (
        at is None or refund_due < at or (refund_due == at and rank > 2)
    ):
        at, rank = refund_due, 2
    # A reminder comes before its own deadline; it ranks after the others.
    early = reminders(facts, rules, response_due, refund_due)
    if early:
        first = min(early)
        if at is None or first.at < at:
            return first
    if at is None:
        return None
    return Due(at, rank, _KIND_OF_RANK[rank])


_KIND_OF_RANK = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
)
