"""Counterfactual means a recorded fact could not have happened under the candidate.

One US order placed Friday 2026-11-20 10:00 in Los Angeles, shipped late on
Monday 30th and delivered on Tuesday 1st: DeadlineMissed at the end of Tuesday
24th, auto-cancel due at the end of Wednesday December 2nd (Thanksgiving is
skipped). A candidate that moves ship_by a day only retimes the derived events,
and the later shipment and delivery were possible under it. A candidate that
auto-cancels after 4 business days (end of Friday 27th) cancels the order before
the shipment was recorded: that shipment could not have happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from application.disputes import DisputeDesk
from application.simulator import build_request, run_simulation
from domain.dispute import Actor, dispute_id_for
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.settings import Settings

PLACED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
SHIPPED = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
SELLER = Actor("seller", "s-us")
PLATFORM = Actor("platform", "feed")


@pytest.fixture
def desk(database_url: str) -> Iterator[DisputeDesk]:
    clock = ManualClock(PLACED)
    application = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=clock
    )
    order = dispute_id_for("late")
    application.place_order(
        order_id="late", buyer_id="b-1", seller_id="s-us", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=PLACED, actor=PLATFORM,
    )
    clock.set(SHIPPED)
    application.ship(order, carrier="ups", tracking_number="1Z", shipped_at=SHIPPED, actor=SELLER)
    clock.set(DELIVERED)
    application.deliver(order, delivered_at=DELIVERED, actor=PLATFORM)
    clock.set(AS_OF)
    yield application
    application.close()


def simulate(desk: DisputeDesk, changes: dict[str, Any]) -> dict[str, Any]:
    request = build_request(
        current=desk.current_policy(), now=desk.clock.now(), changes=changes, as_of=AS_OF
    )
    return run_simulation(desk, history_reader_for(desk), request)


def test_given_a_delivery_after_a_retimed_deadline_then_retimed_not_counterfactual(
    desk: DisputeDesk,
) -> None:
    report = simulate(desk, {"regions.US.ship_within_business_days": 3})

    assert report["baseline_matches_recorded"] is True
    assert report["derived"]["DeadlineMissed"] == {"baseline": 1, "candidate": 1}
    assert report["retimed_disputes"] == 1
    assert report["changed_disputes"] == 0
    assert report["counterfactual_disputes"] == 0
    assert report["counterfactual_facts"] == {}
    assert report["samples"] == []  # retimed only: nothing to show


def test_given_a_shipment_after_an_earlier_auto_cancel_then_counterfactual(
    desk: DisputeDesk,
) -> None:
    report = simulate(desk, {"regions.US.auto_cancel_after_business_days": 4})

    assert report["derived"]["OrderAutoCancelled"] == {"baseline": 0, "candidate": 1}
    assert report["changed_disputes"] == 1
    assert report["retimed_disputes"] == 0
    assert report["counterfactual_disputes"] == 1
    assert report["counterfactual_facts"] == {"OrderShipped": 1}
    [sample] = report["samples"]
    assert sample["change"] == "changed" and sample["counterfactual"] is True
    assert sample["status"] == {"baseline": "delivered", "candidate": "cancelled"}
    impossible = sample["impossible_fact"]
    assert impossible["type"] == "OrderShipped"
    assert datetime.fromisoformat(impossible["recorded_at"]) == SHIPPED
    assert "auto-cancelled" in impossible["reason"]
