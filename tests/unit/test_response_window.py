"""The seller's response window, given-when-then: none opens after delivery.

A question about goods that arrived is a courtesy: no SellerResponseOverdue
follows it (the rule lives in ``domain.deadlines.seller_response_due``). A
window opened before delivery still runs its course.
"""

from __future__ import annotations

from application.case_view import case_view
from tests.unit.test_dispute_lifecycle import (
    DELIVERED,
    DELIVERED_STORY,
    POLICY,
    SELLER,
    contacted,
    delivered,
    given,
    la,
    shipped,
    story,
)


def test_a_question_after_delivery_opens_no_response_window() -> None:
    d = given(*story(*DELIVERED_STORY, contacted(la(11, 23, 12))))
    assert d.contact_pending_since is not None  # the question is on record
    assert case_view(d, SELLER, POLICY, la(11, 23, 13))["deadlines"]["seller_response_due"] is None
    assert "SellerResponseOverdue" not in d.record_due(POLICY, la(12, 31))
    assert d.status == "delivered"


def test_a_question_at_the_delivery_instant_is_after_it() -> None:
    d = given(*story(*DELIVERED_STORY, contacted(DELIVERED)))
    assert d.record_due(POLICY, la(12, 31)) == []


def test_a_window_opened_before_delivery_still_runs_its_course() -> None:
    # Contacted Friday 11-20 16:00, delivered Saturday: the window ends Tuesday 11-24.
    d = given(*story(shipped(), contacted(la(11, 20, 16)), delivered()))
    assert d.record_due(POLICY, la(11, 25, 9)) == ["SellerResponseOverdue"]


def test_a_question_before_shipping_still_gets_its_window() -> None:
    d = given(*story(contacted(la(11, 23, 12))))
    assert "SellerResponseOverdue" in d.record_due(POLICY, la(11, 26, 9))
