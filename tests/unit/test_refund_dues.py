"""Who is owed what, exactly once: approvals approve, a RefundDue says the money is
owed, and the platform's payment settles one due (given the recorded events, when a
command runs, then what it records)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.case_view import case_view
from domain.dispute import Dispute
from domain.dispute.vocabulary import POLICY as POLICY_ACTOR
from domain.errors import InvalidInput, OrderCancelled, RefundNotAllowed
from domain.money import Money
from tests.unit.test_dispute_lifecycle import (
    AUTO_CANCEL,
    CANCELLED,
    MONDAY,
    PLATFORM,
    POLICY,
    REFUND_DUE_TUESDAY,
    REFUND_WITH_RETURN,
    TUESDAY,
    UNDER_REVIEW,
    given,
    la,
    place,
    recorded,
    refund_decided,
    refund_issued,
    refund_requested,
    return_shipped,
    ruled,
    story,
)


def pay(d: Dispute, amount: str, due_id: str | None = None) -> None:
    d.issue_refund(Money.of(amount, "USD"), PLATFORM, la(12, 4), due_id)


def test_an_auto_cancel_owes_the_refund_and_a_payment_settles_it() -> None:
    d = given(*story(*CANCELLED))
    [owed] = d.dues
    assert (owed.due_id, owed.amount, owed.payee, owed.reason, owed.status) == (
        f"{d.id}:1", Decimal("25.00"), "buyer", "auto_cancelled", "open",
    )
    assert d.refund is not None and d.refund.status == "approved"
    pay(d, "25.00")
    [event] = recorded(d)
    assert type(event).__name__ == "RefundIssued" and event.due_id == owed.due_id
    assert d.dues[0].status == "paid" and d.dues[0].paid_amount == Decimal("25.00")
    assert d.refunded_total == Decimal("25.00") and d.status == "cancelled"
    assert d.refund.status == "paid" and d.refund.paid_amount == Decimal("25.00")


def test_a_due_is_paid_once() -> None:
    d = given(*story(*CANCELLED, refund_issued("25.00", la(12, 4))))
    with pytest.raises(RefundNotAllowed, match="paid already"):
        pay(d, "25.00")
    with pytest.raises(RefundNotAllowed, match="paid already"):
        pay(d, "25.00", f"{d.id}:1")
    assert recorded(d) == []


def test_paying_more_than_is_owed_is_refused() -> None:
    d = given(*story(refund_requested(MONDAY, "10.00"), refund_decided(True, MONDAY)))
    with pytest.raises(RefundNotAllowed, match="more than is owed"):
        pay(d, "10.01")
    with pytest.raises(InvalidInput, match="no refund due nope"):
        pay(d, "10.00", "nope")
    assert recorded(d) == []


def test_a_refund_that_needs_its_goods_back_falls_due_on_receipt() -> None:
    d = given(*story(*REFUND_WITH_RETURN, return_shipped(TUESDAY)))
    assert d.dues == ()
    d.confirm_return_receipt(PLATFORM, la(11, 27, 10))
    _, owed = recorded(d)
    assert type(owed).__name__ == "RefundDue" and owed.reason == "seller_approved"
    assert owed.occurred_at == la(11, 27, 10)


def test_a_policy_approval_owes_the_requested_refund() -> None:
    d = given(*story(refund_requested(TUESDAY)))
    d.record_due(POLICY, REFUND_DUE_TUESDAY)
    *_, approved, owed = recorded(d)
    assert type(approved).__name__ == "RefundAutoApproved"
    assert (owed.reason, owed.amount, owed.occurred_at) == (
        "policy_auto_approved", Decimal("25.00"), REFUND_DUE_TUESDAY,
    )
    assert (owed.actor_role, owed.actor_id) == (POLICY_ACTOR.role, POLICY_ACTOR.id)


def test_nothing_is_owed_twice_a_ruling_owes_only_what_is_left() -> None:
    d = given(*story(refund_requested(MONDAY, "10.00"), refund_decided(True, MONDAY)))
    assert d.remaining_refundable == Decimal("15.00")
    d = given(*story(*UNDER_REVIEW, ruled("refund_partial", la(11, 25, 13), "10.00")))
    assert d.remaining_refundable == Decimal("15.00") and d.refunded_total == 0
    d.record_due(POLICY, AUTO_CANCEL)
    _, owed = recorded(d)
    assert owed.amount == Decimal("15.00") and owed.due_id == f"{d.id}:2"
    assert sum(o.amount for o in d.dues) == Decimal("25.00")


def test_the_case_view_lists_the_dues() -> None:
    d = given(*story(*CANCELLED))
    refund = case_view(d, PLATFORM, POLICY, AUTO_CANCEL)["refund"]
    assert refund["status"] == "approved"
    assert refund["dues"] == [
        {
            "due_id": f"{d.id}:1",
            "amount": {"amount": "25.00", "currency": "USD"},
            "payee": "buyer",
            "reason": "auto_cancelled",
            "due_at": "2026-12-03T07:59:59Z",  # RFC 3339 in UTC: 23:59:59 in Los Angeles
            "paid_amount": {"amount": "0.00", "currency": "USD"},
            "status": "open",
        }
    ]


def test_an_auto_cancel_recorded_before_dues_still_replays_as_paid() -> None:
    d = place()
    d.record_due(POLICY, la(11, 25, 9))
    d._record(
        Dispute.OrderAutoCancelled, POLICY_ACTOR, AUTO_CANCEL, AUTO_CANCEL,
        policy_version=POLICY.version, refund_amount=Decimal("25.00"),
    )
    old = given(*recorded(d))
    assert old.refund is not None and old.refund.status == "paid"
    assert old.refunded_total == Decimal("25.00") and old.dues == ()
    with pytest.raises(OrderCancelled):
        pay(old, "25.00")


def test_a_refund_approved_before_dues_is_paid_as_before() -> None:
    d = place()
    d.request_refund(None, "late", PLATFORM, MONDAY)
    d._record(Dispute.RefundApproved, PLATFORM, MONDAY, MONDAY, reason=None)
    old = given(*recorded(d))
    assert old.dues == ()
    pay(old, "25.00")
    [event] = recorded(old)
    assert event.due_id is None and old.status == "refunded"


def test_stored_events_without_the_new_fields_decode_to_the_old_meaning() -> None:
    import json

    from eventsourcing.persistence import StoredEvent

    from application.event_decoder import FastDecoder
    from tests.unit.test_event_decoder import mapper

    events = story(*CANCELLED)
    the_mapper = mapper()
    decoder = FastDecoder(the_mapper)
    cancel = next(e for e in events if type(e).__name__ == "OrderAutoCancelled")
    stored = the_mapper.to_stored_event(cancel)
    state = json.loads(stored.state)
    del state["records_payment"]
    old = StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                      json.dumps(state).encode())
    for decoded in (the_mapper.to_domain_event(old),
                    decoder.decode(old.originator_id, old.originator_version, old.topic,
                                   old.state)):
        assert getattr(decoded, "records_payment") is True  # noqa: B009
    old_cancel = the_mapper.to_domain_event(old)
    replayed = given(*[old_cancel if e is cancel else e for e in events[:-1]])
    assert replayed.refund is not None and replayed.refund.status == "paid"
