"""Replaying a history that corrected itself, on SQLite and PostgreSQL.

Two US orders placed on Friday 2026-11-20 10:00 in Los Angeles (ship_by: the end of
Tuesday 11-24; Thanksgiving is Thursday 11-26), recorded through the application:

(a) ``o-feed`` (seller ``s-feed``) shipped on Tuesday 11-24 10:00, in time. The sweep
    records DeadlineMissed on Wednesday; the feed reports the shipment on Thursday, and
    the case records DeadlineMissWithdrawn: the miss does not count against the seller.
(b) ``o-appeal`` (seller ``s-appeal``) shipped on Wednesday 11-25 09:00, a day late.
    The buyer contacts the seller, the seller answers, the buyer asks the platform to
    step in; moderator m-1 rules ``refund_full``; the seller appeals and moderator m-2
    overturns to ``claim_rejected`` (final): the refund due is cancelled.

What the figures must say:

- The simulator's baseline replay reproduces the record: the same derived events
  (DeadlineApproaching, DeadlineMissed, DeadlineMissWithdrawn), at the same instants.
- Late dispatch, in the replay and on the scorecard: (a) is on time (its miss was
  withdrawn), (b) is late.
- The scorecard counts the outcome that stands: after m-1's ruling, s-appeal has lost
  an intervention; after the overturn it has lost none and won its appeal.
- One more business day to ship (ship_by: the end of Wednesday 11-25): (a) keeps its
  events, later (its report on Thursday still finds the candidate's miss, which its
  Tuesday shipment disproves): retimed, on time. (b) shipped on Wednesday 09:00, in
  time: no DeadlineMissed, late dispatch 0, and the buyer's request to step in on
  Wednesday could not have been made (the deadline had not passed): counterfactual.
  Its facts, the ruling, the appeal and the overturn, are replayed as recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import DisputeDesk
from application.projections.queries import ReadModelQueries
from application.simulator import build_request, run_simulation
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.settings import Settings
from infrastructure.stores import open_reader
from tests.integration.test_projections_support import catch_up

LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
FEED_SELLER = Actor("seller", "s-feed")
APPEAL_SELLER = Actor("seller", "s-appeal")
MODERATOR = Actor("moderator", "m-1")
REVIEWER = Actor("moderator", "m-2")
ANALYST = Actor("analyst", "a-1")
DERIVED = ("DeadlineApproaching", "DeadlineMissed", "DeadlineMissWithdrawn")
ONE_MORE_DAY = {"regions.US.ship_within_business_days": 3}


def la(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=LA)


def settings_for(database_url: str) -> Settings:
    return Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})


@pytest.fixture
def app(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build_application(settings_for(database_url), clock=manual_clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def queries(database_url: str, manual_clock: ManualClock) -> Iterator[ReadModelQueries]:
    reader = open_reader(settings_for(database_url).database)
    try:
        yield ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
    finally:
        reader.close()


def place(app: DisputeDesk, order_id: str, seller: Actor) -> UUID:
    view, _ = app.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id=seller.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=app.clock.now(),
        actor=PLATFORM,
    )
    return UUID(view["id"])


class History:
    """The story of the module docstring, recorded step by step."""

    def __init__(self, app: DisputeDesk, clock: ManualClock) -> None:
        self.app, self.clock = app, clock
        assert clock.now() == la(11, 20, 10)
        self.feed = place(app, "o-feed", FEED_SELLER)
        self.appealed = place(app, "o-appeal", APPEAL_SELLER)

    def until_the_ruling(self) -> None:
        app, clock, case = self.app, self.clock, self.appealed
        clock.set(la(11, 25, 9))
        swept = [row["type"] for row in app.record_due(self.feed)]
        assert swept == ["DeadlineApproaching", "DeadlineMissed"]
        app.ship(case, carrier="UPS", tracking_number="1Z-late", shipped_at=clock.now(),
                 actor=APPEAL_SELLER)
        clock.set(la(11, 25, 10))
        app.contact_seller(case, message="where is it?", channel="chat", actor=BUYER)
        clock.set(la(11, 25, 11))
        app.respond(case, message="it left this morning", actor=APPEAL_SELLER)
        clock.set(la(11, 25, 12))
        app.request_intervention(case, reason="other", statement="shipped late", actor=BUYER)
        clock.set(la(11, 25, 13))
        ruled = app.rule(case, outcome="refund_full", reason_code="not_shipped_in_time",
                         actor=MODERATOR)
        assert ruled["status"] == "refund_approved"
        assert [d["status"] for d in ruled["refund"]["dues"]] == ["open"]

    def appeal_and_overturn(self) -> None:
        app, clock, case = self.app, self.clock, self.appealed
        clock.set(la(11, 25, 15))
        app.appeal(case, statement="the buyer was told on Tuesday", actor=APPEAL_SELLER)
        clock.set(la(11, 25, 17))
        decided = app.decide_appeal(case, decision="overturn", outcome="claim_rejected",
                                    reason_code="claim_not_supported", actor=REVIEWER)
        assert decided["appeal"]["outcome"] == "claim_rejected"
        assert decided["intervention"]["outcome"] == "refund_full"  # the first ruling, kept
        assert [d["status"] for d in decided["refund"]["dues"]] == ["cancelled"]

    def late_feed_report(self) -> None:
        self.clock.set(la(11, 26, 10))
        view = self.app.ship(self.feed, carrier="UPS", tracking_number="1Z-feed",
                             shipped_at=la(11, 24, 10), actor=PLATFORM)
        assert view["shipment"]["feed_lag_seconds"] == 48 * 3600

    def sweep(self, at: datetime) -> None:
        """What a sweeper would have recorded by ``at`` (so the record is complete)."""
        self.clock.set(at)
        for case in (self.feed, self.appealed):
            self.app.record_due(case)

    def recorded_derived(self) -> Counter[str]:
        return Counter(
            row["type"]
            for case in (self.feed, self.appealed)
            for row in self.app.history(case, MODERATOR)
            if row["type"] in DERIVED
        )


@pytest.fixture
def history(app: DisputeDesk, manual_clock: ManualClock) -> History:
    return History(app, manual_clock)


def recorded(history: History) -> History:
    history.until_the_ruling()
    history.appeal_and_overturn()
    history.late_feed_report()
    history.sweep(la(11, 30))
    return history


def simulate(app: DisputeDesk, changes: dict[str, Any]) -> dict[str, Any]:
    request = build_request(current=app.current_policy(), now=app.clock.now(), changes=changes)
    return run_simulation(app, history_reader_for(app, batch_size=4), request)


def sellers(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {seller["seller_id"]: seller for seller in report["sellers"]}


def test_the_baseline_reproduces_the_record_and_the_corrected_case_is_on_time(
    app: DisputeDesk, history: History
) -> None:
    recorded(history)
    on_record = history.recorded_derived()
    assert on_record == {"DeadlineApproaching": 2, "DeadlineMissed": 2,
                         "DeadlineMissWithdrawn": 1}

    report = simulate(app, {"version": "same-rules"})

    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    assert report["disputes"] == 2
    assert {kind: report["derived"][kind]["baseline"] for kind in DERIVED} == on_record
    assert (report["changed_disputes"], report["retimed_disputes"]) == (0, 0)
    figures = sellers(report)
    # The withdrawn miss is no late dispatch; the real late shipment is one.
    assert figures["s-feed"]["late_dispatch_rate"] == {"baseline": 0.0, "candidate": 0.0}
    assert figures["s-appeal"]["late_dispatch_rate"] == {"baseline": 1.0, "candidate": 1.0}


def test_the_scorecard_counts_the_outcome_that_stands_after_the_appeal(
    app: DisputeDesk, history: History, database_url: str, queries: ReadModelQueries
) -> None:
    history.until_the_ruling()
    catch_up(app, database_url)
    card = queries.scorecard(ANALYST, "s-appeal")
    assert (card["interventions"], card["interventions_lost"]) == (1, 1)  # the first ruling
    assert (card["appeals_won"], card["appeals_lost"]) == (0, 0)

    history.appeal_and_overturn()
    history.late_feed_report()
    catch_up(app, database_url)
    card = queries.scorecard(ANALYST, "s-appeal")
    assert (card["interventions"], card["interventions_lost"]) == (1, 0)  # overturned
    assert (card["appeals_won"], card["appeals_lost"]) == (1, 0)
    assert (card["shipped"], card["late_dispatch_rate"]) == (1, 1.0)
    assert card["refund_rate"] == 0.0  # the ruling's refund was cancelled before payment

    feed = queries.scorecard(ANALYST, "s-feed")
    assert (feed["shipped"], feed["late_dispatch_rate"]) == (1, 0.0)
    assert (feed["interventions"], feed["appeals_won"], feed["appeals_lost"]) == (0, 0, 0)


def test_one_more_business_day_to_ship_changes_the_figures_as_the_rules_say(
    app: DisputeDesk, history: History
) -> None:
    recorded(history)
    recorded_status = app.case(history.appealed, MODERATOR)["status"]

    report = simulate(app, ONE_MORE_DAY)

    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    # (a): DeadlineMissed moves to the end of Wednesday and is still withdrawn by the
    # Tuesday shipment reported on Thursday. (b): shipped Wednesday morning, in time.
    assert {kind: report["derived"][kind] for kind in DERIVED} == {
        "DeadlineApproaching": {"baseline": 2, "candidate": 2},
        "DeadlineMissed": {"baseline": 2, "candidate": 1},
        "DeadlineMissWithdrawn": {"baseline": 1, "candidate": 1},
    }
    assert (report["retimed_disputes"], report["changed_disputes"]) == (1, 1)
    figures = sellers(report)
    assert figures["s-feed"]["late_dispatch_rate"] == {"baseline": 0.0, "candidate": 0.0}
    assert figures["s-appeal"]["late_dispatch_rate"] == {"baseline": 1.0, "candidate": 0.0}
    # Under the candidate the buyer could not have asked the platform to step in on
    # Wednesday noon: the deadline had not passed.
    assert report["counterfactual_disputes"] == 1
    assert report["counterfactual_facts"] == {"InterventionRequested": 1}
    [sample] = report["samples"]
    assert sample["order_id"] == "o-appeal" and sample["change"] == "changed"
    assert sample["baseline"] == ["DeadlineApproaching", "DeadlineMissed"]
    assert sample["candidate"] == ["DeadlineApproaching"]
    assert sample["impossible_fact"]["type"] == "InterventionRequested"
    # The ruling, the appeal and its overturn are recorded facts, replayed as recorded on
    # both sides: both end where the record ends, with the overturn's outcome (the ruling's
    # refund cancelled: shipped, not refund_approved as the first ruling left it).
    assert recorded_status == "shipped"
    assert sample["status"] == {"baseline": "shipped", "candidate": "shipped"}
    for side in ("baseline", "candidate"):
        types = [entry["type"] for entry in sample["timeline"][side]]
        assert types[-5:] == [
            "InterventionResolved", "RefundDue", "AppealFiled", "AppealDecided",
            "RefundCancelled",
        ], types
