"""The status machine, given-when-then: refunds approved, paid in part, paid in full.

``status`` is derived in one place (``DisputeState.status``, README "Statuses"):
``refund_requested`` only while the buyer's request awaits a decision,
``refund_approved`` from an approval (the seller's, a ruling's, the policy's)
until it is paid, ``partially_refunded`` while part was paid and the rest can
still be claimed or the order still runs, ``refunded`` once nothing more is
coming.
"""

from __future__ import annotations

import pytest

from domain.dispute import STATUSES, Actor, Dispute, Status
from domain.errors import RefundNotAllowed
from domain.money import Money
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    DELIVERED_STORY,
    MONDAY,
    POLICY,
    RULED_AT,
    SHIPPED,
    TUESDAY,
    UNDER_REVIEW,
    Step,
    due,
    given,
    intervention,
    la,
    new_events,
    refund_decided,
    refund_issued,
    refund_requested,
    ruled,
    shipped,
    story,
)

PLATFORM = Actor("platform", "feed")
PARTLY_PAID_UNSHIPPED = (
    refund_requested(MONDAY, "10.00"),
    refund_decided(True, MONDAY),
    refund_issued("10.00", TUESDAY),
)
PARTLY_PAID_SHIPPED = (shipped(SHIPPED), *PARTLY_PAID_UNSHIPPED)


def status_after(*steps: Step) -> str:
    return given(*story(*steps)).status


def test_the_statuses_are_the_contracts_words() -> None:
    assert {"refund_approved", "partially_refunded", "under_appeal"} <= set(STATUSES)
    assert Status.UNDER_APPEAL.value == "under_appeal"


# ---- refund_requested means only: asked, nobody decided ------------------------------


def test_a_request_nobody_decided_is_refund_requested() -> None:
    assert status_after(*DELIVERED_STORY, refund_requested(TUESDAY)) == "refund_requested"


@pytest.mark.parametrize(
    ("steps", "approved_by"),
    [
        ((refund_requested(MONDAY), refund_decided(True, TUESDAY)), "seller"),
        ((refund_requested(MONDAY), due(la(11, 30))), "policy"),  # the window ends Wed 11-25
        ((*UNDER_REVIEW, ruled("refund_full", RULED_AT)), "moderator"),
        ((*UNDER_REVIEW, ruled("refund_partial", RULED_AT, "10.00")), "moderator"),
    ],
)
def test_an_approved_refund_not_yet_paid_is_refund_approved(
    steps: tuple[Step, ...], approved_by: str
) -> None:
    d = given(*story(*steps))
    assert d.refund is not None and d.refund.decided_by == approved_by
    assert d.status == "refund_approved"


def test_a_ruling_that_supersedes_a_pending_request_is_refund_approved() -> None:
    d = given(*story(*UNDER_REVIEW, refund_requested(la(11, 25, 12, 30)),
                     ruled("refund_full", RULED_AT)))
    assert d.status == "refund_approved"


def test_an_approval_awaiting_returned_goods_is_refund_approved() -> None:
    assert status_after(*DELIVERED_STORY, refund_requested(TUESDAY),
                        refund_decided(True, TUESDAY)) == "refund_approved"


# ---- paid in part -------------------------------------------------------------------


def test_a_partial_refund_on_an_unshipped_order_is_not_refunded_while_it_runs() -> None:
    d = given(*story(*PARTLY_PAID_UNSHIPPED))
    assert d.status == "partially_refunded"
    # The order's deadlines still run: at the auto-cancel instant it refunds the rest.
    assert d.record_due(POLICY, la(12, 3, 9)) == ["DeadlineMissed", "OrderAutoCancelled"]
    assert d.status == "cancelled"


def test_after_a_partial_refund_the_buyer_may_ask_for_the_rest() -> None:
    d = given(*story(*PARTLY_PAID_SHIPPED))
    assert d.status == "partially_refunded"
    assert "request_refund" in d.next_actions("buyer", POLICY, TUESDAY)
    d.request_refund(None, "the rest, please", BUYER, TUESDAY)
    [event] = d.collect_events()
    assert isinstance(event, Dispute.RefundRequested) and str(event.amount) == "15.00"
    assert d.status == "refund_requested"


def test_the_rest_approved_then_paid_is_refunded() -> None:
    d = given(*story(*PARTLY_PAID_SHIPPED, refund_requested(TUESDAY),
                     refund_decided(True, TUESDAY)))
    assert d.status == "refund_approved"
    d.issue_refund(Money.of("15.00", "USD"), PLATFORM, TUESDAY)
    assert d.fully_refunded and d.status == "refunded"
    with pytest.raises(RefundNotAllowed, match="refunded in full already"):
        d.request_refund(None, "more", BUYER, TUESDAY)


def test_a_partial_refund_whose_rest_can_no_longer_be_claimed_is_refunded() -> None:
    # The seller denies the rest: the buyer may still ask the platform to step in.
    denied = (*PARTLY_PAID_SHIPPED, refund_requested(TUESDAY), refund_decided(False, TUESDAY))
    assert status_after(*denied) == "partially_refunded"
    assert status_after(*denied, intervention(la(11, 24, 10))) == "under_review"
    # The ruling rejects the claim: nothing more is coming, the order shipped.
    settled = given(*story(*denied, intervention(la(11, 24, 10)),
                           ruled("claim_rejected", la(11, 24, 11))))
    assert not settled.rest_claimable and not settled.order_running
    assert settled.status == "refunded"
    assert "request_refund" not in settled.next_actions("buyer", POLICY, la(11, 24, 12))


def test_a_partial_ruling_paid_is_partially_refunded_and_the_rest_may_be_asked_for() -> None:
    d = given(*story(*UNDER_REVIEW, ruled("refund_partial", RULED_AT, "10.00"),
                     refund_issued("10.00", la(11, 25, 14))))
    assert d.status == "partially_refunded"
    d.request_refund(None, "the rest", BUYER, la(11, 25, 15))
    assert new_events(d) == ["RefundRequested"]


def test_a_full_refund_is_refunded_whatever_else_runs() -> None:
    assert status_after(refund_requested(MONDAY), refund_decided(True, MONDAY),
                        refund_issued("25.00", TUESDAY)) == "refunded"
