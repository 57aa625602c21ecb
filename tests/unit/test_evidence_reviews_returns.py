"""Evidence files and requests, hidden reviews, return postage, seller names and
imported facts, given-when-then (see test_dispute_lifecycle.py for the story).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.case_view import case_view
from domain.dispute import Dispute
from domain.dispute.state import EvidenceFile
from domain.errors import (
    CaseClosed,
    EvidenceTooLarge,
    InvalidInput,
    NoReview,
    UnsupportedMediaType,
)
from domain.money import Money
from domain.requests import RequestStamp, imported_fact
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    CLOSED,
    DELIVERED_STORY,
    MODERATOR,
    MONDAY,
    PLACED,
    PLATFORM,
    POLICY,
    REFUND_WITH_RETURN,
    SELLER,
    TUESDAY,
    given,
    la,
    new_events,
    recorded,
    reviewed,
    story,
)

PNG = EvidenceFile("ab" * 32, "image/png", 2_000_000, "listing.png", "blob-1")


def test_a_file_is_recorded_with_its_hash_type_and_size() -> None:
    d = given(*story())
    evidence_id = d.add_evidence("screenshot", "the listing", None, BUYER, MONDAY,
                                 file=PNG, policy=POLICY)
    [event] = recorded(d)
    assert (event.sha256, event.content_type, event.size, event.blob_id) == (
        PNG.sha256, "image/png", 2_000_000, "blob-1")
    assert d.evidence[evidence_id].file == PNG
    view = case_view(d, BUYER, POLICY, MONDAY)["evidence"][0]
    assert view["sha256"] == PNG.sha256 and view["size"] == 2_000_000
    assert view["file_url"] == f"/v1/disputes/{d.id}/evidence/{evidence_id}/file"


def test_a_file_of_another_type_is_refused() -> None:
    d = given(*story())
    with pytest.raises(UnsupportedMediaType):
        d.add_evidence("other", "a program", None, BUYER, MONDAY,
                       file=replace(PNG, content_type="application/x-msdownload"), policy=POLICY)
    assert new_events(d) == []


def test_a_file_past_the_policy_limit_is_refused() -> None:
    d = given(*story())
    with pytest.raises(EvidenceTooLarge, match="at most 10 MB"):
        d.add_evidence("photo", "huge", None, BUYER, MONDAY,
                       file=replace(PNG, size=10_000_001), policy=POLICY)
    assert new_events(d) == []


def test_the_case_total_is_limited_too() -> None:
    big = replace(PNG, size=9_000_000)
    d = given(*story(*[
        (lambda d: d.add_evidence("photo", "a photo", None, BUYER, MONDAY,
                                  file=big, policy=POLICY))
        for _ in range(5)
    ]))
    assert d.evidence_bytes == 45_000_000
    with pytest.raises(EvidenceTooLarge, match="at most 50 MB together"):
        d.add_evidence("photo", "one more", None, SELLER, MONDAY,
                       file=replace(PNG, size=6_000_000), policy=POLICY)
    d.add_evidence("photo", "a small one", None, SELLER, MONDAY,
                   file=replace(PNG, size=5_000_000), policy=POLICY)


def test_a_policy_sets_the_limits() -> None:
    tight = POLICY.with_changes({"defaults.evidence_file_max_mb": 1}, version="tight")
    d = given(*story())
    with pytest.raises(EvidenceTooLarge, match="at most 1 MB"):
        d.add_evidence("photo", "2 MB", None, BUYER, MONDAY, file=PNG, policy=tight)


def test_a_moderator_asks_a_party_and_the_partys_next_evidence_answers() -> None:
    placed = story()
    d = given(*placed)
    request_id = d.request_evidence("seller", "the tracking page", POLICY, MODERATOR, MONDAY)
    events = [*placed, *recorded(d)]
    assert [type(e).__name__ for e in events[1:]] == ["EvidenceRequested"]
    [asked] = d.evidence_requests
    # Monday noon in Los Angeles: three business days are Tue, Wed, (Thu off) Fri.
    assert asked.due_at == la(11, 27, 23, 59, 59)
    assert asked.is_open and asked.request_id == request_id

    d.add_evidence("chat_log", "the buyer's, not an answer", None, BUYER, TUESDAY)
    assert d.evidence_requests[0].is_open
    evidence_id = d.add_evidence("tracking", "the tracking page", None, SELLER, TUESDAY)
    assert d.evidence_requests[0].evidence_id == evidence_id
    assert not d.evidence_requests[0].is_open
    again = given(*events, *recorded(d))
    assert again.evidence_requests == d.evidence_requests


def test_evidence_requests_need_a_party_and_an_open_case() -> None:
    d = given(*story())
    with pytest.raises(InvalidInput):
        d.request_evidence("moderator", "what?", POLICY, MODERATOR, MONDAY)
    closed = given(*story(*CLOSED))
    with pytest.raises(CaseClosed):
        closed.request_evidence("buyer", "photos", POLICY, MODERATOR, TUESDAY)


def test_a_moderator_hides_a_review_and_shows_it_again() -> None:
    d = given(*story(*DELIVERED_STORY, reviewed(MONDAY, rating=1)))
    d.set_review_visibility(True, "insults the seller", MODERATOR, TUESDAY)
    assert d.buyer_review is not None and d.buyer_review.hidden
    assert d.buyer_review.hidden_reason == "insults the seller"
    with pytest.raises(NoReview, match="already hidden"):
        d.set_review_visibility(True, "again", MODERATOR, TUESDAY)
    d.set_review_visibility(False, "edited by the buyer", MODERATOR, TUESDAY)
    assert d.buyer_review is not None and not d.buyer_review.hidden
    assert new_events(d) == ["ReviewVisibilityChanged", "ReviewVisibilityChanged"]


def test_no_review_no_visibility() -> None:
    with pytest.raises(NoReview):
        given(*story()).set_review_visibility(True, "spam", MODERATOR, MONDAY)


def test_the_seller_pays_the_return_label_and_its_cost_is_recorded() -> None:
    d = given(*story(*REFUND_WITH_RETURN))
    d.return_goods("USPS", "9400", BUYER, TUESDAY, label_cost=Money.of("7.50", "USD"),
                   policy=POLICY)
    [event] = recorded(d)
    assert (event.label_cost, event.label_currency) == (Decimal("7.50"), "USD")
    assert d.return_ is not None and d.return_.label_cost == Decimal("7.50")
    view = case_view(d, BUYER, POLICY, TUESDAY)
    assert view["refund"]["return"]["label_cost"] == {"amount": "7.50", "currency": "USD"}


def test_a_label_cost_is_refused_when_the_buyer_pays_or_in_another_currency() -> None:
    buyer_pays = POLICY.with_changes({"defaults.return_shipping_payer": "buyer"}, version="bp")
    d = given(*story(*REFUND_WITH_RETURN))
    with pytest.raises(InvalidInput, match="buyer pays"):
        d.return_goods("USPS", "9400", BUYER, TUESDAY, label_cost=Money.of("7.50", "USD"),
                       policy=buyer_pays)
    with pytest.raises(InvalidInput, match="not EUR"):
        d.return_goods("USPS", "9400", BUYER, TUESDAY, label_cost=Money.of("7.50", "EUR"),
                       policy=POLICY)
    assert new_events(d) == []


def test_an_order_names_its_seller() -> None:
    d = Dispute.place(order_id="o-9", buyer_id="b", seller_id="s", region="US",
                      category="general", amount=Money.of("5.00", "USD"), placed_at=PLACED,
                      policy=POLICY, actor=PLATFORM, now=PLACED, seller_name="  Acme Tools ")
    assert d.seller_name == "Acme Tools"
    assert case_view(d, BUYER, POLICY, PLACED)["seller_name"] == "Acme Tools"
    assert given(*story()).seller_name is None


def test_an_imported_fact_is_marked_and_remembered_for_good() -> None:
    stamp = RequestStamp.for_import("f1")
    assert imported_fact(stamp.encode()) == "f1"
    assert imported_fact(RequestStamp("k", "f").encode()) is None
    d = given(*story())
    with d.serving(stamp):
        d.ship("UPS", "1Z", la(11, 20, 15), SELLER, la(11, 20, 15))
    [event] = recorded(d)
    assert event.imported and event.acted_at == event.occurred_at
    assert d.imported_facts == frozenset({"f1"})
    # An imported shipment reached us with the history: no feed lag is made up.
    assert d.shipment is not None and d.shipment.reported_at is None
    live = given(*story(lambda d: d.ship("UPS", "1Z", la(11, 20, 15), SELLER, MONDAY)))
    assert live.shipment is not None and live.shipment.reported_at == MONDAY
    assert datetime(2026, 1, 1, tzinfo=UTC) < MONDAY
