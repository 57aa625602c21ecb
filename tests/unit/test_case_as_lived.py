"""The case as each party lives it, given-when-then (see test_dispute_lifecycle.py):
the conversation and the seller's promises, a moderator's extension of ship-by, and
a close that never strands money or goods.

The order is placed on Friday 2026-11-20 10:00 in Los Angeles: ship_by is the end
of Tuesday 11-24, the auto-cancel instant the end of Wednesday 12-02 (Thanksgiving,
11-26, is not a business day).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from application.case_view import case_view
from domain import deadlines
from domain.dispute import Dispute
from domain.dispute.conversation import messages_of
from domain.errors import (
    AlreadyShipped,
    CaseClosed,
    CaseNotSettled,
    InterventionNotAllowed,
    InvalidInput,
    NaiveDatetime,
    OrderCancelled,
    OrderStillOpen,
)
from domain.money import Money
from tests.unit.test_deadlines import POLICY as REMINDING_POLICY
from tests.unit.test_deadlines import Facts
from tests.unit.test_dispute_lifecycle import (
    AUTO_CANCEL,
    BUYER,
    CANCELLED,
    DELIVERED_STORY,
    MISSED,
    MODERATOR,
    MONDAY,
    PLATFORM,
    POLICY,
    REFUND_WITH_RETURN,
    SECOND,
    SELLER,
    SHIP_BY,
    TUESDAY,
    UNDER_REVIEW,
    Step,
    contacted,
    given,
    la,
    new_events,
    noted,
    recorded,
    refund_decided,
    refund_issued,
    refund_requested,
    return_received,
    return_shipped,
    ruled,
    shipped,
    story,
)

LA = ZoneInfo("America/Los_Angeles")
RULED_AT = la(11, 25, 13)


def thanked(at: datetime = MONDAY) -> Step:
    return lambda d: d.contact_seller("thanks, all good", "chat", BUYER, at, expects_reply=False)


def promised(on: date, at: datetime = MONDAY) -> Step:
    return lambda d: d.respond("it ships soon", on, POLICY, SELLER, at)


def answered(at: datetime) -> Step:
    return lambda d: d.respond("we are looking into it", None, POLICY, SELLER, at)


def extended(to: datetime, at: datetime = MONDAY) -> Step:
    return lambda d: d.extend_ship_by(to, "carrier strike", POLICY, MODERATOR, at)


def swept(until: datetime) -> Step:
    return lambda d: d.record_due(POLICY, until)


def closed(at: datetime, cancel_order: bool = False) -> Step:
    return lambda d: d.close("resolved", MODERATOR, at, cancel_order)


# ---- the conversation ------------------------------------------------------------


def test_a_contact_that_expects_no_reply_opens_no_response_window() -> None:
    d = given(*story())
    d.contact_seller("thanks, all good", "chat", BUYER, MONDAY, expects_reply=False)
    [event] = recorded(d)
    assert type(event).__name__ == "SellerContacted" and event.expects_reply is False
    assert d.contact_pending_since is None and d.status == "awaiting_shipment"
    assert "SellerResponseOverdue" not in [t.kind for t in d.pending_deadlines(POLICY)]
    # Long after any response window: no SellerResponseOverdue, ever.
    later = given(*story(shipped(), thanked()))
    assert later.record_due(POLICY, la(12, 31)) == []


def test_a_contact_expects_a_reply_by_default_and_then_the_window_opens() -> None:
    d = given(*story(shipped()))
    d.contact_seller("where is it?", "chat", BUYER, MONDAY)
    [event] = recorded(d)
    assert event.expects_reply is True
    assert d.contact_pending_since == MONDAY and d.status == "awaiting_seller"
    assert d.record_due(POLICY, la(12, 31)) == ["SellerResponseOverdue"]


def test_a_contact_recorded_before_the_field_existed_expects_a_reply() -> None:
    [placed] = story()
    old = Dispute.SellerContacted(  # as an old record decodes: no expects_reply
        originator_id=placed.originator_id, originator_version=2, timestamp=MONDAY,
        occurred_at=MONDAY, actor_role="buyer", actor_id="b-1", message="hello", channel="chat",
    )
    d = given(placed, old)
    assert old.expects_reply is True and d.contact_pending_since == MONDAY


def test_a_thank_you_after_a_question_keeps_the_questions_window() -> None:
    d = given(*story(shipped(), contacted(MONDAY), thanked(TUESDAY)))
    assert d.contact_pending_since == MONDAY
    assert d.record_due(POLICY, la(12, 31)) == ["SellerResponseOverdue"]


def test_the_conversation_is_the_contacts_and_responses_in_order_and_never_a_note() -> None:
    events = story(contacted(MONDAY), noted(MONDAY), promised(date(2026, 11, 24), TUESDAY),
                   thanked(la(11, 24, 10)))
    messages = messages_of(events)
    assert [(m.author_role, m.author_id, m.text) for m in messages] == [
        ("buyer", "b-1", "where is my order?"),
        ("seller", "s-1", "it ships soon"),
        ("buyer", "b-1", "thanks, all good"),
    ]
    assert [m.expects_reply for m in messages] == [True, False, False]
    assert [m.promised_ship_date for m in messages] == [None, "2026-11-24", None]
    assert [m.sent_at for m in messages] == [MONDAY, TUESDAY, la(11, 24, 10)]
    assert [m.sequence for m in messages] == [2, 4, 5]  # 3 is the note


# ---- the seller's promise ---------------------------------------------------------


def test_a_promise_that_passes_unshipped_is_broken_at_the_end_of_its_local_day() -> None:
    end = la(11, 23, 23, 59, 59)  # promised Monday 11-23: broken 07:59:59Z on Tuesday
    assert end.astimezone(UTC) == datetime(2026, 11, 24, 7, 59, 59, tzinfo=UTC)
    d = given(*story(contacted(MONDAY), promised(date(2026, 11, 23))))
    assert d.record_due(POLICY, end - SECOND) == []
    assert d.record_due(POLICY, end, end + timedelta(minutes=3)) == ["PromiseBroken"]
    [event] = recorded(d)
    assert type(event).__name__ == "PromiseBroken"
    assert event.promised_ship_date == "2026-11-23"
    assert event.occurred_at == end and event.timestamp == end + timedelta(minutes=3)
    assert (event.actor_role, event.actor_id) == ("system", "policy")
    assert event.policy_version == POLICY.version
    assert d.promise is not None and d.promise.broken and d.promises_broken == 1
    assert d.record_due(POLICY, la(11, 23, 23, 59, 59) + timedelta(hours=2)) == []  # once


def test_a_promise_is_broken_at_the_end_of_the_day_in_the_orders_region() -> None:
    london = ZoneInfo("Europe/London")
    placed_at = datetime(2026, 11, 20, 10, tzinfo=london)
    d = Dispute.place(
        order_id="gb-1", buyer_id="b-1", seller_id="s-1", region="GB", category="general",
        amount=Money.of("20.00", "GBP"), placed_at=placed_at, policy=POLICY, actor=PLATFORM,
        now=placed_at,
    )
    d.respond("Monday", date(2026, 11, 23), POLICY, SELLER, placed_at)
    end = datetime(2026, 11, 23, 23, 59, 59, tzinfo=london)
    assert d.record_due(POLICY, end - SECOND) == []
    assert d.record_due(POLICY, end) == ["PromiseBroken"]


def test_a_shipment_keeps_the_promise() -> None:
    d = given(*story(promised(date(2026, 11, 23)), shipped(la(11, 23, 20))))
    assert d.record_due(POLICY, la(12, 31)) == []
    assert d.promises_broken == 0


def test_a_new_date_replaces_the_promise_and_an_answer_without_one_keeps_it() -> None:
    d = given(*story(promised(date(2026, 11, 23)), promised(date(2026, 11, 24), MONDAY),
                     answered(la(11, 23, 14))))
    assert d.promise is not None and d.promise.ship_date == date(2026, 11, 24)
    # The new date ends with ship_by: the miss first, then the broken promise.
    assert d.record_due(POLICY, SHIP_BY) == ["DeadlineMissed", "PromiseBroken"]


def test_a_promise_in_the_past_is_refused() -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match="in the past") as error:
        d.respond("shipped already?", date(2026, 11, 22), POLICY, SELLER, MONDAY)
    assert error.value.field == "promised_ship_date"
    d.respond("today", date(2026, 11, 23), POLICY, SELLER, MONDAY)  # today is fine
    assert new_events(d) == ["SellerResponded"]


def test_a_broken_promise_lets_the_buyer_ask_the_platform_to_step_in() -> None:
    # Before ship_by: only the broken promise opens the way.
    d = given(*story(contacted(MONDAY), promised(date(2026, 11, 23))))
    with pytest.raises(InterventionNotAllowed, match="promised"):
        d.request_intervention("not_shipped", "it never shipped", [], BUYER, la(11, 23, 23))
    assert "request_intervention" not in d.next_actions("buyer", POLICY, la(11, 23, 23))
    d.record_due(POLICY, la(11, 24, 9))
    assert "request_intervention" in d.next_actions("buyer", POLICY, la(11, 24, 9))
    d.request_intervention("not_shipped", "it never shipped", [], BUYER, la(11, 24, 9))
    assert new_events(d) == ["PromiseBroken", "InterventionRequested"]
    assert d.status == "under_review"


def test_a_broken_promise_keeps_the_way_open_after_a_new_promise() -> None:
    d = given(*story(promised(date(2026, 11, 23)), swept(la(11, 24, 9)),
                     promised(date(2026, 11, 24), la(11, 24, 9))))
    assert d.promise is not None and not d.promise.broken and d.promises_broken == 1
    d.request_intervention("not_shipped", "promised twice", [], BUYER, la(11, 24, 10))
    assert new_events(d) == ["InterventionRequested"]


def test_the_case_view_shows_the_promise_and_its_end() -> None:
    d = given(*story(promised(date(2026, 11, 23))))
    view = case_view(d, BUYER, POLICY, MONDAY)
    assert view["promise"] == {
        "promised_ship_date": "2026-11-23",
        "made_at": "2026-11-23T20:00:00Z",
        "due_at": "2026-11-24T07:59:59Z",
        "due_at_local": "2026-11-23T23:59:59-08:00",
        "broken": False,
        "promises_broken": 0,
    }
    assert view["next_due"] == {"type": "PromiseBroken", "at": "2026-11-24T07:59:59Z"}
    d.record_due(POLICY, la(11, 24, 9))
    broken = case_view(d, BUYER, POLICY, la(11, 24, 9))
    assert broken["promise"]["broken"] and broken["promise"]["promises_broken"] == 1
    assert "PromiseBroken" in [row["type"] for row in broken["timeline"]]


def test_a_reminder_tied_with_a_promises_end_comes_first() -> None:
    rules, calendar = REMINDING_POLICY.rules_for("US", "general"), REMINDING_POLICY.calendar("US")
    day = date(2026, 11, 23)
    ship_by = calendar.end_of_day(date(2026, 11, 24))  # its reminder: the end of 11-23
    placed = la(11, 20, 10)
    facts = Facts(ship_by, ship_by + timedelta(days=7), False, False, None, None, False, None,
                  False, placed_at=placed, ship_by_since=placed, promised_ship_date=day)
    pending = deadlines.pending(facts, rules, calendar)
    assert [(d.kind, d.at) for d in pending[:2]] == [
        ("DeadlineApproaching", calendar.end_of_day(day)),
        ("PromiseBroken", calendar.end_of_day(day)),
    ]
    assert deadlines.next_due(facts, rules, calendar) == pending[0]


# ---- extensions ---------------------------------------------------------------------


def test_an_extension_moves_ship_by_and_the_auto_cancel_by_as_many_business_days() -> None:
    d = given(*story())
    d.extend_ship_by(la(11, 30, 12), "carrier strike", POLICY, MODERATOR, MONDAY)
    [event] = recorded(d)
    assert type(event).__name__ == "ShipByExtended"
    # Tuesday 11-24 to Monday 11-30: Wed, Fri, Mon (Thanksgiving and the weekend skipped).
    assert event.business_days == 3
    assert (event.previous_ship_by, event.previous_auto_cancel_at) == (SHIP_BY, AUTO_CANCEL)
    assert (event.ship_by, event.auto_cancel_at) == (la(11, 30, 12), la(12, 7, 23, 59, 59))
    assert (event.reason, event.actor_role) == ("carrier strike", "moderator")
    assert (d.ship_by, d.auto_cancel_at) == (la(11, 30, 12), la(12, 7, 23, 59, 59))
    # The old ship_by passes without a miss; the new one is missed.
    assert d.record_due(POLICY, la(11, 30, 12) - SECOND) == []
    assert d.record_due(POLICY, la(11, 30, 12)) == ["DeadlineMissed"]


def test_an_extension_may_pass_the_auto_cancel_instant_which_moves_with_it() -> None:
    d = given(*story(extended(la(12, 4, 17))))
    # 7 business days after 11-24: 25, 27, 30, 1, 2, 3, 4; the auto-cancel 7 after 12-02.
    assert d.auto_cancel_at == la(12, 11, 23, 59, 59) and d.ship_by > AUTO_CANCEL
    assert d.record_due(POLICY, la(12, 4, 17) - SECOND) == []  # no auto-cancel on 12-02
    assert d.record_due(POLICY, la(12, 11, 23, 59, 59)) == [
        "DeadlineMissed", "OrderAutoCancelled"
    ]


def test_the_parties_see_the_new_dates() -> None:
    d = given(*story(extended(la(11, 30, 12))))
    for viewer in (BUYER, SELLER):
        view = case_view(d, viewer, POLICY, MONDAY)
        assert view["ship_by"] == "2026-11-30T20:00:00Z"
        assert view["auto_cancel_at"] == "2026-12-08T07:59:59Z"
        assert view["deadlines"]["ship_by"] == "2026-11-30T20:00:00Z"
        assert view["deadlines"]["auto_cancel_at"] == "2026-12-08T07:59:59Z"
        assert view["timeline"][-1]["type"] == "ShipByExtended"


def test_an_extension_after_the_miss_rearms_the_deadline() -> None:
    d = given(*story(*MISSED, extended(la(11, 27, 12), la(11, 25, 10))))
    assert d.status == "awaiting_shipment"
    assert d.record_due(POLICY, la(11, 27, 13)) == ["DeadlineMissed"]


@pytest.mark.parametrize(
    ("new_ship_by", "message"),
    [
        (SHIP_BY, "later than the current ship_by"),
        (la(11, 22, 12), "later than the current ship_by"),
        (SHIP_BY + timedelta(days=181), "at most 180 days"),
    ],
)
def test_an_extension_must_be_later_than_ship_by(new_ship_by: datetime, message: str) -> None:
    d = given(*story())
    with pytest.raises(InvalidInput, match=message) as error:
        d.extend_ship_by(new_ship_by, "x", POLICY, MODERATOR, MONDAY)
    assert error.value.field == "new_ship_by" and new_events(d) == []


def test_an_extension_must_be_in_the_future_and_carry_an_offset() -> None:
    d = given(*story(*MISSED))
    with pytest.raises(InvalidInput, match="in the future"):
        d.extend_ship_by(la(11, 25, 9), "x", POLICY, MODERATOR, la(11, 25, 10))
    with pytest.raises(NaiveDatetime, match="UTC offset"):
        d.extend_ship_by(datetime(2026, 11, 30, 12), "x", POLICY, MODERATOR, MONDAY)
    with pytest.raises(InvalidInput, match="reason must not be empty"):
        d.extend_ship_by(la(11, 30, 12), " ", POLICY, MODERATOR, MONDAY)


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        ((shipped(),), AlreadyShipped),
        (CANCELLED, OrderCancelled),
        ((*DELIVERED_STORY, closed(MONDAY)), CaseClosed),
    ],
    ids=["shipped", "auto-cancelled", "closed"],
)
def test_an_extension_is_refused_once_shipped_cancelled_or_closed(
    steps: tuple[Step, ...], error: type[Exception]
) -> None:
    d = given(*story(*steps))
    with pytest.raises(error):
        d.extend_ship_by(la(12, 20, 12), "x", POLICY, MODERATOR, la(12, 10))
    assert "extend_ship_by" not in d.next_actions("moderator", POLICY, la(12, 10))


def test_moderators_are_offered_an_extension_while_the_order_runs() -> None:
    d = given(*story())
    assert "extend_ship_by" in d.next_actions("moderator", POLICY, MONDAY)


# ---- closing: never while money or goods are on their way ------------------------------


def test_a_partial_refund_ruled_then_close_is_refused_until_the_money_is_paid() -> None:
    d = given(*story(*UNDER_REVIEW, ruled("refund_partial", RULED_AT, "10.00")))
    [due] = d.open_dues
    for cancel_order in (False, True):
        with pytest.raises(CaseNotSettled, match=re.escape(f"{due.due_id} still owes 10.00")):
            d.close("resolved", MODERATOR, la(11, 25, 14), cancel_order)
    assert "close" not in d.next_actions("moderator", POLICY, la(11, 25, 14))
    d.issue_refund(Money.of("10.00", "USD"), PLATFORM, la(11, 25, 15))
    d.close("resolved", MODERATOR, la(11, 25, 16), cancel_order=True)
    assert new_events(d) == ["RefundIssued", "OrderCancelled", "RefundDue", "CaseClosed"]
    [_, rest] = d.dues
    assert (rest.amount, rest.reason, rest.payee) == (Decimal("15.00"), "order_cancelled", "buyer")
    assert d.status == "closed" and d.cancelled_at == la(11, 25, 16)


def test_a_close_that_cancels_the_order_leaves_its_refund_for_the_platform_to_pay() -> None:
    d = given(*story(contacted(MONDAY)))
    d.close("seller gone", MODERATOR, TUESDAY, cancel_order=True)
    cancelled, owed, closed_ = recorded(d)
    assert (type(cancelled).__name__, cancelled.refund_amount) == ("OrderCancelled", 25)
    assert (owed.amount, owed.reason, owed.actor_role) == (Decimal("25.00"), "order_cancelled",
                                                           "moderator")
    assert type(closed_).__name__ == "CaseClosed"
    assert d.refund is not None and (d.refund.status, d.refund.decided_by) == (
        "approved", "moderator"
    )
    assert d.record_due(POLICY, la(12, 31)) == []  # no timers run any more
    # The platform may still pay it, and only that.
    assert d.next_actions("platform", POLICY, TUESDAY) == ["issue_refund"]
    d.issue_refund(Money.of("25.00", "USD"), PLATFORM, la(11, 25, 9))
    assert d.refund.status == "paid" and d.status == "closed"
    assert d.next_actions("platform", POLICY, TUESDAY) == []


def test_closing_a_running_order_needs_cancel_order() -> None:
    d = given(*story())
    with pytest.raises(OrderStillOpen, match="cancel_order: true"):
        d.close("resolved", MODERATOR, MONDAY)
    assert new_events(d) == []
    # The close is still offered: it takes cancel_order.
    assert "close" in d.next_actions("moderator", POLICY, MONDAY)


def test_cancel_order_applies_only_to_an_order_still_running() -> None:
    delivered = given(*story(*DELIVERED_STORY))
    with pytest.raises(AlreadyShipped, match="can no longer be cancelled"):
        delivered.close("x", MODERATOR, MONDAY, cancel_order=True)
    cancelled = given(*story(*CANCELLED))
    cancelled.issue_refund(Money.of("25.00", "USD"), PLATFORM, la(12, 3, 10))
    with pytest.raises(OrderCancelled, match="already"):
        cancelled.close("x", MODERATOR, la(12, 3, 11), cancel_order=True)
    cancelled.close("x", MODERATOR, la(12, 3, 11))
    assert new_events(cancelled) == ["RefundIssued", "CaseClosed"]


def test_an_auto_cancelled_order_closes_once_its_refund_is_paid() -> None:
    d = given(*story(*CANCELLED))
    with pytest.raises(CaseNotSettled, match=re.escape("still owes 25.00 USD")):
        d.close("x", PLATFORM, la(12, 3, 10))
    d.issue_refund(Money.of("25.00", "USD"), PLATFORM, la(12, 3, 11))
    d.close("x", PLATFORM, la(12, 3, 12))
    assert new_events(d) == ["RefundIssued", "CaseClosed"]


def test_cancelling_a_fully_refunded_order_owes_nothing_more() -> None:
    d = given(*story(refund_requested(MONDAY), refund_decided(True, MONDAY),
                     refund_issued("25.00", TUESDAY)))
    d.close("refunded", PLATFORM, la(11, 24, 10), cancel_order=True)
    assert new_events(d) == ["OrderCancelled", "CaseClosed"]
    assert d.refund is not None and d.refund.status == "paid" and d.open_dues == []


@pytest.mark.parametrize(
    ("steps", "named"),
    [
        ((shipped(),), "the order shipped on 2026-11-20T15:00:00-08:00 (UPS 1Z999) has not "
                       "been delivered"),
        (REFUND_WITH_RETURN, "the approved refund of 25.00 USD is not paid (it falls due once "
                             "the goods come back)"),
        ((*REFUND_WITH_RETURN, return_shipped(TUESDAY)), "(USPS RET-1) have not been received"),
        ((*REFUND_WITH_RETURN, return_shipped(TUESDAY), return_received(TUESDAY)),
         "still owes 25.00 USD"),
        ((refund_requested(MONDAY), refund_decided(True, MONDAY)), "still owes 25.00 USD"),
    ],
    ids=["in-transit", "refund-awaits-return", "return-in-transit", "refund-due", "approved"],
)
def test_close_names_what_is_still_open(steps: tuple[Step, ...], named: str) -> None:
    d = given(*story(*steps))
    with pytest.raises(CaseNotSettled, match="cannot close while") as error:
        d.close("x", MODERATOR, la(11, 25), cancel_order=not d.is_shipped)
    assert named in error.value.detail
    assert new_events(d) == []
    assert "close" not in d.next_actions("moderator", POLICY, la(11, 25))
    assert "close" not in d.next_actions("platform", POLICY, la(11, 25))


def test_a_delivered_and_settled_case_closes() -> None:
    d = given(*story(*REFUND_WITH_RETURN, return_shipped(TUESDAY), return_received(TUESDAY),
                     refund_issued("25.00", TUESDAY)))
    assert "close" in d.next_actions("platform", POLICY, la(11, 25))
    d.close("settled", PLATFORM, la(11, 25))
    assert new_events(d) == ["CaseClosed"] and d.status == "closed"
