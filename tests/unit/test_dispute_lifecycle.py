"""The Dispute aggregate, given-when-then, in memory (no application, no store).

``given(*events)`` rebuilds a dispute from recorded events; the events come from
``story(...)``, which drives commands on a fresh aggregate. ``when`` is a command
on the rebuilt dispute; ``then`` is ``new_events(d)`` (the types it recorded) or
the named error. Times are Los Angeles wall times: the order is placed on Friday
2026-11-20 10:00, so ship_by is the end of Tuesday 11-24 and the auto-cancel
instant the end of Wednesday 12-02 (Thanksgiving, 11-26, is not a business day).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from application.case_view import case_view
from domain.dispute import Actor, Dispute, dispute_id_for
from domain.errors import (
    AlreadyDelivered,
    AlreadyReviewed,
    AlreadyShipped,
    CaseClosed,
    EventInFuture,
    InterventionNotAllowed,
    InvalidInput,
    InvalidMoney,
    InvalidRating,
    NaiveDatetime,
    NoOpenIntervention,
    NoPendingRefund,
    NotShipped,
    OrderCancelled,
    OrderConflict,
    RefundNotAllowed,
    ReturnNotAllowed,
    ReviewWindowClosed,
    TransitionRefused,
)
from domain.money import Money
from infrastructure.bootstrap import load_policy

#: The bundled policy without its reminders: this module's stories are about the
#: other derived events; DeadlineApproaching has its own (test_reminders.py).
POLICY = load_policy(None).with_changes(
    {"defaults.reminder_hours_before": 0}, version="2026-12-default-no-reminders"
)
#: The bundled reason codes, and one that justifies each outcome.
REASONS = POLICY.reason_codes
CODE = {
    "refund_full": "not_shipped_in_time",
    "refund_partial": "not_shipped_in_time",
    "seller_must_ship": "seller_given_time_to_ship",
    "claim_rejected": "claim_not_supported",
}
LA = ZoneInfo("America/Los_Angeles")
SECOND = timedelta(seconds=1)

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")


def la(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=LA)


PLACED = la(11, 20, 10)  # Friday 10:00 in Los Angeles, 18:00 UTC
SHIP_BY = la(11, 24, 23, 59, 59)  # end of the 2nd business day after the order day
AUTO_CANCEL = la(12, 2, 23, 59, 59)  # end of the 7th business day (Thanksgiving skipped)
SHIPPED = la(11, 20, 15)
DELIVERED = la(11, 21, 12)
MONDAY = la(11, 23, 12)
RESPONSE_DUE_MONDAY = la(11, 25, 23, 59, 59)  # contacted Monday: Tue, Wed
TUESDAY = la(11, 24, 9)
REFUND_DUE_TUESDAY = la(11, 27, 23, 59, 59)  # requested Tuesday: Wed, (Thu off) Fri
AFTER_SHIP_BY = la(11, 25, 9)  # Wednesday morning: the deadline has been missed

# ---- given / when / then -----------------------------------------------------

Step = Callable[[Dispute], object]


def place(
    *, placed_at: datetime = PLACED, now: datetime | None = None, amount: str = "25.00",
    region: str = "US", category: str = "general", order_id: str = "order-1",
) -> Dispute:
    return Dispute.place(
        order_id=order_id,
        buyer_id=BUYER.id,
        seller_id=SELLER.id,
        region=region,
        category=category,
        amount=Money.of(amount, "USD"),
        placed_at=placed_at,
        policy=POLICY,
        actor=PLATFORM,
        now=now or placed_at,
    )


def story(*steps: Step, amount: str = "25.00") -> list[Any]:
    """Drive commands on a fresh aggregate; return every event they recorded."""
    d = place(amount=amount)
    for step in steps:
        step(d)
    return list(d.collect_events())


def given(*events: Any) -> Dispute:
    """Rebuild a dispute from its recorded events (as the repository does)."""
    d: Dispute | None = None
    for event in events:
        d = event.mutate(d)
    assert isinstance(d, Dispute)
    assert not d.pending_events
    return d


def new_events(d: Dispute) -> list[str]:
    return [type(e).__name__ for e in d.collect_events()]


def recorded(d: Dispute) -> list[Any]:
    return list(d.collect_events())


# ---- steps (each one command, at a given instant) ----------------------------


def shipped(at: datetime = SHIPPED) -> Step:
    return lambda d: d.ship("UPS", "1Z999", at, SELLER, at)


def delivered(at: datetime = DELIVERED) -> Step:
    return lambda d: d.deliver(at, PLATFORM, at)


def contacted(at: datetime = MONDAY) -> Step:
    return lambda d: d.contact_seller("where is my order?", "chat", BUYER, at)


def responded(at: datetime) -> Step:
    return lambda d: d.respond("shipping soon", None, POLICY, SELLER, at)


def due(until: datetime) -> Step:
    return lambda d: d.record_due(POLICY, until)


def evidence(at: datetime, kind: str = "chat_log") -> Step:
    return lambda d: d.add_evidence(kind, "screenshot of the chat", None, BUYER, at)


def intervention(at: datetime, evidence_ids: Sequence[str] = ()) -> Step:
    return lambda d: d.request_intervention(
        "not_shipped", "it never shipped", list(evidence_ids), BUYER, at
    )


def ruled(outcome: str, at: datetime, refund: str | None = None) -> Step:
    money = Money.of(refund, "USD") if refund is not None else None
    return lambda d: d.rule(
        outcome, CODE[outcome], money, None, None, MODERATOR, at, reasons=REASONS
    )


def refund_requested(at: datetime, amount: str | None = None) -> Step:
    money = Money.of(amount, "USD") if amount is not None else None
    return lambda d: d.request_refund(money, "changed my mind", BUYER, at)


def refund_decided(approve: bool, at: datetime) -> Step:
    return lambda d: d.decide_refund(approve, None if approve else "used goods", SELLER, at)


def refund_issued(amount: str, at: datetime) -> Step:
    return lambda d: d.issue_refund(Money.of(amount, "USD"), PLATFORM, at)


def return_shipped(at: datetime) -> Step:
    return lambda d: d.return_goods("USPS", "RET-1", BUYER, at)


def return_received(at: datetime) -> Step:
    return lambda d: d.confirm_return_receipt(SELLER, at)


def reviewed(at: datetime, rating: int = 4) -> Step:
    return lambda d: d.review(rating, "ok", POLICY, BUYER, at)


def noted(at: datetime) -> Step:
    return lambda d: d.add_note("seller warned by phone", MODERATOR, at)


def closed(at: datetime) -> Step:
    return lambda d: d.close("resolved", MODERATOR, at)


# Stories reused below.
MISSED = (due(AFTER_SHIP_BY),)
MISSED_AND_RESPONDED = (*MISSED, contacted(la(11, 25, 10)), responded(la(11, 25, 11)))
MISSED_AND_OVERDUE = (*MISSED, contacted(la(11, 25, 10)), due(la(12, 1, 9)))  # due 11-30 end
UNDER_REVIEW = (*MISSED_AND_RESPONDED, intervention(la(11, 25, 12)))
CANCELLED = (due(la(12, 3, 9)),)
DELIVERED_STORY = (shipped(), delivered())
REFUND_WITH_RETURN = (*DELIVERED_STORY, refund_requested(TUESDAY), refund_decided(True, TUESDAY))
# A case closes once settled: nothing owed, nothing on its way (test_case_as_lived.py).
CLOSED = (*DELIVERED_STORY, closed(MONDAY))


def test_given_rebuilds_the_same_state_as_the_commands() -> None:
    driven = place()
    for step in (shipped(), contacted(), noted(MONDAY), delivered(TUESDAY)):
        step(driven)
    events = list(driven.collect_events())
    rebuilt = given(*events)
    assert [type(e).__name__ for e in events] == [
        "OrderPlaced", "OrderShipped", "SellerContacted", "NoteAdded", "OrderDelivered",
    ]
    assert rebuilt.version == driven.version == 5
    assert rebuilt.status == driven.status == "delivered"
    assert rebuilt.contact_pending_since == driven.contact_pending_since == MONDAY
    assert rebuilt.history == driven.history


# ---- placing the order -------------------------------------------------------


def test_place_records_the_order_with_its_deadlines_and_policy() -> None:
    d = place()
    [event] = recorded(d)
    assert type(event).__name__ == "OrderPlaced"
    assert d.id == dispute_id_for("order-1")
    assert (event.actor_role, event.actor_id) == ("platform", "feed")
    assert event.occurred_at == event.placed_at == PLACED
    assert event.ship_by == SHIP_BY
    assert event.auto_cancel_at == AUTO_CANCEL
    assert event.amount == Decimal("25.00") and event.currency == "USD"
    assert event.policy_version == POLICY.version == "2026-12-default-no-reminders"
    assert d.status == "awaiting_shipment"


def test_place_refuses_naive_and_future_instants() -> None:
    with pytest.raises(NaiveDatetime, match="UTC offset"):
        place(placed_at=datetime(2026, 11, 20, 10), now=PLACED)
    with pytest.raises(EventInFuture, match="more than 5 minutes in the future"):
        place(placed_at=PLACED + timedelta(minutes=5, seconds=1), now=PLACED)
    assert place(placed_at=PLACED + timedelta(minutes=5), now=PLACED).placed_at > PLACED


# ---- shipping ----------------------------------------------------------------


def test_ship_records_order_shipped() -> None:
    d = given(*story())
    d.ship("UPS", "1Z999", SHIPPED, SELLER, SHIPPED + timedelta(hours=1))
    [event] = recorded(d)
    assert type(event).__name__ == "OrderShipped"
    assert (event.carrier, event.tracking_number) == ("UPS", "1Z999")
    assert event.shipped_at == event.occurred_at == SHIPPED
    assert event.timestamp == SHIPPED + timedelta(hours=1)
    assert (event.actor_role, event.actor_id) == ("seller", "s-1")
    assert d.status == "shipped"


def test_ship_after_the_deadline_is_still_recorded_and_the_miss_stays() -> None:
    d = given(*story(*MISSED))
    d.ship("UPS", "1Z999", AFTER_SHIP_BY, SELLER, AFTER_SHIP_BY)
    assert new_events(d) == ["OrderShipped"]
    assert d.deadline_missed and d.status == "shipped"
    assert d.record_due(POLICY, la(12, 31)) == []  # shipped: no auto-cancel


def test_ship_twice_is_refused() -> None:
    d = given(*story(shipped()))
    with pytest.raises(AlreadyShipped, match="already shipped"):
        d.ship("DHL", "2", MONDAY, SELLER, MONDAY)
    assert new_events(d) == []


def test_ship_after_auto_cancel_is_refused() -> None:
    d = given(*story(*CANCELLED))
    with pytest.raises(OrderCancelled, match="auto-cancelled"):
        d.ship("UPS", "1", la(12, 3, 10), SELLER, la(12, 3, 10))
    assert new_events(d) == []


def test_ship_on_a_closed_case_is_refused() -> None:
    d = given(*story(*CLOSED))
    with pytest.raises(CaseClosed, match="closed"):
        d.ship("UPS", "1", MONDAY, SELLER, MONDAY)


def test_ship_before_the_order_was_placed_is_refused() -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match="before the order was placed") as error:
        d.ship("UPS", "1", PLACED - SECOND, SELLER, PLACED)
    assert error.value.field == "shipped_at"


def test_ship_with_a_naive_time_is_refused() -> None:
    d = given(*story())
    with pytest.raises(NaiveDatetime, match="UTC offset"):
        d.ship("UPS", "1", datetime(2026, 11, 20, 15), SELLER, SHIPPED)


def test_ship_more_than_five_minutes_ahead_is_refused() -> None:
    d = given(*story())
    with pytest.raises(EventInFuture, match="shipped_at"):
        d.ship("UPS", "1", SHIPPED + timedelta(minutes=5, seconds=1), SELLER, SHIPPED)
    d.ship("UPS", "1", SHIPPED + timedelta(minutes=5), SELLER, SHIPPED)  # the tolerance
    assert new_events(d) == ["OrderShipped"]


def test_ship_needs_carrier_and_tracking_number() -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match="carrier must not be empty"):
        d.ship("  ", "1", SHIPPED, SELLER, SHIPPED)
    with pytest.raises(InvalidInput, match="tracking_number must not be empty"):
        d.ship("UPS", "", SHIPPED, SELLER, SHIPPED)


# ---- delivery ----------------------------------------------------------------


def test_deliver_records_order_delivered() -> None:
    d = given(*story(shipped()))
    d.deliver(DELIVERED, PLATFORM, DELIVERED)
    [event] = recorded(d)
    assert type(event).__name__ == "OrderDelivered"
    assert event.delivered_at == event.occurred_at == DELIVERED
    assert d.status == "delivered"


def test_deliver_before_shipping_is_refused() -> None:
    d = given(*story())
    with pytest.raises(NotShipped, match="has not shipped"):
        d.deliver(DELIVERED, PLATFORM, DELIVERED)


def test_deliver_twice_is_refused() -> None:
    d = given(*story(*DELIVERED_STORY))
    with pytest.raises(AlreadyDelivered, match="was delivered"):
        d.deliver(MONDAY, PLATFORM, MONDAY)


def test_delivered_before_shipped_is_refused() -> None:
    d = given(*story(shipped()))
    with pytest.raises(InvalidInput, match="before the shipment's shipped_at") as error:
        d.deliver(SHIPPED - SECOND, PLATFORM, DELIVERED)
    assert error.value.field == "delivered_at"


def test_deliver_refuses_naive_and_future_times() -> None:
    d = given(*story(shipped()))
    with pytest.raises(NaiveDatetime):
        d.deliver(datetime(2026, 11, 21, 12), PLATFORM, DELIVERED)
    with pytest.raises(EventInFuture):
        d.deliver(DELIVERED + timedelta(minutes=6), PLATFORM, DELIVERED)
    assert new_events(d) == []


# ---- contacting the seller and the seller's response -------------------------


def test_contact_records_seller_contacted_and_opens_the_response_window() -> None:
    d = given(*story(shipped()))
    d.contact_seller("where is it?", "email", BUYER, MONDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "SellerContacted"
    assert (event.message, event.channel, event.occurred_at) == ("where is it?", "email", MONDAY)
    assert d.contact_pending_since == MONDAY
    assert d.status == "awaiting_seller"
    assert [(t.kind, t.at) for t in d.pending_deadlines(POLICY)] == [
        ("SellerResponseOverdue", RESPONSE_DUE_MONDAY)
    ]


def test_contact_refuses_an_unknown_channel_and_an_empty_message() -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match="channel must be one of"):
        d.contact_seller("hello", "pigeon", BUYER, MONDAY)
    with pytest.raises(InvalidInput, match="message must not be empty"):
        d.contact_seller("   ", "chat", BUYER, MONDAY)


def test_a_second_contact_while_one_is_pending_keeps_the_first_window() -> None:
    d = given(*story(shipped(), contacted(MONDAY)))
    d.contact_seller("hello again", "chat", BUYER, TUESDAY)
    assert new_events(d) == ["SellerContacted"]
    assert d.contact_pending_since == MONDAY
    assert d.contacts == 2


def test_respond_clears_the_pending_contact() -> None:
    d = given(*story(shipped(), contacted(MONDAY)))
    d.respond("on its way", date(2026, 11, 24), POLICY, SELLER, TUESDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "SellerResponded"
    assert event.promised_ship_date == "2026-11-24"
    assert d.contact_pending_since is None
    assert d.responded is True
    assert d.last_response is not None and d.last_response.contact_at == MONDAY
    assert d.pending_deadlines(POLICY) == []


def test_respond_resets_an_overdue_response_and_a_new_contact_opens_a_new_window() -> None:
    d = given(*story(shipped(), contacted(MONDAY), due(la(11, 27, 9))))
    assert d.response_overdue
    d.respond("sorry, late", None, POLICY, SELLER, la(11, 27, 10))
    assert (d.response_overdue, d.contact_pending_since) == (False, None)
    d.contact_seller("still nothing", "chat", BUYER, la(11, 30, 9))
    assert new_events(d) == ["SellerResponded", "SellerContacted"]
    assert [(t.kind, t.at) for t in d.pending_deadlines(POLICY)] == [
        ("SellerResponseOverdue", la(12, 2, 23, 59, 59))
    ]


def test_respond_refuses_a_promised_date_before_the_order() -> None:
    d = given(*story(contacted()))
    with pytest.raises(InvalidInput, match="promised_ship_date is before the order date"):
        d.respond("soon", date(2026, 11, 1), POLICY, SELLER, MONDAY)


def test_contact_and_respond_are_refused_once_cancelled_or_closed() -> None:
    cancelled = given(*story(*CANCELLED))
    with pytest.raises(OrderCancelled):
        cancelled.contact_seller("hello", "chat", BUYER, la(12, 3, 10))
    with pytest.raises(OrderCancelled):
        cancelled.respond("hello", None, POLICY, SELLER, la(12, 3, 10))
    closed_case = given(*story(*CLOSED))
    with pytest.raises(CaseClosed):
        closed_case.contact_seller("hello", "chat", BUYER, TUESDAY)


# ---- evidence ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["chat_log", "order_record", "tracking", "photo", "other"])
@pytest.mark.parametrize("actor", [BUYER, SELLER, MODERATOR], ids=lambda a: a.role)
def test_each_evidence_kind_is_recorded(kind: str, actor: Actor) -> None:
    d = given(*story(contacted()))
    evidence_id = d.add_evidence(kind, " a photo of the box ", "s3://x", actor, TUESDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "EvidenceAdded"
    assert evidence_id == event.evidence_id == "ev-3"
    assert (event.kind, event.description, event.reference) == (
        kind, "a photo of the box", "s3://x",
    )
    assert d.evidence["ev-3"].added_by == actor.role


def test_evidence_ids_are_unique_and_unknown_kinds_refused() -> None:
    d = given(*story(evidence(MONDAY), evidence(MONDAY, "photo")))
    assert sorted(d.evidence) == ["ev-2", "ev-3"]
    with pytest.raises(InvalidInput, match="kind must be one of"):
        d.add_evidence("video", "x", None, BUYER, TUESDAY)
    with pytest.raises(InvalidInput, match="description must not be empty"):
        d.add_evidence("photo", "", None, BUYER, TUESDAY)


def test_evidence_after_close_is_refused_but_allowed_after_cancel() -> None:
    with pytest.raises(CaseClosed):
        given(*story(*CLOSED)).add_evidence("photo", "x", None, BUYER, TUESDAY)
    d = given(*story(*CANCELLED))
    d.add_evidence("photo", "x", None, BUYER, la(12, 3, 10))
    assert new_events(d) == ["EvidenceAdded"]


# ---- intervention ------------------------------------------------------------


def test_intervention_before_the_deadline_was_missed_is_refused() -> None:
    d = given(*story(contacted(), responded(TUESDAY)))
    with pytest.raises(InterventionNotAllowed, match="only after the shipping deadline"):
        d.request_intervention("not_shipped", "late", [], BUYER, TUESDAY)
    assert new_events(d) == []


def test_intervention_after_the_miss_needs_a_response_or_an_overdue_one() -> None:
    d = given(*story(*MISSED, contacted(la(11, 25, 10))))
    with pytest.raises(InterventionNotAllowed, match="contact the seller first"):
        d.request_intervention("not_shipped", "late", [], BUYER, la(11, 25, 11))
    assert new_events(d) == []


def test_intervention_after_the_miss_without_any_contact_is_refused() -> None:
    d = given(*story(*MISSED))
    with pytest.raises(InterventionNotAllowed, match="contact the seller first"):
        d.request_intervention("not_shipped", "late", [], BUYER, la(11, 25, 11))


def test_intervention_is_allowed_after_the_seller_responded() -> None:
    d = given(*story(*MISSED_AND_RESPONDED, evidence(la(11, 25, 11))))
    ev = next(iter(d.evidence))
    d.request_intervention("not_shipped", "still nothing", [ev, ev], BUYER, la(11, 25, 12))
    [event] = recorded(d)
    assert type(event).__name__ == "InterventionRequested"
    assert (event.reason, event.statement, event.evidence_ids) == (
        "not_shipped", "still nothing", [ev],
    )
    assert d.status == "under_review"
    assert d.intervention is not None and d.intervention.status == "open"


def test_intervention_is_allowed_after_the_response_is_overdue() -> None:
    d = given(*story(*MISSED_AND_OVERDUE))
    assert d.response_overdue
    d.request_intervention("seller_unresponsive", "no answer", [], BUYER, la(12, 1, 10))
    assert new_events(d) == ["InterventionRequested"]


def test_intervention_is_allowed_after_a_refund_was_denied() -> None:
    d = given(*story(*DELIVERED_STORY, refund_requested(MONDAY), refund_decided(False, TUESDAY)))
    assert not d.deadline_missed
    d.request_intervention("refund_denied", "item broken", [], BUYER, TUESDAY)
    assert new_events(d) == ["InterventionRequested"]


def test_a_second_intervention_is_refused() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(InterventionNotAllowed, match="is under review already"):
        d.request_intervention("other", "again", [], BUYER, la(11, 25, 13))
    ruled_case = given(*story(*UNDER_REVIEW, ruled("claim_rejected", la(11, 25, 13))))
    with pytest.raises(InterventionNotAllowed, match="was ruled on already"):
        ruled_case.request_intervention("other", "again", [], BUYER, la(11, 25, 14))


def test_intervention_with_unknown_evidence_ids_is_refused() -> None:
    d = given(*story(*MISSED_AND_RESPONDED, evidence(la(11, 25, 11))))
    with pytest.raises(InvalidInput, match="unknown evidence ids: ev-99") as error:
        d.request_intervention("not_shipped", "x", ["ev-99"], BUYER, la(11, 25, 12))
    assert error.value.field == "evidence_ids"
    assert new_events(d) == []


def test_intervention_after_the_refund_was_paid_is_refused() -> None:
    d = given(
        *story(*MISSED, refund_requested(la(11, 25, 10)), refund_decided(True, la(11, 25, 11)),
               refund_issued("25.00", la(11, 25, 12)), contacted(la(11, 25, 13)),
               responded(la(11, 25, 14)))
    )
    with pytest.raises(InterventionNotAllowed, match="already paid"):
        d.request_intervention("not_shipped", "x", [], BUYER, la(11, 25, 15))


# ---- rulings -----------------------------------------------------------------

RULED_AT = la(11, 25, 13)


def test_ruling_without_an_open_intervention_is_refused() -> None:
    d = given(*story(*MISSED_AND_RESPONDED))
    with pytest.raises(NoOpenIntervention, match="no open intervention"):
        d.rule("claim_rejected", "claim_not_supported", None, None, None, MODERATOR, RULED_AT,
               reasons=REASONS)
    ruled_case = given(*story(*UNDER_REVIEW, ruled("claim_rejected", RULED_AT)))
    with pytest.raises(NoOpenIntervention):
        ruled_case.rule("claim_rejected", "claim_not_supported", None, None, None, MODERATOR,
                        RULED_AT, reasons=REASONS)


def test_ruling_refund_full_approves_the_whole_amount() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.rule("refund_full", "not_shipped_in_time", None, None, "sorry", MODERATOR, RULED_AT,
           reasons=REASONS)
    [event, owed] = recorded(d)
    assert type(owed).__name__ == "RefundDue"
    assert (owed.amount, owed.payee, owed.reason) == (Decimal("25.00"), "buyer", "ruling")
    assert type(event).__name__ == "InterventionResolved"
    assert (event.outcome, event.reason_code, event.note) == (
        "refund_full", "not_shipped_in_time", "sorry",
    )
    assert event.refund_amount == Decimal("25.00") and event.new_ship_by is None
    assert d.intervention is not None and d.intervention.status == "resolved"
    assert d.refund is not None
    assert (d.refund.status, d.refund.amount, d.refund.return_required) == (
        "approved", Decimal("25.00"), False,
    )


def test_ruling_refund_full_refuses_an_explicit_amount() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(InvalidInput, match="omit it"):
        d.rule("refund_full", "not_shipped_in_time", Money.of("25.00", "USD"), None, None,
               MODERATOR, RULED_AT, reasons=REASONS)


def test_ruling_refund_partial_records_the_amount() -> None:
    d = given(*story(*UNDER_REVIEW))
    d.rule("refund_partial", "not_shipped_in_time", Money.of("10.50", "USD"), None, None,
           MODERATOR, RULED_AT, reasons=REASONS)
    [event, owed] = recorded(d)
    assert type(owed).__name__ == "RefundDue" and owed.amount == Decimal("10.50")
    assert event.outcome == "refund_partial" and event.refund_amount == Decimal("10.50")
    assert d.refund is not None and d.refund.amount == Decimal("10.50")


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (None, None, "refund_amount is required"),
        ("25.01", "USD", "at most 25.00 USD"),
        ("0.00", "USD", "more than zero"),
        ("10.00", "EUR", "the order is in USD, not EUR"),
    ],
)
def test_ruling_refund_partial_checks_the_amount(
    amount: str | None, currency: str | None, message: str
) -> None:
    d = given(*story(*UNDER_REVIEW))
    money = Money.of(amount, currency) if amount is not None and currency else None
    with pytest.raises(InvalidInput, match=message):
        d.rule("refund_partial", "not_shipped_in_time", money, None, None, MODERATOR, RULED_AT,
               reasons=REASONS)
    assert new_events(d) == []


def test_ruling_amount_errors_name_the_refund_amount_field() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(InvalidInput) as error:
        d.rule("refund_partial", "not_shipped_in_time", Money.of("99.00", "USD"), None, None,
               MODERATOR, RULED_AT, reasons=REASONS)
    assert error.value.field == "refund_amount"


def test_ruling_seller_must_ship_moves_ship_by_and_rearms_the_deadline() -> None:
    d = given(*story(*UNDER_REVIEW))
    new_ship_by = la(11, 30, 23, 59, 59)
    d.rule("seller_must_ship", "seller_given_time_to_ship", None, new_ship_by, None, MODERATOR,
           RULED_AT, reasons=REASONS)
    [event] = recorded(d)
    assert event.outcome == "seller_must_ship" and event.new_ship_by == new_ship_by
    assert event.refund_amount is None and d.refund is None
    assert d.ship_by == new_ship_by and d.status != "overdue"
    assert d.record_due(POLICY, new_ship_by - SECOND) == []
    assert d.record_due(POLICY, new_ship_by) == ["DeadlineMissed"]
    [missed] = recorded(d)
    assert missed.ship_by == missed.occurred_at == new_ship_by
    assert d.status == "seller_responded"


@pytest.mark.parametrize(
    ("new_ship_by", "error", "message"),
    [
        (None, InvalidInput, "needs new_ship_by"),
        (datetime(2026, 11, 30, 12), NaiveDatetime, "UTC offset"),
        (RULED_AT, InvalidInput, "must be in the future"),
        (AUTO_CANCEL, InvalidInput, "before the auto-cancel instant"),
    ],
)
def test_ruling_seller_must_ship_checks_new_ship_by(
    new_ship_by: datetime | None, error: type[Exception], message: str
) -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(error, match=message):
        d.rule("seller_must_ship", "seller_given_time_to_ship", None, new_ship_by, None, MODERATOR,
               RULED_AT, reasons=REASONS)
    assert new_events(d) == []


def test_ruling_seller_must_ship_after_shipment_is_refused() -> None:
    d = given(*story(*UNDER_REVIEW, shipped(la(11, 25, 12, 30))))
    with pytest.raises(AlreadyShipped, match="seller_must_ship does not apply"):
        d.rule("seller_must_ship", "seller_given_time_to_ship", None, la(11, 30), None, MODERATOR,
               RULED_AT, reasons=REASONS)


def test_ruling_claim_rejected_has_no_refund_and_no_new_deadline() -> None:
    d = given(*story(*UNDER_REVIEW))
    with pytest.raises(InvalidInput, match="refund_amount does not apply"):
        d.rule("claim_rejected", "claim_not_supported", Money.of("1.00", "USD"), None, None,
               MODERATOR, RULED_AT, reasons=REASONS)
    with pytest.raises(InvalidInput, match="new_ship_by does not apply"):
        d.rule("claim_rejected", "claim_not_supported", None, la(11, 30), None, MODERATOR,
               RULED_AT, reasons=REASONS)
    with pytest.raises(InvalidInput, match="outcome must be one of"):
        d.rule("refund_double", "x", None, None, None, MODERATOR, RULED_AT, reasons=REASONS)
    d.rule("claim_rejected", "claim_not_supported", None, None, None, MODERATOR, RULED_AT,
           reasons=REASONS)
    [event] = recorded(d)
    assert (event.outcome, event.refund_amount, event.new_ship_by) == ("claim_rejected", None, None)
    assert d.refund is None and d.intervention is not None
    assert d.intervention.outcome == "claim_rejected"


# ---- refunds -----------------------------------------------------------------


def test_refund_request_without_amount_asks_for_the_full_amount() -> None:
    d = given(*story(shipped()))
    d.request_refund(None, "too slow", BUYER, MONDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "RefundRequested"
    assert (event.amount, event.reason, event.return_required) == (
        Decimal("25.00"), "too slow", False,
    )
    assert d.status == "refund_requested"


@pytest.mark.parametrize(
    ("steps", "return_required"),
    [((), False), ((shipped(),), False), (DELIVERED_STORY, True)],
    ids=["not-shipped", "shipped", "delivered"],
)
def test_a_return_is_required_iff_the_goods_were_delivered(
    steps: tuple[Step, ...], return_required: bool
) -> None:
    d = given(*story(*steps))
    d.request_refund(Money.of("5.00", "USD"), "broken", BUYER, MONDAY)
    [event] = recorded(d)
    assert event.return_required is return_required
    assert event.amount == Decimal("5.00")


def test_refund_request_twice_is_refused() -> None:
    d = given(*story(refund_requested(MONDAY)))
    with pytest.raises(RefundNotAllowed, match="already requested"):
        d.request_refund(None, "again", BUYER, TUESDAY)


def test_refund_request_after_a_full_refund_is_refused_but_the_rest_may_be_asked() -> None:
    d = given(*story(refund_requested(MONDAY), refund_decided(True, MONDAY),
                     refund_issued("25.00", TUESDAY)))
    with pytest.raises(RefundNotAllowed, match="refunded in full already"):
        d.request_refund(None, "again", BUYER, TUESDAY)
    partly = given(*story(refund_requested(MONDAY, "5.00"), refund_decided(True, MONDAY),
                          refund_issued("5.00", TUESDAY)))
    partly.request_refund(None, "the rest", BUYER, TUESDAY)  # the rest may be asked for
    with pytest.raises(RefundNotAllowed, match="already requested"):
        partly.request_refund(None, "again", BUYER, TUESDAY)


def test_refund_request_after_a_denial_is_refused() -> None:
    d = given(*story(refund_requested(MONDAY), refund_decided(False, MONDAY)))
    with pytest.raises(RefundNotAllowed, match="ask the platform to step in"):
        d.request_refund(None, "again", BUYER, TUESDAY)


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("25.01", "USD", "at most 25.00 USD"),
        ("10.00", "EUR", "the order is in USD, not EUR"),
        ("0", "USD", "more than zero"),
    ],
)
def test_refund_request_checks_the_amount(amount: str, currency: str, message: str) -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match=message):
        d.request_refund(Money.of(amount, currency), "x", BUYER, MONDAY)
    assert new_events(d) == []


@pytest.mark.parametrize(
    "amount", ["1.001", "12.5x", "-1.00", "NaN", "9" * 40, "1e40", "1" * 30 + ".5"]
)
def test_refund_amounts_must_be_valid_money(amount: str) -> None:
    with pytest.raises(InvalidMoney, match="amount"):
        Money.of(amount, "USD")


def test_refund_amounts_must_not_be_floats_or_bools() -> None:
    with pytest.raises(InvalidMoney, match="decimal string"):
        Money.of(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidMoney, match="decimal string"):
        Money.of(True, "USD")
    assert Money.of("12.5", "USD").to_dict() == {"amount": "12.50", "currency": "USD"}


def test_seller_approves_a_refund() -> None:
    d = given(*story(refund_requested(MONDAY)))
    d.decide_refund(True, None, SELLER, TUESDAY)
    [event, owed] = recorded(d)
    assert type(event).__name__ == "RefundApproved" and event.reason is None
    assert type(owed).__name__ == "RefundDue" and owed.reason == "seller_approved"
    assert owed.due_id == f"{d.id}:1" and owed.occurred_at == TUESDAY
    assert d.refund is not None
    assert (d.refund.status, d.refund.decided_by) == ("approved", "seller")


def test_seller_denies_a_refund_and_must_say_why() -> None:
    d = given(*story(refund_requested(MONDAY)))
    with pytest.raises(InvalidInput, match="say why the refund is denied"):
        d.decide_refund(False, "  ", SELLER, TUESDAY)
    d.decide_refund(False, "item was used", SELLER, TUESDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "RefundDenied" and event.reason == "item was used"
    assert d.refund is not None and d.refund.status == "denied"


def test_deciding_without_a_pending_request_is_refused() -> None:
    with pytest.raises(NoPendingRefund):
        given(*story()).decide_refund(True, None, SELLER, MONDAY)
    with pytest.raises(NoPendingRefund):
        given(*story(refund_requested(MONDAY), refund_decided(True, MONDAY))).decide_refund(
            False, "changed my mind", SELLER, TUESDAY
        )


def test_issuing_the_approved_refund_marks_it_paid() -> None:
    d = given(*story(refund_requested(MONDAY, "10.00"), refund_decided(True, MONDAY)))
    d.issue_refund(Money.of("10.00", "USD"), PLATFORM, TUESDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "RefundIssued" and event.amount == Decimal("10.00")
    # 10.00 of 25.00, the order not shipped: its deadlines still run.
    assert d.refunded_total == Decimal("10.00") and d.status == "partially_refunded"


def test_issuing_a_refund_that_was_not_approved_is_refused() -> None:
    with pytest.raises(RefundNotAllowed, match="no approved refund"):
        given(*story(refund_requested(MONDAY))).issue_refund(
            Money.of("25.00", "USD"), PLATFORM, TUESDAY
        )


def test_issuing_the_wrong_amount_is_refused() -> None:
    d = given(*story(refund_requested(MONDAY, "10.00"), refund_decided(True, MONDAY)))
    with pytest.raises(InvalidInput, match=r"the approved refund is 10\.00 USD"):
        d.issue_refund(Money.of("9.99", "USD"), PLATFORM, TUESDAY)
    assert new_events(d) == []


def test_issuing_before_the_return_was_received_is_refused() -> None:
    d = given(*story(*REFUND_WITH_RETURN))
    with pytest.raises(RefundNotAllowed, match="returned and received"):
        d.issue_refund(Money.of("25.00", "USD"), PLATFORM, TUESDAY)
    shipped_back = given(*story(*REFUND_WITH_RETURN, return_shipped(TUESDAY)))
    with pytest.raises(RefundNotAllowed, match="returned and received"):
        shipped_back.issue_refund(Money.of("25.00", "USD"), PLATFORM, TUESDAY)


# ---- returns -----------------------------------------------------------------


def test_return_shipped_then_received_then_refund_issued() -> None:
    d = given(*story(*REFUND_WITH_RETURN))
    d.return_goods("USPS", "RET-9", BUYER, la(11, 24, 10))
    assert d.status == "return_in_transit"
    d.confirm_return_receipt(SELLER, la(11, 27, 10))
    d.issue_refund(Money.of("25.00", "USD"), PLATFORM, la(11, 27, 11))
    events = recorded(d)
    assert [type(e).__name__ for e in events] == [
        "ReturnShipped", "ReturnReceived", "RefundDue", "RefundIssued"
    ]
    assert events[3].due_id == events[2].due_id
    assert (events[0].carrier, events[0].tracking_number) == ("USPS", "RET-9")
    assert d.return_ is not None and d.return_.received_at == la(11, 27, 10)
    assert d.status == "refunded"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((refund_requested(MONDAY), refund_decided(True, MONDAY)), "only goods that were"),
        (DELIVERED_STORY, "needs an approved refund"),
        ((*DELIVERED_STORY, refund_requested(MONDAY)), "needs an approved refund"),
        ((*REFUND_WITH_RETURN, return_shipped(TUESDAY)), "already sent back"),
    ],
    ids=["not-delivered", "no-refund", "refund-not-approved", "twice"],
)
def test_shipping_a_return_is_refused(steps: tuple[Step, ...], message: str) -> None:
    d = given(*story(*steps))
    with pytest.raises(ReturnNotAllowed, match=message):
        d.return_goods("USPS", "RET-1", BUYER, la(11, 24, 12))


def test_receiving_a_return_is_refused_without_one_or_twice() -> None:
    with pytest.raises(ReturnNotAllowed, match="no return has been shipped"):
        given(*story(*REFUND_WITH_RETURN)).confirm_return_receipt(SELLER, TUESDAY)
    received = given(*story(*REFUND_WITH_RETURN, return_shipped(TUESDAY), return_received(TUESDAY)))
    with pytest.raises(ReturnNotAllowed, match="already received"):
        received.confirm_return_receipt(SELLER, TUESDAY)


# ---- reviews -----------------------------------------------------------------


@pytest.mark.parametrize("rating", [1, 5])
def test_review_records_rating_and_comment(rating: int) -> None:
    d = given(*story(*DELIVERED_STORY))
    d.review(rating, " great ", POLICY, BUYER, MONDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "Reviewed"
    assert (event.rating, event.comment) == (rating, "great")
    assert d.buyer_review is not None and d.buyer_review.rating == rating


@pytest.mark.parametrize("rating", [0, 6, -1, True, "5", 4.0, None])
def test_review_refuses_ratings_outside_one_to_five(rating: Any) -> None:
    d = given(*story(*DELIVERED_STORY))
    with pytest.raises(InvalidRating, match="rating must be a whole number from 1 to 5") as error:
        d.review(rating, "x", POLICY, BUYER, MONDAY)
    assert error.value.field == "rating"
    assert new_events(d) == []


def test_review_twice_is_refused() -> None:
    d = given(*story(*DELIVERED_STORY, reviewed(MONDAY)))
    with pytest.raises(AlreadyReviewed, match="already reviewed"):
        d.review(1, "changed my mind", POLICY, BUYER, TUESDAY)


def test_review_window_closes_sixty_days_after_delivery_or_order() -> None:
    d = given(*story(*DELIVERED_STORY))
    with pytest.raises(ReviewWindowClosed, match="60 days after delivery"):
        d.review(3, "x", POLICY, BUYER, DELIVERED + timedelta(days=60) + SECOND)
    d.review(3, "x", POLICY, BUYER, DELIVERED + timedelta(days=60))
    assert new_events(d) == ["Reviewed"]
    never_shipped = given(*story(*CANCELLED))
    with pytest.raises(ReviewWindowClosed, match="60 days after the order"):
        never_shipped.review(1, "x", POLICY, BUYER, PLACED + timedelta(days=60) + SECOND)


# ---- internal notes ----------------------------------------------------------


def test_notes_are_recorded_and_hidden_from_buyer_and_seller() -> None:
    d = given(*story(contacted(MONDAY)))
    d.add_note("  seller warned  ", MODERATOR, TUESDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "NoteAdded" and event.text == "seller warned"
    with pytest.raises(InvalidInput, match="text must not be empty"):
        d.add_note(" ", MODERATOR, TUESDAY)

    def timeline(actor: Actor) -> list[str]:
        return [row["type"] for row in case_view(d, actor, POLICY, TUESDAY)["timeline"]]

    assert timeline(BUYER) == ["OrderPlaced", "SellerContacted"]
    assert timeline(SELLER) == ["OrderPlaced", "SellerContacted"]
    assert timeline(MODERATOR) == ["OrderPlaced", "SellerContacted", "NoteAdded"]


# ---- closing -----------------------------------------------------------------


def test_close_records_case_closed_and_stops_the_timers() -> None:
    d = given(*story())
    d.close("seller banned", MODERATOR, MONDAY, cancel_order=True)  # a running order
    *_, event = recorded(d)
    assert type(event).__name__ == "CaseClosed" and event.reason == "seller banned"
    assert d.status == "closed"
    assert d.pending_deadlines(POLICY) == []
    assert d.record_due(POLICY, la(12, 31)) == []


def test_close_twice_is_refused() -> None:
    d = given(*story(*CLOSED))
    with pytest.raises(CaseClosed, match="was closed on"):
        d.close("again", MODERATOR, TUESDAY)


@pytest.mark.parametrize(
    "command",
    [
        lambda d: d.contact_seller("x", "chat", BUYER, TUESDAY),
        lambda d: d.respond("x", None, POLICY, SELLER, TUESDAY),
        lambda d: d.add_evidence("photo", "x", None, BUYER, TUESDAY),
        lambda d: d.request_refund(None, "x", BUYER, TUESDAY),
        lambda d: d.request_intervention("other", "x", [], BUYER, TUESDAY),
        lambda d: d.ship("UPS", "1", TUESDAY, SELLER, TUESDAY),
    ],
    ids=["contact", "respond", "evidence", "refund", "intervention", "ship"],
)
def test_after_close_commands_are_refused(command: Step) -> None:
    d = given(*story(*CLOSED))
    with pytest.raises(CaseClosed):
        command(d)
    assert new_events(d) == []


def test_after_close_notes_and_reviews_are_still_accepted() -> None:
    d = given(*story(*CLOSED))
    d.add_note("closed after a phone call", MODERATOR, TUESDAY)
    d.review(2, "slow", POLICY, BUYER, TUESDAY)
    assert new_events(d) == ["NoteAdded", "Reviewed"]
    assert d.status == "closed"


# ---- derived events: the policy's timers -------------------------------------

# (given story, the derived type, its instant)
TIMERS: dict[str, tuple[tuple[Step, ...], datetime]] = {
    "DeadlineMissed": ((), SHIP_BY),
    "SellerResponseOverdue": ((shipped(), contacted(MONDAY)), RESPONSE_DUE_MONDAY),
    "RefundAutoApproved": ((*DELIVERED_STORY, refund_requested(TUESDAY)), REFUND_DUE_TUESDAY),
    "OrderAutoCancelled": (MISSED, AUTO_CANCEL),
}


@pytest.mark.parametrize("kind", list(TIMERS))
def test_nothing_is_due_one_second_before_the_deadline(kind: str) -> None:
    steps, instant = TIMERS[kind]
    d = given(*story(*steps))
    assert d.record_due(POLICY, instant - SECOND) == []
    assert new_events(d) == []


@pytest.mark.parametrize(
    "offset", [timedelta(0), SECOND, timedelta(days=1)], ids=["at", "1s-after", "1d-after"]
)
@pytest.mark.parametrize("kind", list(TIMERS))
def test_the_derived_event_is_recorded_at_its_deadline(kind: str, offset: timedelta) -> None:
    steps, instant = TIMERS[kind]
    d = given(*story(*steps))
    sweep = instant + offset
    assert d.record_due(POLICY, sweep, sweep + timedelta(minutes=3)) == [kind]
    event, *owed = recorded(d)
    # An auto-cancel approves its refund: the money falls due with it.
    assert [type(e).__name__ for e in owed] == (
        ["RefundDue"] if kind == "OrderAutoCancelled" else []
    )
    assert type(event).__name__ == kind
    assert event.occurred_at == instant  # the deadline itself, not when the sweep ran
    assert event.timestamp == sweep + timedelta(minutes=3)  # recorded_at: when it was noticed
    assert event.policy_version == POLICY.version
    assert (event.actor_role, event.actor_id) == ("system", "policy")


def test_derived_events_carry_their_facts() -> None:
    missed = given(*story())
    missed.record_due(POLICY, SHIP_BY)
    assert recorded(missed)[0].ship_by == SHIP_BY
    overdue = given(*story(*TIMERS["SellerResponseOverdue"][0]))
    overdue.record_due(POLICY, RESPONSE_DUE_MONDAY)
    assert recorded(overdue)[0].contacted_at == MONDAY
    assert overdue.response_overdue and overdue.status == "awaiting_seller"
    approved = given(*story(*TIMERS["RefundAutoApproved"][0]))
    approved.record_due(POLICY, REFUND_DUE_TUESDAY)
    assert recorded(approved)[0].amount == Decimal("25.00")
    assert approved.refund is not None
    assert (approved.refund.status, approved.refund.decided_by) == ("approved", "policy")


def test_auto_cancel_refunds_the_full_amount() -> None:
    d = given(*story(*MISSED))
    d.record_due(POLICY, AUTO_CANCEL)
    [event, owed] = recorded(d)
    assert event.refund_amount == Decimal("25.00") and event.records_payment is False
    assert d.status == "cancelled" and d.cancelled_at == AUTO_CANCEL
    # Approved, not paid: the platform owes it until it reports the payment.
    assert d.refund is not None and d.refund.status == "approved"
    assert d.refund.paid_amount is None and d.refunded_total == Decimal("0.00")
    assert (owed.amount, owed.reason, owed.occurred_at) == (
        Decimal("25.00"), "auto_cancelled", AUTO_CANCEL
    )


def test_auto_cancel_carries_the_remaining_refund() -> None:
    d = given(
        *story(*UNDER_REVIEW, ruled("refund_partial", RULED_AT, "10.00"),
               refund_issued("10.00", la(11, 25, 14)))
    )
    d.record_due(POLICY, AUTO_CANCEL)
    [event, owed] = recorded(d)
    assert type(event).__name__ == "OrderAutoCancelled"
    assert event.refund_amount == Decimal("15.00") and owed.amount == Decimal("15.00")
    assert d.refunded_total == Decimal("10.00") and d.remaining_refundable == 0


def test_record_due_records_everything_due_in_time_order() -> None:
    d = given(*story(contacted(MONDAY)))
    assert d.record_due(POLICY, la(12, 31)) == [
        "DeadlineMissed", "SellerResponseOverdue", "OrderAutoCancelled",
    ]
    assert [e.occurred_at for e in recorded(d)] == [
        SHIP_BY, RESPONSE_DUE_MONDAY, AUTO_CANCEL, AUTO_CANCEL
    ]


def test_record_due_twice_records_nothing_new() -> None:
    d = given(*story(contacted(MONDAY)))
    first = d.record_due(POLICY, la(12, 31))
    assert len(first) == 3
    assert d.record_due(POLICY, la(12, 31)) == []
    rebuilt = given(*story(contacted(MONDAY), due(la(12, 31))))
    assert rebuilt.record_due(POLICY, la(12, 31)) == []
    assert new_events(rebuilt) == []


def test_a_shipment_stops_the_shipping_timers() -> None:
    d = given(*story(shipped()))
    assert d.record_due(POLICY, la(12, 31)) == []


def test_a_fully_refunded_order_is_not_auto_cancelled() -> None:
    d = given(*story(refund_requested(MONDAY), refund_decided(True, MONDAY),
                     refund_issued("25.00", TUESDAY)))
    assert d.record_due(POLICY, la(12, 31)) == ["DeadlineMissed"]


# ---- status ------------------------------------------------------------------

STATUS_STORIES: dict[str, tuple[Step, ...]] = {
    "awaiting_shipment": (),
    "shipped": (shipped(),),
    "delivered": DELIVERED_STORY,
    "overdue": MISSED,
    "awaiting_seller": (contacted(),),
    "seller_responded": (*MISSED_AND_RESPONDED,),
    "under_review": UNDER_REVIEW,
    "refund_requested": (*DELIVERED_STORY, refund_requested(TUESDAY)),
    "refund_approved": REFUND_WITH_RETURN,
    "partially_refunded": (refund_requested(MONDAY, "10.00"), refund_decided(True, MONDAY),
                           refund_issued("10.00", TUESDAY)),
    "return_in_transit": (*REFUND_WITH_RETURN, return_shipped(TUESDAY)),
    "refunded": (*REFUND_WITH_RETURN, return_shipped(TUESDAY), return_received(TUESDAY),
                 refund_issued("25.00", TUESDAY)),
    "cancelled": CANCELLED,
    "closed": CLOSED,
}


def test_every_api_status_has_a_story() -> None:
    from domain.dispute import STATUSES

    assert set(STATUS_STORIES) | {"under_appeal"} == set(STATUSES)  # appeals: their story


@pytest.mark.parametrize("status", list(STATUS_STORIES))
def test_status(status: str) -> None:
    assert given(*story(*STATUS_STORIES[status])).status == status


def test_overdue_outranks_awaiting_shipment_only_while_not_shipped() -> None:
    d = given(*story(*MISSED, shipped(AFTER_SHIP_BY), delivered(la(11, 27))))
    assert d.status == "delivered"


# ---- next actions per role ---------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "role", "actions"),
    [
        ((), "buyer", ["contact_seller", "request_refund", "add_evidence", "review"]),
        ((), "seller", ["ship", "respond", "add_evidence"]),
        ((), "platform", ["ship", "close"]),
        ((), "moderator",
         ["claim", "extend_ship_by", "add_evidence", "request_evidence", "add_note", "close"]),
        ((), "analyst", []),
        ((shipped(),), "platform", ["deliver"]),  # no close while the goods travel
        (DELIVERED_STORY, "platform", ["close"]),
        (MISSED_AND_RESPONDED, "buyer",
         ["contact_seller", "request_refund", "request_intervention", "add_evidence", "review"]),
        (UNDER_REVIEW, "moderator",
         ["claim", "rule", "extend_ship_by", "add_evidence", "request_evidence", "add_note",
          "close"]),
        (UNDER_REVIEW, "buyer", ["contact_seller", "request_refund", "add_evidence", "review"]),
        ((*DELIVERED_STORY, refund_requested(TUESDAY)), "seller",
         ["respond", "decide_refund", "add_evidence"]),
        (REFUND_WITH_RETURN, "buyer", ["contact_seller", "add_evidence", "return_goods", "review"]),
        ((*REFUND_WITH_RETURN, return_shipped(TUESDAY)), "seller",
         ["respond", "confirm_return_receipt", "add_evidence"]),
        ((refund_requested(MONDAY), refund_decided(True, MONDAY)), "platform",
         ["ship", "issue_refund"]),  # no close while money is owed
        (CANCELLED, "buyer", ["add_evidence", "review"]),
        (CANCELLED, "seller", ["add_evidence"]),
        (CLOSED, "buyer", ["review"]),
        (CLOSED, "moderator", ["add_note"]),
        (CLOSED, "platform", []),
    ],
)
def test_next_actions(steps: tuple[Step, ...], role: str, actions: list[str]) -> None:
    d = given(*story(*steps))
    assert d.next_actions(role, POLICY, la(11, 27)) == actions


def test_next_actions_drop_review_once_the_window_closes() -> None:
    d = given(*story(*DELIVERED_STORY))
    assert "review" in d.next_actions("buyer", POLICY, DELIVERED + timedelta(days=60))
    assert "review" not in d.next_actions("buyer", POLICY, DELIVERED + timedelta(days=61))


def test_next_actions_never_include_a_command_the_aggregate_refuses() -> None:
    d = given(*story(*UNDER_REVIEW))
    assert "request_intervention" not in d.next_actions("buyer", POLICY, RULED_AT)
    with pytest.raises(TransitionRefused):
        d.request_intervention("other", "x", [], BUYER, RULED_AT)


def test_times_compare_as_instants_whatever_the_offset() -> None:
    d = given(*story())
    d.ship("UPS", "1", SHIPPED.astimezone(UTC), SELLER, SHIPPED)
    assert recorded(d)[0].shipped_at == SHIPPED


def test_an_open_intervention_leaves_the_queue_when_the_order_auto_cancels() -> None:
    d = given(*story(*UNDER_REVIEW))
    assert d.awaiting_ruling
    d.record_due(POLICY, d.auto_cancel_at)
    assert d.status == "cancelled"
    assert not d.awaiting_ruling
    with pytest.raises(OrderCancelled):
        d.rule("refund_full", "not_shipped_in_time", None, None, None, MODERATOR, d.auto_cancel_at,
               reasons=REASONS)


# ---- ids and text ------------------------------------------------------------


@pytest.mark.parametrize("field", ["order_id", "buyer_id", "seller_id"])
@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "tab\there", "\x7f", "a\u2028b"])
def test_ids_are_printable_text(field: str, value: str) -> None:
    ids = {"order_id": "order-1", "buyer_id": BUYER.id, "seller_id": SELLER.id, field: value}
    with pytest.raises(InvalidInput, match=r"printable|NUL") as error:
        Dispute.place(region="US", category="general", amount=Money.of("1.00", "USD"),
                      placed_at=PLACED, policy=POLICY, actor=PLATFORM, now=PLACED, **ids)
    assert error.value.field == field


def test_free_text_keeps_its_lines_but_never_a_nul() -> None:
    d = given(*story())
    d.contact_seller("line one\nline two", "chat", BUYER, MONDAY)
    assert new_events(d) == ["SellerContacted"]
    with pytest.raises(InvalidInput, match="NUL"):
        d.contact_seller("where\x00is it", "chat", BUYER, MONDAY)
    assert new_events(d) == []


def test_an_order_placed_again_must_be_the_same_order() -> None:
    d = given(*story())
    same = {"buyer_id": BUYER.id, "seller_id": SELLER.id, "region": "US",
            "category": "general", "amount": Money.of("25", "USD")}
    d.check_same_order(placed_at=PLACED.astimezone(UTC), **same)  # same instant, other offset
    with pytest.raises(OrderConflict, match="seller_id, amount") as error:
        d.check_same_order(placed_at=PLACED, **{**same, "seller_id": "s-9",
                                                "amount": Money.of("26.00", "USD")})
    assert error.value.field == "seller_id"
    assert new_events(d) == []
