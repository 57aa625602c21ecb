"""A shipment the feed reported late, through the application, on SQLite and PostgreSQL.

Order placed Friday 2026-11-20 10:00 in Los Angeles (ship_by: the end of Tuesday
11-24). The seller ships on Tuesday 11-24 10:00; the sweeper records DeadlineMissed on
Wednesday 11-25; the feed reports the shipment on Thursday 11-26. The miss is
withdrawn for the scorecard and the simulator's late-dispatch rate; the history
keeps both events; moderators see the feed's lag.
"""

from __future__ import annotations

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
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.stores import open_reader
from tests.integration.test_projections_support import (
    MODERATOR,
    PLATFORM,
    catch_up,
    place,
    settings_for,
)

LA = ZoneInfo("America/Los_Angeles")
BUYER = Actor("buyer", "b-1")


def la(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=LA)


SHIPPED = la(11, 24, 10)  # Tuesday, in time
LAG = 48 * 3600  # reported Thursday 10:00


@pytest.fixture
def queries(database_url: str, manual_clock: ManualClock) -> Iterator[ReadModelQueries]:
    reader = open_reader(settings_for(database_url).database)
    try:
        yield ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
    finally:
        reader.close()


def late_report(app: DisputeDesk, clock: ManualClock) -> UUID:
    """The story above, up to the feed's report; returns the dispute."""
    dispute = UUID(place(app, "o-late-feed")["id"])
    clock.set(la(11, 25, 9))
    assert [row["type"] for row in app.record_due(dispute)][-1] == "DeadlineMissed"
    clock.set(la(11, 26, 10))
    app.ship(dispute, carrier="UPS", tracking_number="1Z", shipped_at=SHIPPED,
             actor=PLATFORM)
    return dispute


def test_the_scorecard_withdraws_the_miss_and_the_history_keeps_both(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    dispute = UUID(place(app, "o-late-feed")["id"])
    manual_clock.set(la(11, 25, 9))
    app.record_due(dispute)
    catch_up(app, database_url)
    assert queries.scorecard(BUYER, "s-1")["late_dispatch_rate"] == 1.0

    manual_clock.set(la(11, 26, 10))
    view = app.ship(dispute, carrier="UPS", tracking_number="1Z", shipped_at=SHIPPED,
                    actor=PLATFORM)
    catch_up(app, database_url)
    card = queries.scorecard(BUYER, "s-1", min_position=view["position"])
    assert (card["orders"], card["shipped"], card["late_dispatch_rate"]) == (1, 1, 0.0)

    history = app.history(dispute, MODERATOR)
    assert [row["type"] for row in history][-3:] == [
        "DeadlineMissed", "OrderShipped", "DeadlineMissWithdrawn",
    ]
    withdrawn = history[-1]
    assert withdrawn["data"]["feed_lag_seconds"] == LAG
    assert withdrawn["data"]["reported_at"] == "2026-11-26T18:00:00Z"
    assert withdrawn["occurred_at"] == withdrawn["data"]["shipped_at"] == "2026-11-24T18:00:00Z"


def test_moderators_see_the_feed_lag_and_parties_do_not(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = late_report(app, manual_clock)
    shipment = app.case(dispute, MODERATOR)["shipment"]
    assert shipment["reported_at"] == "2026-11-26T18:00:00Z"
    assert shipment["feed_lag_seconds"] == LAG
    seen_by_buyer = app.case(dispute, BUYER)["shipment"]
    assert "feed_lag_seconds" not in seen_by_buyer and "reported_at" not in seen_by_buyer


def test_the_replay_applies_the_same_rule(app: DisputeDesk, manual_clock: ManualClock) -> None:
    late_report(app, manual_clock)
    request = build_request(
        current=app.current_policy(), now=manual_clock.now(),
        changes={"regions.US.ship_within_business_days": 1},
    )
    report: dict[str, Any] = run_simulation(app, history_reader_for(app, batch_size=4), request)
    assert report["baseline_matches_recorded"] is True
    assert report["derived"]["DeadlineMissed"]["baseline"] == 1
    assert report["derived"]["DeadlineMissWithdrawn"]["baseline"] == 1
    [seller] = report["sellers"]
    # Shipped Tuesday: in time for Tuesday's deadline, late for the candidate's Monday one.
    assert seller["late_dispatch_rate"] == {"baseline": 0.0, "candidate": 1.0}
