"""Pure timer decisions: which derived events a dispute is due, and when.

The same functions serve the live sweeper, commands (which record what fell
due before they act) and the simulator, so a replay cannot drift from
production. Inputs are the dispute's facts, the policy's rules and calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import NamedTuple, Protocol

from domain.calendar import BusinessCalendar
from domain.policy import Rules

DEADLINE_MISSED = "DeadlineMissed"
SELLER_RESPONSE_OVERDUE = "SellerResponseOverdue"
REFUND_AUTO_APPROVED = "RefundAutoApproved"
ORDER_AUTO_CANCELLED = "OrderAutoCancelled"
DEADLINE_APPROACHING = "DeadlineApproaching"
PROMISE_BROKEN = "PromiseBroken"
DERIVED_TYPES = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
    DEADLINE_APPROACHING,
    PROMISE_BROKEN,
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
    def delivered_at(self) -> datetime | None: ...
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
    @property
    def promised_ship_date(self) -> date | None: ...


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
    """The end of the seller's response window. None after delivery: a question about
    goods that arrived is a courtesy, and no SellerResponseOverdue follows it (a window
    opened before delivery still runs its course)."""
    since = facts.contact_pending_since
    if since is None:
        return None
    delivered_at = facts.delivered_at
    if delivered_at is not None and since >= delivered_at:
        return None
    return calendar.window_end(since, rules.seller_response_business_days)


def promise_due(facts: TimerFacts, calendar: BusinessCalendar) -> datetime | None:
    """When the seller's unbroken promise breaks: the end (23:59:59 local) of its date."""
    promised = facts.promised_ship_date
    if promised is None or facts.is_shipped:
        return None
    return calendar.end_of_day(promised)


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
    promise_at = promise_due(facts, calendar)
    if promise_at is not None:
        timers.append(Due(promise_at, 5, PROMISE_BROKEN))
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
    promise_at = promise_due(facts, calendar)
    if promise_at is not None and (at is None or promise_at < at):
        at, rank = promise_at, 5
    # A reminder comes before its own deadline; it ranks after the others but a promise.
    early = reminders(facts, rules, response_due, refund_due)
    if early:
        first = min(early)
        if at is None or first.at < at or (first.at == at and rank > 4):
            return first
    if at is None:
        return None
    return Due(at, rank, _KIND_OF_RANK[rank])


_KIND_OF_RANK = (
    DEADLINE_MISSED,
    SELLER_RESPONSE_OVERDUE,
    REFUND_AUTO_APPROVED,
    ORDER_AUTO_CANCELLED,
    DEADLINE_APPROACHING,  # (returned whole by ``reminders``, never by its rank)
    PROMISE_BROKEN,
)


def extended(
    calendar: BusinessCalendar, ship_by: datetime, auto_cancel_at: datetime, new_ship_by: datetime
) -> tuple[datetime, int]:
    """Where the auto-cancel instant goes when ``ship_by`` moves to ``new_ship_by``, and
    by how many business days: as many as fall after ``ship_by``'s local day up to
    ``new_ship_by``'s. It ends that many business days after its own day (23:59:59
    local), and never before ``new_ship_by``."""
    days = calendar.business_days_between(
        calendar.local_date(ship_by), calendar.local_date(new_ship_by)
    )
    moved = calendar.window_end(auto_cancel_at, days) if days else auto_cancel_at
    return max(moved, new_ship_by), days
