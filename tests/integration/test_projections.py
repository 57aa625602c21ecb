"""The read models against the events that feed them, on SQLite and on PostgreSQL.

Histories are built through the application with the manual clock (Friday
2026-11-20 10:00 in Los Angeles: ship_by is the end of Tuesday 11-24, the
auto-cancel instant the end of Wednesday 12-02), then projected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import pytest

from application.disputes import DisputeDesk, Forbidden
from application.event_decoder import FastDecoder
from application.projections.engine import CatchUp
from application.projections.errors import (
    PositionConflict,
    ReadModelBehind,
    ReadModelUnavailable,
    SellerNotFound,
)
from application.projections.queries import ReadModelQueries
from application.projections.rebuild import rebuild
from application.projections.records import CURRENT, RETIRED, DisputeRow
from application.projections.runner import Projector, lanes_of
from application.projections.source import ApplicationSource
from application.projections.worker import start_worker
from bench.projections.generate import generate
from domain.dispute import Actor, Dispute
from domain.errors import InvalidInput
from domain.money import Money
from infrastructure.clock import ManualClock
from infrastructure.log_reader import log_reader_for
from infrastructure.stores import open_reader
from infrastructure.stores.runtime import projection_source
from tests.conftest import reset_postgres
from tests.integration.test_projections_support import (
    MODERATOR,
    PLATFORM,
    build,
    catch_up,
    current_versions,
    dump,
    opened_store,
    place,
    settings_for,
    store_for,
)

LA = ZoneInfo("America/Los_Angeles")


def la(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


def buyer(name: str) -> Actor:
    return Actor("buyer", name)


def seller(name: str) -> Actor:
    return Actor("seller", name)


@pytest.fixture
def queries(
    app: DisputeDesk, database_url: str, manual_clock: ManualClock
) -> Iterator[ReadModelQueries]:
    reader = open_reader(settings_for(database_url).database)
    try:
        yield ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
    finally:
        reader.close()


def ids(page: dict[str, Any]) -> list[str]:
    return [row["order_id"] for row in page["data"]]


# ---- the disputes view and the moderation queue ---------------------------------


def test_disputes_view_and_queue_follow_each_case(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    shipped = UUID(place(app, "o-shipped", buyer="b-1")["id"])
    late = UUID(place(app, "o-late", buyer="b-2")["id"])
    ruled = UUID(place(app, "o-ruled", buyer="b-1", seller="s-2")["id"])
    cancelled = UUID(place(app, "o-cancelled", buyer="b-3")["id"])
    app.ship(shipped, carrier="UPS", tracking_number="1Z", shipped_at=manual_clock.now(),
             actor=seller("s-1"))
    manual_clock.set(la(11, 25, 9))
    for dispute in (late, ruled, cancelled):
        app.record_due(dispute)
    app.contact_seller(ruled, message="where is it?", channel="chat", actor=buyer("b-1"))
    manual_clock.advance(timedelta(hours=1))
    app.respond(ruled, message="soon", actor=seller("s-2"))
    manual_clock.advance(timedelta(hours=1))
    view = app.request_intervention(ruled, reason="not_shipped", statement="nothing came",
                                    actor=buyer("b-1"))
    catch_up(app, database_url)

    everything = queries.disputes(MODERATOR, min_position=view["position"])
    assert sorted(ids(everything)) == ["o-cancelled", "o-late", "o-ruled", "o-shipped"]
    for row in everything["data"]:
        dispute = app.repository.get(UUID(row["id"]))
        assert row["status"] == dispute.status
        pending: list[Any] = dispute.pending_deadlines(app.policy_for(dispute))
        expected = {"at": pending[0].at, "type": pending[0].kind} if pending else None
        got = row["next_due"] and {
            "at": datetime.fromisoformat(row["next_due"]["at"]), "type": row["next_due"]["type"]
        }
        assert got == expected
        assert row["version"] == dispute.version
    by_order = {row["order_id"]: row for row in everything["data"]}
    assert by_order["o-shipped"]["status"] == "shipped"
    assert by_order["o-late"]["status"] == "overdue"
    assert by_order["o-late"]["next_due"]["type"] == "OrderAutoCancelled"
    assert by_order["o-ruled"]["status"] == "under_review"
    assert by_order["o-ruled"]["intervention"]["reason"] == "not_shipped"
    assert by_order["o-shipped"]["amount"] == {"amount": "25.00", "currency": "USD"}

    queue = queries.moderation_queue(MODERATOR)
    assert ids(queue) == ["o-ruled"]
    assert queue["data"][0]["reason"] == "not_shipped"
    assert queue["data"][0]["age_hours"] == 0.0
    assert ids(queries.moderation_queue(MODERATOR, min_age_hours=1)) == []
    assert ids(queries.moderation_queue(MODERATOR, seller_id="s-1")) == []
    assert ids(queries.moderation_queue(MODERATOR, reason="not_shipped", region="US")) == [
        "o-ruled"
    ]

    # Buyers and sellers see their own cases only; naming someone else's gives nothing.
    assert sorted(ids(queries.disputes(buyer("b-1")))) == ["o-ruled", "o-shipped"]
    assert ids(queries.disputes(buyer("b-1"), buyer_id="b-2")) == []
    assert ids(queries.disputes(seller("s-2"))) == ["o-ruled"]
    assert ids(queries.disputes(seller("s-2"), seller_id="s-1")) == []
    assert sorted(ids(queries.disputes(MODERATOR, status="overdue"))) == [
        "o-cancelled", "o-late",
    ]
    assert ids(queries.disputes(MODERATOR, order_id="o-late")) == ["o-late"]
    assert ids(queries.disputes(MODERATOR, region="GB")) == []
    with pytest.raises(Forbidden):
        queries.disputes(Actor("analyst", "a-1"))
    with pytest.raises(Forbidden):
        queries.moderation_queue(buyer("b-1"))
    with pytest.raises(InvalidInput):
        queries.disputes(MODERATOR, status="lost")

    # Pages: one row at a time, every case once.
    seen: list[str] = []
    after = None
    while True:
        page = queries.disputes(MODERATOR, limit=1, after=after)
        seen += ids(page)
        after = page["next_after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids(everything)) and len(seen) == 4

    # A ruling takes the case out of the queue; the auto-cancel closes the overdue one.
    app.rule(ruled, outcome="refund_full", reason_code="not_received", actor=MODERATOR)
    manual_clock.set(la(12, 3, 9))
    app.record_due(cancelled)
    catch_up(app, database_url)
    assert ids(queries.moderation_queue(MODERATOR)) == []
    by_order = {row["order_id"]: row for row in queries.disputes(MODERATOR)["data"]}
    assert by_order["o-ruled"]["status"] == app.case(ruled, MODERATOR)["status"]
    assert by_order["o-cancelled"]["status"] == "cancelled"
    assert by_order["o-cancelled"]["next_due"] is None

    # The sweeper's index: what falls due by an instant, earliest first.
    due = queries.due(la(12, 31))
    assert {case.dispute_id for case in due.value} == {str(late), str(ruled)}
    assert {case.next_due_kind for case in due.value} == {"OrderAutoCancelled"}
    assert {case.at for case in due.value} == {datetime(2026, 12, 2, 23, 59, 59, tzinfo=LA)}
    assert queries.due(la(11, 30)).value == []


# ---- the seller scorecard --------------------------------------------------------


def test_scorecard_figures(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    s1, b1 = seller("s-1"), buyer("b-1")
    on_time = UUID(place(app, "o-1")["id"])
    shipped_late = UUID(place(app, "o-2")["id"])
    never = UUID(place(app, "o-3")["id"])
    app.ship(on_time, carrier="UPS", tracking_number="1", shipped_at=manual_clock.now(), actor=s1)
    manual_clock.set(la(11, 25, 9))
    app.contact_seller(shipped_late, message="?", channel="chat", actor=b1)
    manual_clock.advance(timedelta(hours=1))
    app.respond(shipped_late, message="today", actor=s1)  # 1 h
    app.ship(shipped_late, carrier="UPS", tracking_number="2", shipped_at=manual_clock.now(),
             actor=s1)
    later = UUID(place(app, "o-4")["id"])  # placed Wednesday (Thanksgiving next): ship_by 11-30
    app.contact_seller(never, message="?", channel="chat", actor=b1)
    manual_clock.advance(timedelta(hours=2))
    app.respond(never, message="sorry", actor=s1)  # 2 h
    app.contact_seller(later, message="?", channel="chat", actor=b1)
    manual_clock.advance(timedelta(hours=4))
    app.respond(later, message="soon", actor=s1)  # 4 h
    app.request_intervention(never, reason="not_shipped", statement="nothing", actor=b1)
    app.rule(never, outcome="refund_full", reason_code="not_received", actor=MODERATOR)
    app.issue_refund(never, amount=Money.of("25.00", "USD"), actor=PLATFORM)
    manual_clock.set(la(11, 27, 9))
    app.deliver(on_time, delivered_at=manual_clock.now(), actor=PLATFORM)
    app.review(on_time, rating=5, comment="great", actor=b1)
    app.review(shipped_late, rating=2, comment="slow", actor=b1)
    catch_up(app, database_url)

    card = queries.scorecard(b1, "s-1")
    assert card == {
        "seller_id": "s-1",
        "orders": 4,
        "shipped": 2,
        "late_dispatch_rate": round(2 / 3, 4),  # o-2 and o-3 late; o-4 not due yet
        "auto_cancel_rate": 0.0,
        "disputes": 3,
        "interventions": 1,
        "interventions_lost": 1,
        "appeals_won": 0,
        "appeals_lost": 0,
        "refund_rate": 0.25,
        "average_rating": 3.5,
        "reviews": 2,
        "median_response_hours": 2.0,
        "responses": 3,
        "position": card["position"],
    }
    # Once o-4's ship_by has passed it counts, even before a sweep records anything.
    manual_clock.set(la(12, 1, 9))
    assert queries.scorecard(b1, "s-1")["late_dispatch_rate"] == 0.5
    # A seller no order names has no scorecard (not one of zeros).
    with pytest.raises(SellerNotFound):
        queries.scorecard(Actor("analyst", "a-1"), "s-9")


# ---- metrics --------------------------------------------------------------------


def test_metrics_count_statuses_and_time_to_resolution(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    start = manual_clock.now()
    cases = [UUID(place(app, f"o-{n}")["id"]) for n in range(5)]
    for hours, dispute in zip((10, 20, 40), cases, strict=False):
        manual_clock.set(start + timedelta(hours=hours))
        # Never shipped: the close cancels the order (its refund falls due).
        app.close_case(dispute, reason="resolved", cancel_order=True, actor=MODERATOR)
    app.ship(cases[3], carrier="UPS", tracking_number="1", shipped_at=manual_clock.now(),
             actor=PLATFORM)
    catch_up(app, database_url)
    metrics = queries.metrics(MODERATOR)
    assert metrics["disputes"] == 5
    assert metrics["counts_by_status"]["closed"] == 3
    assert metrics["counts_by_status"]["shipped"] == 1
    assert metrics["counts_by_status"]["awaiting_shipment"] == 1
    assert sum(metrics["counts_by_status"].values()) == 5
    assert metrics["time_to_resolution_hours"] == {"resolved": 3, "median": 20.0, "p90": 40.0}
    with pytest.raises(Forbidden):
        queries.metrics(seller("s-1"))


# ---- exact, resumable, identical to a clean rebuild -------------------------------


@pytest.fixture
def history(app: DisputeDesk) -> int:
    """A realistic synthetic history (every lifecycle path, interleaved in time)."""
    return generate(app, 800, orders_per_hour=20).events


def test_any_batching_and_any_cache_size_give_the_same_tables(
    app: DisputeDesk, database_url: str, history: int
) -> None:
    source = ApplicationSource(app)
    with opened_store(app, database_url) as store:
        live = lanes_of(store.versions())
        (lane,) = live
        CatchUp(source, store, lane, live[lane], cache_size=3).run(7, until_caught_up=False)
        small_batches = dump(store)
        result = rebuild(source, store, "all", batch_size=1000)
        assert result.switched and result.events >= history
        assert dump(store) == small_batches
        versions = {v.name: v.status for v in store.versions() if v.version == 1}
        assert set(versions.values()) == {RETIRED}


def _assert_reader_matches_recorder(
    app: DisputeDesk, ranges: list[tuple[int, int, int | None]]
) -> None:
    reader = log_reader_for(app)
    assert reader is not None
    try:
        for start, limit, stop in ranges:
            rows = reader.select(start, limit, stop)
            notifications = app.recorder.select_notifications(start, limit, stop)
            assert [(r.id, UUID(str(r.originator_id)), r.originator_version, r.topic, r.state)
                    for r in rows] == [
                (n.id, n.originator_id, n.originator_version, n.topic, n.state)
                for n in notifications
            ], (start, limit, stop)
    finally:
        reader.close()


def test_the_log_reader_reads_what_the_recorder_reads(app: DisputeDesk, history: int) -> None:
    _assert_reader_matches_recorder(app, [
        (1, history + 10, None), (5, 7, None), (3, 100, 40), (1, 5, 3), (10, 5, 9),
        (history - 2, 10, history + 100), (history + 5, 10, None),
    ])


def test_the_log_reader_honours_stop_across_gaps_in_the_ids(
    postgres_url: str, manual_clock: ManualClock
) -> None:
    """Rolled-back inserts leave gaps in PostgreSQL's ids: a range may hold fewer rows."""
    reset_postgres(postgres_url)
    app = build(postgres_url, manual_clock)
    try:
        generate(app, 60, orders_per_hour=20)
        head = app.recorder.max_notification_id() or 0
        table = f"{app.recorder.datastore.schema}.{app.recorder.events_table_name}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (table, head + 50),
            )
        generate(app, 60, seed=8, orders_per_hour=20)
        last = app.recorder.max_notification_id() or 0
        assert last > head + 50
        _assert_reader_matches_recorder(app, [
            (head - 5, 20, head + 30), (head - 5, 100, head + 52), (head + 1, 10, head + 49),
            (head - 5, 8, None), (1, last, last),
        ])
    finally:
        app.close()


def test_a_rebuild_through_the_log_reader_gives_the_same_tables(
    app: DisputeDesk, database_url: str, history: int
) -> None:
    with opened_store(app, database_url) as store:
        rebuild(ApplicationSource(app), store, "all", batch_size=500)
        through_recorder = dump(store)
        result = rebuild(projection_source(app), store, "all", batch_size=500)
        assert result.switched and result.events >= history
        assert dump(store) == through_recorder


def test_a_lane_built_through_the_recorder_carries_on_through_the_log_reader(
    app: DisputeDesk, database_url: str, history: int
) -> None:
    with opened_store(app, database_url) as store:
        live = lanes_of(store.versions())
        (lane,) = live
        CatchUp(ApplicationSource(app), store, lane, live[lane]).run(
            50, stop=history // 2, until_caught_up=False
        )
        # A cold cache: every dispute seen so far comes back from its state row.
        CatchUp(projection_source(app), store, lane, live[lane], cache_size=3).run(
            50, until_caught_up=False
        )
        carried_on = dump(store)
        rebuild(ApplicationSource(app), store, "all", batch_size=500)
        assert dump(store) == carried_on


def test_a_failed_batch_writes_nothing_and_the_projection_resumes(
    app: DisputeDesk, database_url: str, history: int
) -> None:
    source = ApplicationSource(app)
    writes = 0

    def failing(write: Any) -> Any:
        def write_or_fail(batch: Any) -> None:
            nonlocal writes
            writes += 1
            if writes == 3:  # mid-transaction: the tracking row moved, then the crash
                batch.changes.append(object())  # the store cannot write this: it raises
            write(batch)

        return write_or_fail

    with opened_store(app, database_url) as store:
        projector = Projector(source, store, batch_size=100)
        store.write = failing(store.write)  # type: ignore[method-assign]
        real_clone = store.clone

        def clone() -> Any:  # the pipelined catch-up writes through a second connection
            writer = real_clone()
            writer.write = failing(writer.write)  # type: ignore[method-assign]
            return writer

        store.clone = clone  # type: ignore[method-assign]
        with pytest.raises(Exception):  # noqa: B017 - any failure will do
            projector.catch_up()
        (lane,) = projector.engines
        stopped_at = store.lane_position(lane)
        assert 0 < stopped_at < history
        writes = 10  # one step at a time, on the main connection, fails too
        projector.step()
        writes = 2
        with pytest.raises(Exception):  # noqa: B017
            projector.step()
    with opened_store(app, database_url) as store:  # a new process, as after a crash
        Projector(source, store, batch_size=300).catch_up()
        resumed = dump(store)
        rebuild(source, store, "all", batch_size=5000)
        assert dump(store) == resumed


def test_two_writers_never_both_apply_a_batch(
    app: DisputeDesk, database_url: str, history: int
) -> None:
    source = ApplicationSource(app)
    with opened_store(app, database_url) as one, opened_store(app, database_url) as two:
        live = lanes_of(one.versions())
        (lane,) = live
        first = CatchUp(source, one, lane, live[lane])
        second = CatchUp(source, two, lane, live[lane])
        first.step(200)
        with pytest.raises(PositionConflict):
            second.step(200)  # it still believes the lane is at 0
        assert one.lane_position(lane) == first.position
        second.reload()
        second.run(200, until_caught_up=False)
        with pytest.raises(PositionConflict):
            first.step(200)
        both = dump(one)
        rebuild(source, one, "all", batch_size=5000)
        assert dump(one) == both


def test_an_event_committed_out_of_order_is_not_lost(
    tmp_path: Any, manual_clock: ManualClock
) -> None:
    """An event whose notification id is below the lane's position when it becomes
    visible (a writer that committed late) is fetched when the next event of its
    dispute arrives, so the views still equal a clean rebuild."""
    import sqlite3

    url = f"sqlite:///{tmp_path}/late.db"
    app = build(url, manual_clock)
    try:
        dispute = UUID(place(app, "o-late")["id"])
        app.contact_seller(dispute, message="?", channel="chat", actor=buyer("b-1"))
        place(app, "o-other")
        events = sqlite3.connect(tmp_path / "late.db")
        late = events.execute(
            "SELECT rowid, * FROM stored_events WHERE originator_version = 2"
        ).fetchone()
        events.execute("DELETE FROM stored_events WHERE rowid = ?", (late[0],))
        events.commit()
        catch_up(app, url)  # the lane moves past the hole
        events.execute("INSERT INTO stored_events (rowid, originator_id, originator_version,"
                       " topic, state) VALUES (?, ?, ?, ?, ?)", late)
        events.commit()
        events.close()
        manual_clock.advance(timedelta(hours=2))
        app.respond(dispute, message="soon", actor=seller("s-1"))
        catch_up(app, url)
        with opened_store(app, url) as store:
            live = dump(store)
            rebuild(ApplicationSource(app), store, "all")
            assert dump(store) == live
        reader = open_reader(settings_for(url).database)
        try:
            queries = ReadModelQueries(reader, manual_clock)
            row = queries.disputes(MODERATOR, order_id="o-late")["data"][0]
            card = queries.scorecard(MODERATOR, "s-1")
        finally:
            reader.close()
        assert row["status"] == "seller_responded" and row["version"] == 3
        assert card["median_response_hours"] == 2.0  # the late contact opened the window
    finally:
        app.close()


def test_a_hole_an_open_transaction_may_fill_is_waited_for(
    postgres_url: str, manual_clock: ManualClock
) -> None:
    """PostgreSQL assigns notification ids before commit. If inserts ever commit out
    of id order (the eventsourcing recorder prevents it with a table lock, which its
    database functions do not take), a later id may be visible before an earlier
    one: the lane must wait at the hole, not pass it."""
    import psycopg

    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    app = build(postgres_url, manual_clock)
    try:
        first = UUID(place(app, "o-first")["id"])
        dispute: Any = app.repository.get(first)
        dispute.contact_seller("?", "chat", buyer("b-1"), manual_clock.now())
        other: Any = Dispute.place(
            order_id="o-second", buyer_id="b-2", seller_id="s-1", region="US",
            category="general", amount=Money.of("9.00", "USD"), placed_at=manual_clock.now(),
            policy=app.current_policy(), actor=PLATFORM, now=manual_clock.now(),
        )
        early, late = (
            app.mapper.to_stored_event(e)
            for e in (*dispute.collect_events(), *other.collect_events())
        )
        table = getattr(app.recorder, "events_table_name")  # noqa: B009 - not in the type
        insert = (
            f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s) RETURNING notification_id"
        )

        def row(e: Any) -> tuple[Any, ...]:
            return (e.originator_id, e.originator_version, e.topic, e.state)

        with psycopg.connect(postgres_url) as slow, psycopg.connect(postgres_url) as fast:
            hole = slow.execute(insert, row(early)).fetchone()  # not committed yet
            later = fast.execute(insert, row(late)).fetchone()
            fast.commit()  # a higher id, visible first
            assert hole is not None and later is not None and later[0] > hole[0]
            assert catch_up(app, postgres_url) == {"l1": hole[0] - 1}  # waits at the hole
            slow.commit()
        assert catch_up(app, postgres_url) == {"l1": later[0]}
        with opened_store(app, postgres_url) as store:
            live = dump(store)
            rows = {row[1]: row for row in live["rm_disputes"]}
            assert rows["o-first"][DisputeRow._fields.index("status")] == "awaiting_seller"
            assert "o-second" in rows
            rebuild(ApplicationSource(app), store, "all")
            assert dump(store) == live
    finally:
        app.close()


# ---- rebuilds while the old version serves -----------------------------------------


def test_a_rebuild_serves_the_old_version_until_it_switches(
    app: DisputeDesk, database_url: str, history: int, queries: ReadModelQueries
) -> None:
    catch_up(app, database_url)
    before = queries.disputes(MODERATOR, limit=500)
    total = len(before["data"])
    source = ApplicationSource(app)
    served: list[int] = []

    def while_building(_: Any) -> None:
        page = queries.disputes(MODERATOR, limit=500)  # never a half-built view
        assert len(page["data"]) == total
        served.append(page["position"])

    with opened_store(app, database_url) as store:
        result = rebuild(source, store, "disputes", batch_size=200, on_batch=while_building)
        assert result.switched and result.versions == {"disputes": 2}
        assert len(served) > 3
        current = current_versions(store)
        assert current["disputes"].version == 2 and current["scorecard"].version == 1
        # The rebuilt version joined the live lane: one lane keeps everything.
        assert {info.lane for info in current.values()} == {"l1"}
    after = queries.disputes(MODERATOR, limit=500)
    assert after["data"] == before["data"]


def test_a_running_worker_hands_a_rebuild_over(
    app: DisputeDesk, database_url: str, history: int, queries: ReadModelQueries
) -> None:
    source = ApplicationSource(app)
    stop = start_worker(source, lambda: store_for(app, database_url), batch_size=500,
                        poll_interval=0.05)
    try:
        with opened_store(app, database_url) as store:
            result = rebuild(source, store, "scorecard", batch_size=500, handover_timeout=20)
            assert result.switched
            assert current_versions(store)["scorecard"].version == 2
            # The worker keeps the new version up to date.
            view = place(app, "one-more", seller="s-new")
            deadline = time.monotonic() + 10
            while True:
                try:
                    if queries.scorecard(MODERATOR, "s-new")["orders"] == 1:
                        break
                except SellerNotFound:  # not folded in yet
                    pass
                assert time.monotonic() < deadline, "the worker did not carry on"
                time.sleep(0.05)
            assert queries.positions()["scorecard"] >= view["position"]
    finally:
        stop()


def test_a_changed_schema_stops_serving_until_rebuilt(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries
) -> None:
    place(app, "o-1")
    catch_up(app, database_url)
    with opened_store(app, database_url) as store:
        session: Any = store.session  # type: ignore[attr-defined]
        with session.transaction():
            session.execute("UPDATE rm_versions SET schema_version = 0 WHERE name = 'metrics'")
        Projector(ApplicationSource(app), store).load()
        with pytest.raises(ReadModelUnavailable):
            queries.metrics(MODERATOR)
        assert queries.disputes(MODERATOR)["data"]  # the others still serve
        rebuild(ApplicationSource(app), store, "metrics")
        assert queries.metrics(MODERATOR)["disputes"] == 1


# ---- reading one's own writes ------------------------------------------------------


def test_min_position_waits_for_the_projection(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries
) -> None:
    stop = start_worker(ApplicationSource(app), lambda: store_for(app, database_url),
                        poll_interval=0.05)
    try:
        view = place(app, "o-fresh")
        started = time.monotonic()
        page = queries.disputes(MODERATOR, min_position=view["position"])
        assert "o-fresh" in ids(page) and page["position"] >= view["position"]
        assert time.monotonic() - started < 1.0  # within a second under normal load
        with pytest.raises(ReadModelBehind):
            queries.disputes(MODERATOR, min_position=view["position"] + 1_000)
    finally:
        stop()


def test_the_fast_decoder_agrees_with_the_mapper(app: DisputeDesk, history: int) -> None:
    decoder = FastDecoder(app.mapper)
    assert decoder.enabled
    notifications = app.recorder.select_notifications(start=1, limit=history + 10)
    for notification in notifications:
        fast, slow = decoder(notification), app.mapper.to_domain_event(notification)
        assert type(fast) is type(slow) and vars(fast) == vars(slow)


def test_positions_are_reported_per_read_model(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries
) -> None:
    view = place(app, "o-1")
    assert queries.positions() == {"disputes": 0, "metrics": 0, "scorecard": 0}
    positions = catch_up(app, database_url)
    assert positions == {"l1": view["position"]}
    assert set(queries.positions().values()) == {view["position"]}
    assert threading.active_count() >= 1
    with opened_store(app, database_url) as store:
        assert {v.status for v in store.versions()} == {CURRENT}
