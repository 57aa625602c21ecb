"""Moderators' claims through the application, on SQLite and on PostgreSQL: the claim
check every command passes, the case view and history, requests carried out once, the
event feeds, and a simulation over a store that holds claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from application.simulator import build_request, run_simulation
from domain.dispute import Actor, dispute_id_for
from domain.errors import CaseClosed, ClaimHeld, ClaimNotHeld
from domain.money import Money
from domain.requests import RequestStamp
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from tests.integration.test_simulator_support import (
    CHANGES,
    EXPECTED_FACTS,
    ORDERS,
    assert_known_answers,
    build_history,
)

LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
HOLDER = Actor("moderator", "m-1")
OTHER = Actor("moderator", "m-2")
RULING: dict[str, Any] = {"outcome": "refund_full", "reason_code": "not_shipped_in_time"}


def la(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


def under_review(app: DisputeDesk, clock: ManualClock, order_id: str = "o-1") -> UUID:
    """An order placed now, its ship-by missed, and the buyer's intervention open."""
    view, _ = app.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    dispute = UUID(view["id"])
    clock.set(max(clock.now(), la(11, 25, 9)))
    app.contact_seller(dispute, message="where is it?", channel="chat", actor=BUYER)
    app.respond(dispute, message="soon", actor=SELLER)
    app.request_intervention(dispute, reason="not_shipped", statement="late", actor=BUYER)
    return dispute


def test_a_live_claim_refuses_another_moderators_ruling_and_nothing_is_recorded(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock)
    claimed = app.claim(case, actor=HOLDER)
    assert claimed["claim"]["moderator_id"] == "m-1"
    manual_clock.advance(timedelta(minutes=5))
    with pytest.raises(ClaimHeld, match="m-1"):
        app.rule(case, **RULING, actor=OTHER)
    with pytest.raises(ClaimHeld):
        app.close_case(case, reason="done", cancel_order=True, actor=OTHER)
    assert app.case(case, OTHER)["version"] == claimed["version"]
    # Notes stay open; the holder rules.
    noted = app.add_note(case, text="I had a look too", actor=OTHER)
    assert noted["version"] == claimed["version"] + 1
    ruled = app.rule(case, **RULING, actor=HOLDER)
    assert ruled["intervention"]["outcome"] == "refund_full"


def test_only_moderators_are_bound_by_claims(app: DisputeDesk, manual_clock: ManualClock) -> None:
    case = under_review(app, manual_clock)
    app.claim(case, actor=HOLDER)
    closed = app.close_case(case, reason="order cancelled", cancel_order=True, actor=PLATFORM)
    assert closed["status"] == "closed"
    with pytest.raises(CaseClosed):
        app.claim(case, actor=OTHER, take_over=True)


def test_take_over_and_expiry_hand_the_case_on(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock)
    app.claim(case, actor=HOLDER)
    taken = app.claim(case, take_over=True, actor=OTHER)
    assert taken["claim"]["moderator_id"] == "m-2"
    with pytest.raises(ClaimHeld, match="m-2"):
        app.request_evidence(case, party="seller", description="tracking", actor=HOLDER)
    with pytest.raises(ClaimNotHeld):
        app.release_claim(case, actor=HOLDER)
    # Two hours later the claim lapsed by itself: no event, yet anyone may act.
    manual_clock.advance(timedelta(minutes=120))
    assert app.case(case, HOLDER)["claim"] is None
    app.request_evidence(case, party="seller", description="tracking", actor=HOLDER)
    history = [row for row in app.history(case, HOLDER) if "Claim" in row["type"]]
    assert [(r["type"], r["data"]["moderator_id"], r["data"]["taken_from"]) for r in history] == [
        ("CaseClaimed", "m-1", None), ("CaseClaimed", "m-2", "m-1"),
    ]


def test_release_and_what_each_role_sees(app: DisputeDesk, manual_clock: ManualClock) -> None:
    case = under_review(app, manual_clock)
    app.claim(case, actor=HOLDER)
    for party in (BUYER, SELLER):
        seen = app.case(case, party)
        assert "claim" not in seen
        assert not [e for e in seen["timeline"] if "Claim" in e["type"]]
    assert app.case(case, OTHER)["claim"]["moderator_id"] == "m-1"
    released = app.release_claim(case, actor=HOLDER)
    assert released["claim"] is None
    with pytest.raises(ClaimNotHeld, match="nobody"):
        app.release_claim(case, actor=HOLDER)
    types = [row["type"] for row in app.history(case, HOLDER)]
    assert types[-2:] == ["CaseClaimed", "ClaimReleased"]
    app.rule(case, **RULING, actor=OTHER)


def test_a_claim_sent_again_is_carried_out_once(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock)
    stamp = RequestStamp("moderator:m-1:key-1", "print-1")
    first = app.claim(case, actor=HOLDER, request=stamp)
    manual_clock.advance(timedelta(minutes=30))
    again = app.claim(case, actor=HOLDER, request=stamp)
    assert again["replayed"] and again["version"] == first["version"]
    assert again["claim"]["expires_at"] == first["claim"]["expires_at"]  # not renewed
    claims = [row for row in app.history(case, HOLDER) if row["type"] == "CaseClaimed"]
    assert len(claims) == 1


def test_claims_reach_the_queue_stream_and_no_other_feed(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock)
    app.claim(case, actor=HOLDER)
    app.release_claim(case, actor=HOLDER)
    feed = EventFeed(app)
    queue = [e["type"] for e in feed.queue_events(OTHER, 0).events]
    assert queue[-2:] == ["dispute.claimed", "dispute.claim_released"]
    for page in (feed.feed(PLATFORM, 0, 500), feed.log_events(0),
                 feed.case_events(BUYER, case, 0), feed.case_events(OTHER, case, 0)):
        assert not [e for e in page.events if "claim" in e["type"]]
        assert page.events  # the public events are there


def test_a_simulation_over_a_store_with_claims_gives_the_same_answers(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(app, manual_clock)
    claimed = 0
    for order in ORDERS:
        dispute = dispute_id_for(order)
        if app.case(dispute, HOLDER)["status"] == "closed":
            continue
        app.claim(dispute, actor=HOLDER)
        app.claim(dispute, take_over=True, actor=OTHER)
        app.release_claim(dispute, actor=OTHER)
        claimed += 3
    assert claimed
    request = build_request(current=app.current_policy(), now=app.clock.now(), changes=CHANGES)
    report = run_simulation(app, history_reader_for(app, batch_size=4), request)
    # The claims are replayed as facts and change nothing else the report says.
    assert report["events_replayed"] == EXPECTED_FACTS + claimed
    assert_known_answers({**report, "events_replayed": EXPECTED_FACTS})
