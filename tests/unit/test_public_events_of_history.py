"""The public catalogue and imported history: an imported event is never public,
whatever its type; the facts added with evidence requests and hidden reviews are public."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.public_events import EMITTED_TYPES, Parties, public_event
from domain.dispute import Actor, Dispute
from domain.money import Money
from domain.requests import RequestStamp
from infrastructure.bootstrap import load_policy

POLICY = load_policy(None)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
PLATFORM = Actor("platform", "feed")


def placed(request: RequestStamp | None = None) -> Dispute:
    return Dispute.place(
        order_id="o-1", buyer_id="b-1", seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=NOW - timedelta(hours=1), policy=POLICY,
        actor=PLATFORM, now=NOW, request=request,
    )


def parties(d: Dispute) -> Parties:
    return Parties(str(d.id), d.order_id, d.buyer_id, d.seller_id, "USD")


def test_an_imported_event_is_never_public() -> None:
    live, imported = placed(), placed(RequestStamp.for_import("f-1"))
    for d in (live, imported):
        with d.serving(RequestStamp.for_import("f-2") if d is imported else None):
            d.ship("ups", "1Z", NOW, PLATFORM, NOW)
    for event in live.pending_events:
        assert public_event(1, event.TOPIC, event, parties(live)) is not None
    assert all(event.imported for event in imported.pending_events)
    for event in imported.pending_events:
        assert public_event(1, event.TOPIC, event, parties(imported)) is None


def test_a_request_for_evidence_is_public_with_whom_what_and_by_when() -> None:
    d = placed()
    d.request_evidence("seller", "the tracking page", POLICY, Actor("moderator", "m-1"), NOW)
    event = d.pending_events[-1]
    assert isinstance(event, Dispute.EvidenceRequested)
    public = public_event(9, event.TOPIC, event, parties(d))
    assert public is not None and public["type"] == "dispute.evidence_requested"
    assert "dispute.evidence_requested" in EMITTED_TYPES
    data = public["data"]
    assert (data["party"], data["description"]) == ("seller", "the tracking page")
    assert data["due_at"].endswith("Z") and data["due_at"] > "2026-11-20T18:00:00Z"
    assert data["request_id"] == event.request_id


def test_a_review_hidden_from_buyers_is_public_with_the_reason() -> None:
    d = placed()
    d.ship("ups", "1Z", NOW, PLATFORM, NOW)
    d.review(1, "rude words", POLICY, Actor("buyer", "b-1"), NOW)
    d.set_review_visibility(True, "abusive language", Actor("moderator", "m-1"), NOW)
    event = d.pending_events[-1]
    public = public_event(7, event.TOPIC, event, parties(d))
    assert public is not None and public["type"] == "dispute.review_visibility_changed"
    assert (public["data"]["hidden"], public["data"]["reason"]) == (True, "abusive language")
