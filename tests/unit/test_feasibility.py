"""Whether a case would have let a recorded fact be recorded (the replay's counterfactual test)."""

from __future__ import annotations

from typing import cast

from domain.dispute import ACCESS, Dispute
from domain.dispute.events import EVENT_CLASSES
from domain.dispute.feasibility import NOT_A_STEP, RECORDED_BY, refusal
from domain.errors import NoPendingRefund, OrderCancelled
from tests.unit.test_dispute_lifecycle import (
    AUTO_CANCEL,
    BUYER,
    MONDAY,
    PLATFORM,
    POLICY,
    SECOND,
    SELLER,
    TUESDAY,
    la,
    place,
)


def recorded_fact(event_type: type[Dispute.Event]) -> Dispute.Event:
    """One fact of ``event_type`` as a live command records it on another case."""
    d = place(order_id="elsewhere")
    d.ship("ups", "1Z", MONDAY, SELLER, MONDAY)
    d.deliver(TUESDAY, PLATFORM, TUESDAY)
    d.request_refund(None, "damaged", BUYER, TUESDAY)
    d.decide_refund(False, "used", SELLER, TUESDAY + SECOND)
    return next(e for e in d.collect_events() if isinstance(e, event_type))


def test_given_an_auto_cancelled_case_when_a_shipment_is_checked_then_refused() -> None:
    d = place()
    d.record_due(POLICY, AUTO_CANCEL)
    later = AUTO_CANCEL + SECOND

    refused = refusal(d, recorded_fact(Dispute.OrderShipped), POLICY, later)

    assert isinstance(refused, OrderCancelled)


def test_given_a_case_awaiting_shipment_when_a_shipment_is_checked_then_allowed() -> None:
    d = place()
    d.record_due(POLICY, la(11, 25))  # DeadlineMissed: late, yet still allowed

    assert refusal(d, recorded_fact(Dispute.OrderShipped), POLICY, la(11, 25)) is None


def test_given_a_refund_the_policy_approved_when_a_denial_is_checked_then_refused() -> None:
    d = place()
    d.ship("ups", "1Z", MONDAY, SELLER, MONDAY)
    d.deliver(TUESDAY, PLATFORM, TUESDAY)
    d.request_refund(None, "damaged", BUYER, TUESDAY)
    d.record_due(POLICY, la(12, 1))  # RefundAutoApproved at the end of Fri 27th

    refused = refusal(d, recorded_fact(Dispute.RefundDenied), POLICY, la(12, 1))

    assert isinstance(refused, NoPendingRefund)


def test_given_facts_no_case_action_records_then_never_refused() -> None:
    d = place()
    d.record_due(POLICY, AUTO_CANCEL)
    placed = cast(Dispute.Event, place(order_id="another").collect_events()[0])

    assert refusal(d, placed, POLICY, AUTO_CANCEL + SECOND) is None


def test_every_fact_is_recorded_by_an_action_of_the_access_table_or_is_no_step() -> None:
    derived = set(Dispute.DERIVED.values())
    facts = {cls for cls in EVENT_CLASSES if cls not in derived}
    assert facts == set(RECORDED_BY) | NOT_A_STEP
    for action in RECORDED_BY.values():
        access = ACCESS[action]
        assert access.guard is not None or access.party_guard is not None, action
