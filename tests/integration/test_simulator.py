"""The simulator on SQLite and PostgreSQL: known answers, fidelity, read-only, snapshots."""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from application.disputes import DisputeDesk
from application.simulator import build_request, run_simulation
from domain.dispute import Actor, dispute_id_for
from domain.errors import DomainError
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.database_url import parse_database_url
from infrastructure.history_reader import (
    PostgresHistoryReader,
    SQLiteHistoryReader,
    history_reader_for,
)
from infrastructure.settings import Settings
from tests.conftest import reset_postgres
from tests.integration.test_simulator_support import (
    AS_OF,
    CHANGES,
    ORDERS,
    PLACED,
    assert_known_answers,
    build_history,
)

PLATFORM = Actor("platform", "feed")


def open_desk(database_url: str, clock: ManualClock) -> DisputeDesk:
    return build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=clock
    )


@pytest.fixture
def desk(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = open_desk(database_url, manual_clock)
    yield application
    application.close()


def simulate(desk: DisputeDesk, progress: Any = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("changes", CHANGES)
    request = build_request(current=desk.current_policy(), now=desk.clock.now(), **kwargs)
    return run_simulation(desk, history_reader_for(desk, batch_size=4), request, progress=progress)


def test_given_hand_built_history_when_simulated_then_known_answers(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    report = simulate(desk)
    assert_known_answers(report)
    assert report["events_read"] >= report["events_replayed"]


def test_given_filters_when_simulated_then_only_those_orders(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    assert simulate(desk, region="GB")["disputes"] == 1
    assert simulate(desk, seller_id="s-us", category="general")["disputes"] == 5
    assert simulate(desk, placed_from=PLACED + timedelta(minutes=1))["disputes"] == 0


def test_given_empty_store_when_simulated_then_empty_report(desk: DisputeDesk) -> None:
    report = simulate(desk)
    assert report["disputes"] == report["events_replayed"] == 0
    assert report["baseline_matches_recorded"] is True
    assert report["events_read"] >= 1  # the policy ledger, skipped


# ---- fidelity: the baseline replays what the application recorded ------------------


def _random_history(desk: DisputeDesk, clock: ManualClock, orders: int, seed: int) -> datetime:
    """Random lifecycles through the real commands, with sweeps at several instants."""
    rng = random.Random(seed)
    start = PLACED
    actions: list[tuple[datetime, int, Any]] = []
    for n in range(orders):
        order_id = f"r-{n}"
        dispute_id = dispute_id_for(order_id)
        placed_at = start + timedelta(hours=rng.uniform(0, 72))
        region = rng.choice(("US", "US", "GB", "TH"))
        currency = {"US": "USD", "GB": "GBP", "TH": "THB"}[region]
        buyer = Actor("buyer", f"b-{n % 7}")
        seller = Actor("seller", f"s-{n % 5}")

        def place(
            order_id: str = order_id, placed_at: datetime = placed_at, region: str = region,
            currency: str = currency, buyer: Actor = buyer, seller: Actor = seller,
        ) -> None:
            desk.place_order(
                order_id=order_id, buyer_id=buyer.id, seller_id=seller.id, region=region,
                category=rng.choice(("general", "made_to_order", "fashion")),
                amount=Money.of("40.00", currency), placed_at=placed_at, actor=PLATFORM,
            )

        steps: list[tuple[float, Any]] = []
        ship_after = rng.choice((0.5, 1.5, 3.5, 6.0, None))
        if ship_after is not None:
            steps.append((ship_after, lambda d=dispute_id, s=seller: desk.ship(
                d, carrier="ups", tracking_number="1Z", shipped_at=clock.now(), actor=s)))
            steps.append((ship_after + 2, lambda d=dispute_id: desk.deliver(
                d, delivered_at=clock.now(), actor=PLATFORM)))
        if rng.random() < 0.6:
            contact = rng.uniform(1, 5)
            steps.append((contact, lambda d=dispute_id, b=buyer: desk.contact_seller(
                d, message="where is it?", channel="chat", actor=b)))
            if rng.random() < 0.5:
                steps.append((contact + rng.uniform(0.2, 4), lambda d=dispute_id, s=seller:
                              desk.respond(d, message="soon", actor=s)))
        if rng.random() < 0.4:
            asked = rng.uniform(2, 7)
            steps.append((asked, lambda d=dispute_id, b=buyer: desk.request_refund(
                d, reason="late", actor=b)))
            if rng.random() < 0.5:
                steps.append((asked + rng.uniform(0.2, 4), lambda d=dispute_id, s=seller:
                              desk.decide_refund(d, approve=rng.random() < 0.5,
                                                 reason="stock", actor=s)))
        if rng.random() < 0.3:
            steps.append((rng.uniform(5, 8), lambda d=dispute_id, b=buyer:
                          desk.request_intervention(d, reason="not_shipped",
                                                    statement="nothing came", actor=b)))
            steps.append((rng.uniform(8, 10), lambda d=dispute_id: desk.rule(
                d, outcome="refund_full", reason_code="not_received",
                actor=Actor("moderator", "m-1"))))
        actions.append((placed_at, len(actions), place))
        for days, step in steps:
            actions.append((placed_at + timedelta(days=days), len(actions), step))
    last = max(when for when, _, _ in actions)
    for day in (3, 6, 9, 13):
        when = start + timedelta(days=day, hours=rng.uniform(0, 12))
        actions.append((when, len(actions), lambda: [
            desk.record_due(dispute_id_for(f"r-{n}")) for n in range(orders)
        ]))
    actions.sort(key=lambda a: (a[0], a[1]))
    for when, _, call in actions:
        clock.set(when)
        with contextlib.suppress(DomainError):  # the lifecycle went another way
            call()
    return max(last, actions[-1][0]) + timedelta(hours=1)


def test_given_history_recorded_by_the_application_then_baseline_reproduces_it(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    end = _random_history(desk, manual_clock, orders=40, seed=11)
    manual_clock.set(end + timedelta(days=3))
    for changes in ({"version": "identical"}, CHANGES):
        report = simulate(desk, changes=changes)
        assert report["disputes"] == 40
        assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    # At an earlier instant too (only facts recorded by then count).
    report = simulate(desk, as_of=PLACED + timedelta(days=4))
    assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
    identical = simulate(desk, changes={"version": "identical"})
    assert identical["changed_disputes"] == identical["retimed_disputes"] == 0
    assert sum(c["baseline"] for c in identical["derived"].values()) > 10


# ---- never writes; one consistent snapshot ------------------------------------------


def _sqlite_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _postgres_checksum(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), max(notification_id), md5(string_agg("
            "originator_id::text || ':' || originator_version || ':' || topic || ':' || "
            "encode(state, 'hex'), ',' ORDER BY notification_id)) FROM disputedesk_events"
        ).fetchone()
    assert row is not None
    return tuple(row)


def _store_fingerprint(database_url: str) -> tuple[Any, ...]:
    url = parse_database_url(database_url)
    if url.sqlite_path is not None:
        return (_sqlite_hash(url.sqlite_path),)
    return _postgres_checksum(database_url)


def test_given_a_store_when_simulated_then_it_is_unchanged(
    database_url: str, manual_clock: ManualClock
) -> None:
    desk = open_desk(database_url, manual_clock)
    build_history(desk, manual_clock)
    desk.close()
    before = _store_fingerprint(database_url)
    desk = open_desk(database_url, manual_clock)
    try:
        assert_known_answers(simulate(desk))
        simulate(desk, changes={"regions.GB": None})
    finally:
        desk.close()
    assert _store_fingerprint(database_url) == before


def test_given_writes_during_the_read_then_the_report_holds_the_snapshot(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    written: list[int] = []

    def write_while_reading(done: int, total: int) -> None:
        if len(written) < 3:  # the service keeps taking writes meanwhile
            desk.place_order(
                order_id=f"late-{len(written)}", buyer_id="b", seller_id="s-new", region="US",
                category="general", amount=Money.of("5.00", "USD"),
                placed_at=AS_OF - timedelta(hours=1), actor=PLATFORM,
            )
            desk.add_note(dispute_id_for("A"), text="seen", actor=Actor("moderator", "m"))
            written.append(done)

    report = simulate(desk, progress=write_while_reading)
    assert len(written) == 3
    assert_known_answers(report)
    assert "s-new" not in {s["seller_id"] for s in report["sellers"]}
    # The next simulation sees the new orders and notes.
    after = simulate(desk)
    assert after["disputes"] == len(ORDERS) + 3
    assert after["events_replayed"] == report["events_replayed"] + 6


def test_sqlite_reader_opens_the_file_read_only(tmp_path: Path) -> None:
    missing = SQLiteHistoryReader(tmp_path / "none.db")
    with pytest.raises(FileNotFoundError), missing.scan():
        pass
    assert not (tmp_path / "none.db").exists()


def test_postgres_reader_reads_in_a_read_only_transaction(postgres_url: str) -> None:
    reset_postgres(postgres_url)
    clock = ManualClock(PLACED)
    desk = open_desk(postgres_url, clock)
    try:
        build_history(desk, clock)
        reader = history_reader_for(desk)
        assert isinstance(reader, PostgresHistoryReader)
        with reader.scan() as scan:
            rows = [row for batch in scan.batches() for row in batch]
        assert len(rows) == scan.estimated_events
        keys = [(str(r[0]), r[1]) for r in rows]
        assert keys == sorted(keys)
    finally:
        desk.close()
    with psycopg.connect(postgres_url) as conn:
        conn.read_only = True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM disputedesk_events")


def test_rows_come_grouped_by_aggregate_in_version_order(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    with history_reader_for(desk, batch_size=5).scan() as scan:
        rows = [row for batch in scan.batches() for row in batch]
    assert scan.estimated_events >= len(rows) > 0
    seen: list[str] = []
    for originator_id, version, _, _ in rows:
        key = str(originator_id)
        if not seen or seen[-1] != key:
            assert key not in seen, "an aggregate's events are not contiguous"
            seen.append(key)
            assert version == 1
    assert len(seen) == len(ORDERS) + 1  # and the policy ledger


def test_as_of_defaults_to_the_application_clock(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    manual_clock.set(datetime(2026, 11, 21, tzinfo=UTC))
    report = simulate(desk)
    assert report["as_of"] == "2026-11-21T00:00:00Z"
    assert report["events_replayed"] == len(ORDERS)
