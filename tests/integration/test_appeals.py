"""Reason codes and appeals through the application, on SQLite and on PostgreSQL: the
catalogue in force, the views each party gets, the queue, the scorecard, the public
events and the replay.

The manual clock starts on Friday 2026-11-20 10:00 in Los Angeles: ship_by is the end
of Tuesday 11-24, the auto-cancel instant the end of Wednesday 12-02.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from application.projections.queries import ReadModelQueries
from application.simulator import build_request, run_simulation
from domain.dispute import Actor
from domain.errors import NotForThisActor
from domain.money import Money
from domain.policy import UnknownReasonCode
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.stores import open_reader
from tests.integration.test_projections_support import catch_up, place, settings_for

LA = ZoneInfo("America/Los_Angeles")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")
REVIEWER = Actor("moderator", "m-2")
PLATFORM = Actor("platform", "feed")
ANALYST = Actor("analyst", "a-1")


def la(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=LA)


def under_review(app: DisputeDesk, clock: ManualClock, order_id: str, *, ship: bool) -> UUID:
    """A case the buyer asked the platform to step in on, after a missed ship_by."""
    case = UUID(place(app, order_id)["id"])
    clock.set(la(11, 25, 9))
    if ship:
        app.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=clock.now(), actor=SELLER)
    app.contact_seller(case, message="where is it?", channel="chat", actor=BUYER)
    clock.advance(timedelta(hours=1))
    app.respond(case, message="soon", actor=SELLER)
    clock.advance(timedelta(hours=1))
    app.request_intervention(case, reason="not_shipped", statement="late", actor=BUYER)
    clock.advance(timedelta(hours=1))
    return case


def test_a_ruling_names_a_code_of_the_policy_in_force_and_the_parties_see_it(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock, "o-1", ship=False)
    with pytest.raises(UnknownReasonCode):
        app.rule(case, outcome="refund_full", reason_code="late", actor=MODERATOR)
    # A version in force now, with a code of its own, serves the case placed before it.
    document = app.current_policy().with_changes(
        {"reason_codes.goodwill": {"text": "A gesture of goodwill.", "outcomes": ["refund_full"]}},
        version="2027-02-goodwill",
    ).to_document()
    document["effective_from"] = (manual_clock.now() + timedelta(minutes=1)).isoformat()
    app.publish_policy(document, ANALYST)
    manual_clock.advance(timedelta(minutes=2))
    assert "goodwill" in [c["code"] for c in app.reason_codes(BUYER)["data"]]
    app.rule(case, outcome="refund_full", reason_code="goodwill", note="sorry for the wait",
             actor=MODERATOR)
    for party in (BUYER, SELLER):
        ruling = app.case(case, party)["intervention"]
        assert (ruling["outcome"], ruling["reason_text"], ruling["note"]) == (
            "refund_full", "A gesture of goodwill.", "sorry for the wait",
        )
        assert "ruled_by" not in ruling
    assert app.case(case, MODERATOR)["intervention"]["ruled_by"] == "m-1"


def test_reason_codes_are_the_catalogue_in_force(app: DisputeDesk) -> None:
    listed = app.reason_codes(SELLER)
    assert listed["policy_version"] == app.current_policy().version
    assert listed["data"][0] == {
        "code": "not_shipped_in_time",
        "text": "The seller did not ship the order by its shipping deadline.",
        "outcomes": ["refund_full", "refund_partial"],
    }


def test_an_appeal_queues_the_case_and_its_overturn_counts_on_the_scorecard(
    app: DisputeDesk, database_url: str, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock, "o-1", ship=False)
    app.rule(case, outcome="refund_full", reason_code="not_shipped_in_time", actor=MODERATOR)
    manual_clock.advance(timedelta(hours=2))
    appealed = app.appeal(case, statement="I did ship it", actor=SELLER)
    assert appealed["status"] == "under_appeal"
    assert appealed["appeal"]["appeals"][0]["party"] == "seller"
    assert appealed["appeal"]["seller_may_appeal_until"] is None  # appealed already
    assert appealed["appeal"]["buyer_may_appeal_until"] is not None
    assert "decide_appeal" in app.case(case, MODERATOR)["next_actions"]

    reader = open_reader(settings_for(database_url).database)
    try:
        queries = ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
        catch_up(app, database_url)
        [queued] = queries.moderation_queue(MODERATOR)["data"]
        assert (queued["order_id"], queued["status"]) == ("o-1", "under_appeal")

        with pytest.raises(NotForThisActor):
            app.decide_appeal(case, decision="overturn", outcome="claim_rejected",
                              reason_code="claim_not_supported", actor=MODERATOR)
        manual_clock.advance(timedelta(hours=2))
        decided = app.decide_appeal(case, decision="overturn", outcome="claim_rejected",
                                    reason_code="claim_not_supported", note="proof of dispatch",
                                    actor=REVIEWER)
        assert decided["refund"]["status"] == "cancelled"
        assert [d["status"] for d in decided["refund"]["dues"]] == ["cancelled"]
        assert decided["appeal"]["outcome"] == "claim_rejected"
        catch_up(app, database_url)
        assert queries.moderation_queue(MODERATOR)["data"] == []
        card = queries.scorecard(PLATFORM, "s-1")
        assert (card["appeals_won"], card["appeals_lost"], card["interventions_lost"]) == (1, 0, 0)
    finally:
        reader.close()


def test_the_buyer_keeps_an_overturned_refund_and_the_seller_is_made_up(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock, "o-1", ship=False)
    ruled = app.rule(case, outcome="refund_full", reason_code="not_shipped_in_time",
                     actor=MODERATOR)
    [due] = ruled["refund"]["dues"]
    app.issue_refund(case, amount=Money.of("25.00", "USD"), due_id=due["due_id"], actor=PLATFORM)
    manual_clock.advance(timedelta(hours=2))
    app.appeal(case, statement="I did ship it", actor=SELLER)
    decided = app.decide_appeal(case, decision="overturn", outcome="claim_rejected",
                                reason_code="claim_not_supported", actor=REVIEWER)
    owed = decided["refund"]["dues"][-1]
    assert (owed["payee"], owed["reason"], owed["amount"]["amount"]) == (
        "seller", "overturned_refund", "25.00",
    )
    assert decided["refund"]["status"] == "paid"
    paid = app.issue_refund(case, amount=Money.of("25.00", "USD"), actor=PLATFORM)
    assert paid["refund"]["dues"][-1]["status"] == "paid"
    feed = [e for e in EventFeed(app).log_events(0, 1000).events if e["dispute_id"] == str(case)]
    types = [e["type"] for e in feed]
    assert types[-4:] == [
        "dispute.appealed", "dispute.appeal_decided", "dispute.refund_due", "dispute.refund_paid",
    ]
    decision = feed[-3]["data"]
    assert (decision["decision"], decision["outcome"], decision["previous_outcome"]) == (
        "overturn", "claim_rejected", "refund_full",
    )
    assert feed[-2]["data"]["payee"] == "seller" and feed[-1]["data"]["payee"] == "seller"
    assert "I did ship it" not in str(feed)  # a statement is never public


def test_a_ruling_before_reason_codes_keeps_its_note_from_the_parties(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock, "o-1", ship=False)
    d = app._disputes.for_command(case)  # a ruling as an earlier release recorded it
    d._record(type(d).InterventionResolved, MODERATOR, manual_clock.now(), manual_clock.now(),
              outcome="claim_rejected", reason_code="old-code", refund_amount=None,
              new_ship_by=None, note="internal remark")
    app._disputes.save(d)
    for party in (BUYER, SELLER):
        ruling = app.case(case, party)["intervention"]
        assert (ruling["reason_code"], ruling["reason_text"], ruling["note"]) == (
            "old-code", None, None,
        )
    assert app.case(case, MODERATOR)["intervention"]["note"] == "internal remark"
    [ruled] = [e for e in EventFeed(app).log_events(0, 1000).events if e["type"] == "dispute.ruled"]
    assert ruled["data"]["note"] is None and "internal remark" not in str(ruled)


def test_the_replay_carries_appeals_as_recorded_facts(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    case = under_review(app, manual_clock, "o-1", ship=True)
    app.rule(case, outcome="claim_rejected", reason_code="shipped_on_time", actor=MODERATOR)
    app.appeal(case, statement="it never came", actor=BUYER)
    app.decide_appeal(case, decision="overturn", outcome="refund_full",
                      reason_code="not_received", actor=REVIEWER)
    manual_clock.set(la(12, 5))
    request = build_request(current=app.current_policy(), now=manual_clock.now(),
                            changes={"version": "same-rules"})
    report: Any = run_simulation(app, history_reader_for(app), request)
    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    # Placed, shipped, contacted, responded, intervention, ruling, appeal, decision and the
    # refund it made due: every fact, the appeals included (derived events are re-derived).
    assert report["events_replayed"] == 9
