"""The demo marketplace: realistic, reproducible, and written only through the application."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from application.disputes import DisputeDesk
from domain.deadlines import DERIVED_TYPES
from domain.dispute import EVENT_TYPES, STATUSES, Actor, dispute_id_for
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from interface.demo.profile import DEFAULT_PROFILE, DemoProfile
from interface.demo.scenario import DemoError, DemoSummary, loaded_orders, order_id, run_demo

END = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thanksgiving; Veterans Day is in the window
MODERATOR = Actor("moderator", "auditor")
CURRENCIES = {"US": "USD", "GB": "GBP", "TH": "THB"}

# More trouble and a shorter window than the default, so that 150 orders reach
# every status; the seed is fixed, so the run is too.
STORMY: DemoProfile = dataclasses.replace(
    DEFAULT_PROFILE,
    days=20,
    orders_per_seller=10,
    tiers=tuple(
        dataclasses.replace(tier, share=share)
        for tier, share in zip(DEFAULT_PROFILE.tiers, (0.4, 0.35, 0.25), strict=True)
    ),
    early_contact=0.3,
    escalates=0.7,
    returns=0.3,
    return_transit_days=(3.0, 9.0),
    ruling_hours=(12.0, 120.0),
    closes_after_refund=0.5,
    appeals=1.0,  # few rulings in 150 orders: each appealed, each overturned
    overturns=1.0,
    abusive_reviews=0.2,  # and a few reviews a moderator hides
)
STORMY_SEED = 7
STORMY_ORDERS = 150


def build(url: str, clock: ManualClock) -> DisputeDesk:
    return build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=clock)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(END)


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build(database_url, clock)
    yield application
    application.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def histories(app: DisputeDesk, seed: int, orders: int) -> dict[str, list[dict[str, Any]]]:
    return {
        order_id(seed, n): app.history(dispute_id_for(order_id(seed, n)), MODERATOR)
        for n in range(1, orders + 1)
    }


# ---- the lifecycle, checked against the store ------------------------------------------


def test_a_stormy_marketplace_reaches_every_status_and_the_store_agrees(
    app: DisputeDesk, clock: ManualClock
) -> None:
    # Given a marketplace with plenty of trouble, driven through the application
    summary = run_demo(app, clock, orders=STORMY_ORDERS, seed=STORMY_SEED, end=END, profile=STORMY)
    stored = histories(app, STORMY_SEED, STORMY_ORDERS)

    # Then no command was ever refused and nothing was recorded behind the demo's back
    assert summary.refused == {}
    assert "(unexpected)" not in summary.events_by_type
    assert summary.created == STORMY_ORDERS and summary.already_loaded == 0
    # And every status and every derived event type occurs
    assert set(summary.disputes_by_status) == set(STATUSES)
    # (reminders too: the bundled policy sets reminder_hours_before = 24)
    assert set(DERIVED_TYPES) <= set(summary.events_by_type)
    assert set(summary.events_by_type) == set(EVENT_TYPES) - {"Created"}  # OrderPlaced alias
    # And the summary's counts are the store's
    types = Counter(row["type"] for rows in stored.values() for row in rows)
    assert dict(types) == summary.events_by_type
    assert sum(types.values()) == summary.events
    statuses = Counter(app.case(dispute_id_for(o), MODERATOR)["status"] for o in stored)
    assert dict(statuses) == summary.disputes_by_status
    assert set(summary.orders_by_region) == {"US", "GB", "TH"}
    assert "made_to_order" in summary.orders_by_category

    check_histories_are_gap_free_and_in_time_order(stored)
    check_derived_events_fire_at_their_deadlines(app, stored, STORMY.sweep_interval)
    check_orders_look_real(app, stored, days=STORMY.days)


def check_histories_are_gap_free_and_in_time_order(stored: dict[str, list[dict[str, Any]]]) -> None:
    for order, rows in stored.items():
        assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1)), order
        recorded = [at(r["recorded_at"]) for r in rows]
        # A shipment the feed reported late (and the misses it withdrew) is dated back.
        occurred = [at(r["occurred_at"]) for r in rows if not reported_late(r)]
        assert recorded == sorted(recorded), order
        assert occurred == sorted(occurred), order
        assert max(recorded) <= END and max(occurred) <= END, order
        placed = rows[0]
        assert placed["type"] == "OrderPlaced"
        lag = at(placed["recorded_at"]) - at(placed["occurred_at"])
        assert timedelta(0) <= lag <= timedelta(seconds=DEFAULT_PROFILE.feed_lag_seconds[1])
        for row in rows[1:]:
            if reported_late(row):
                lag = at(row["recorded_at"]) - at(row["occurred_at"])
                assert timedelta(0) < lag, (order, row)
            elif row["actor_role"] != "system":  # a command acts at its own instant
                assert at(row["occurred_at"]) == at(row["recorded_at"]), (order, row)


def reported_late(row: dict[str, Any]) -> bool:
    """A shipment recorded after it happened, or the withdrawal of a miss it disproved."""
    if row["type"] == "DeadlineMissWithdrawn":
        return True
    return bool(row["type"] == "OrderShipped" and row["occurred_at"] != row["recorded_at"])


def check_derived_events_fire_at_their_deadlines(
    app: DisputeDesk, stored: dict[str, list[dict[str, Any]]], interval: timedelta
) -> None:
    for order, rows in stored.items():
        placed = rows[0]["data"]
        policy = app.policy(rows[0]["policy_version"])
        assert policy is not None
        rules = policy.rules_for(placed["region"], placed["category"])
        calendar = policy.calendar(placed["region"])
        refund_requested: datetime | None = None
        for i, row in enumerate(rows):
            if row["type"] == "RefundRequested":
                refund_requested = at(row["occurred_at"])
            if row["actor_role"] != "system":
                continue
            data = row["data"]
            if row["type"] == "RefundDue":  # owed by the derived approval just before it
                approval = rows[i - 1]
                assert approval["type"] in ("OrderAutoCancelled", "RefundAutoApproved"), order
                assert (row["occurred_at"], row["recorded_at"]) == (
                    approval["occurred_at"], approval["recorded_at"]
                ), order
                continue
            if row["type"] == "DeadlineMissWithdrawn":  # with the shipment that disproved it
                shipment = rows[i - 1]
                assert shipment["type"] in ("OrderShipped", "DeadlineMissWithdrawn"), order
                assert row["recorded_at"] == shipment["recorded_at"], order
                assert row["occurred_at"] == data["shipped_at"] <= data["ship_by"], order
                continue
            if row["type"] == "DeadlineApproaching":  # the notice before a seller's deadline
                deadline = at(data["due_at"]) - timedelta(hours=rules.reminder_hours_before)
            elif row["type"] == "DeadlineMissed":
                deadline = at(data["ship_by"])
            elif row["type"] == "PromiseBroken":  # the end of the promised day, local time
                deadline = calendar.end_of_day(date.fromisoformat(data["promised_ship_date"]))
            elif row["type"] == "OrderAutoCancelled":
                deadline = at(placed["auto_cancel_at"])
            elif row["type"] == "SellerResponseOverdue":
                contacted = at(data["contacted_at"])
                deadline = calendar.window_end(contacted, rules.seller_response_business_days)
            else:
                assert row["type"] == "RefundAutoApproved" and refund_requested is not None
                deadline = calendar.window_end(
                    refund_requested, rules.refund_response_business_days
                )
            occurred, recorded = at(row["occurred_at"]), at(row["recorded_at"])
            assert occurred == deadline, (order, row)
            # Recorded at the sweep tick after the deadline, or by the action that
            # came before that tick, or at the end of the demo.
            assert occurred <= recorded < occurred + interval, (order, row)
            on_tick = recorded.timestamp() % interval.total_seconds() == 0
            by_action = any(
                later["recorded_at"] == row["recorded_at"] and later["actor_role"] != "system"
                for later in rows[i + 1 :]
            )
            assert on_tick or by_action or recorded == END, (order, row)


def check_orders_look_real(
    app: DisputeDesk, stored: dict[str, list[dict[str, Any]]], *, days: int
) -> None:
    policy = app.current_policy()
    holidays_hit = Counter[str]()
    for rows in stored.values():
        placed = rows[0]["data"]
        region = placed["region"]
        assert placed["currency"] == CURRENCIES[region]
        assert placed["amount"]["currency"] == CURRENCIES[region]
        assert placed["category"] in policy.categories
        placed_at = at(placed["placed_at"])
        assert END - timedelta(days=days) <= placed_at <= END
        calendar = policy.calendar(region)
        day = calendar.local_date(placed_at)
        if day in calendar.holidays_in(day.year):
            holidays_hit[region] += 1
        assert placed["buyer_id"].startswith(f"b-{STORMY_SEED}-")
        assert placed["seller_id"].startswith(f"s-{STORMY_SEED}-")
    # Veterans Day and Thanksgiving fall in the window: US orders were placed on them.
    assert holidays_hit["US"] > 0


# ---- reproducible ------------------------------------------------------------------------


def test_the_same_seed_writes_the_same_history_and_another_seed_does_not(
    app: DisputeDesk, clock: ManualClock, tmp_path: Path
) -> None:
    # Given the same seed and end loaded into this store and into a fresh SQLite file
    first = run_demo(app, clock, orders=60, seed=11, end=END)
    twin_clock = ManualClock(END)
    twin = build(f"sqlite:///{tmp_path}/twin.db", twin_clock)
    try:
        second = run_demo(twin, twin_clock, orders=60, seed=11, end=END)
        other = run_demo(twin, twin_clock, orders=60, seed=12, end=END)
        # Then both stores hold exactly the same rows (times, actors, payloads)
        assert histories(app, 11, 60) == histories(twin, 11, 60)
        assert comparable(first) == comparable(second)
        # And another seed tells another story
        assert shape(histories(twin, 12, 60)) != shape(histories(twin, 11, 60))
        assert comparable(other) != comparable(first)
    finally:
        twin.close()


def comparable(summary: DemoSummary) -> dict[str, Any]:
    figures = summary.to_dict()
    for timing in ("elapsed_seconds", "orders_per_second", "events_per_second"):
        figures.pop(timing)
    return figures


def shape(stored: dict[str, list[dict[str, Any]]]) -> list[list[tuple[str, str]]]:
    return [[(r["type"], r["occurred_at"]) for r in rows] for rows in stored.values()]


def test_loading_the_same_orders_again_records_nothing(
    app: DisputeDesk, clock: ManualClock
) -> None:
    assert loaded_orders(app, seed=5, orders=40) == []
    first = run_demo(app, clock, orders=40, seed=5, end=END)
    assert loaded_orders(app, seed=5, orders=40)[0] == order_id(5, 1)

    again = run_demo(app, clock, orders=40, seed=5, end=END)

    assert first.created == 40 and first.events > 40
    assert (again.created, again.already_loaded, again.events) == (0, 40, 0)
    assert again.events_by_type == {} and again.refused == {}
    assert sum(len(rows) for rows in histories(app, 5, 40).values()) == first.events


def test_a_window_that_starts_before_any_policy_is_refused(
    app: DisputeDesk, clock: ManualClock
) -> None:
    with pytest.raises(DemoError, match="no policy was in force"):
        run_demo(app, clock, orders=10, seed=1, end=END, days=400)
    assert loaded_orders(app, seed=1, orders=10) == []


# ---- the command line --------------------------------------------------------------------


def test_the_cli_loads_prints_a_summary_and_refuses_to_load_twice(tmp_path: Path) -> None:
    from interface.cli import app as cli

    runner = CliRunner()
    env = {"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    args = [
        "demo",
        "--orders",
        "30",
        "--seed",
        "3",
        "--days",
        "10",
        "--end",
        "2026-11-20T12:00:00Z",
    ]

    loaded = runner.invoke(cli, [*args, "--json"], env=env)

    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.stdout)
    assert summary["created"] == 30 and summary["events"] > 30
    assert summary["end"] == "2026-11-20T12:00:00+00:00"
    assert summary["refused"] == {}
    assert "--end 2026-11-20T12:00:00+00:00" in loaded.stderr

    refused = runner.invoke(cli, args, env=env)
    assert refused.exit_code == 1
    assert "already loaded" in refused.stderr

    resumed = runner.invoke(cli, [*args, "--resume"], env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "disputes by status" in resumed.stdout
    assert "30 orders were already loaded" in resumed.stderr

    future = runner.invoke(cli, ["demo", "--end", "2999-01-01T00:00:00Z"], env=env)
    assert future.exit_code == 2 and "future" in future.stderr
