"""The sweeper records each derived event once, at its instant, whenever it runs."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from application.sweeper import Sweeper
from application.times import rfc3339
from domain.dispute import Actor
from domain.errors import InvalidInput
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from tests.fakes.memory_due_index import MemoryDueIndex

#: The bundled policy's reminder: DeadlineApproaching a day before each deadline.
DAY = timedelta(hours=24)
PLATFORM = Actor("platform", "platform-1")
MODERATOR = Actor("moderator", "mod-1")
ANALYST = Actor("analyst", "analyst-1")


def build(database_url: str, clock: ManualClock) -> DisputeDesk:
    return build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=clock
    )


def place(
    app: DisputeDesk,
    index: MemoryDueIndex,
    order_id: str,
    placed_at: datetime,
    region: str = "US",
    category: str = "general",
) -> UUID:
    currency = {"US": "USD", "GB": "GBP", "TH": "THB"}[region]
    view, _ = app.place_order(
        order_id=order_id,
        buyer_id="b-1",
        seller_id="s-1",
        region=region,
        category=category,
        amount=Money.of("25.00", currency),
        placed_at=placed_at,
        actor=PLATFORM,
    )
    index.track(view)
    return UUID(view["id"])


def derived(app: DisputeDesk, dispute_id: UUID) -> list[tuple[str, str]]:
    return [
        (row["type"], row["occurred_at"])
        for row in app.history(dispute_id, MODERATOR)
        if row["actor_role"] == "system"
    ]


@pytest.fixture
def app(database_url: str, manual_clock: ManualClock) -> Any:
    application = build(database_url, manual_clock)
    yield application
    application.close()


def test_deadline_missed_fires_at_its_instant_not_before(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    # Given an order placed Friday 2026-11-20 10:00 in Los Angeles (ship by Tue 23:59:59)
    index = MemoryDueIndex()
    dispute_id = place(app, index, "o-1", manual_clock.now())
    ship_by = datetime.fromisoformat("2026-11-24T23:59:59-08:00")
    sweeper = Sweeper(app, index)

    # When the sweeper runs one second before the deadline, only its reminder
    # (due a day before) is recorded, not DeadlineMissed
    manual_clock.set(ship_by - timedelta(seconds=1))
    assert [r["type"] for r in sweeper.sweep().recorded] == ["DeadlineApproaching"]
    index.track(app.case(dispute_id, MODERATOR))

    # When it runs at the deadline itself, DeadlineMissed is recorded, dated the deadline
    manual_clock.set(ship_by)
    result = sweeper.sweep()
    assert [r["type"] for r in result.recorded] == ["DeadlineMissed"]
    assert result.recorded[0]["occurred_at"] == rfc3339(ship_by)
    assert result.recorded[0]["policy_version"] == "2027-01-default"

    # And running again records nothing new
    index.track(app.case(dispute_id, MODERATOR))
    manual_clock.set(ship_by + timedelta(seconds=1))
    assert sweeper.sweep().recorded == []
    assert derived(app, dispute_id) == [
        ("DeadlineApproaching", rfc3339(ship_by - DAY)),
        ("DeadlineMissed", rfc3339(ship_by)),
    ]


def test_a_late_sweep_records_the_same_history_as_a_punctual_one(
    database_url: str, tmp_path: Any, manual_clock: ManualClock
) -> None:
    start = manual_clock.now()
    app = build(database_url, manual_clock)
    try:
        often, once = MemoryDueIndex(), MemoryDueIndex()
        punctual = place(app, often, "o-punctual", start)
        late = place(app, once, "o-late", start)
        # The punctual one is swept every hour for two weeks
        for hour in range(24 * 14):
            manual_clock.set(start + timedelta(hours=hour))
            if Sweeper(app, often).sweep().recorded:
                often.track(app.case(punctual, MODERATOR))
        # The other only once at the end
        manual_clock.set(start + timedelta(days=14))
        Sweeper(app, once).sweep()
        assert [t for t, _ in derived(app, punctual)] == [
            "DeadlineApproaching", "DeadlineMissed", "OrderAutoCancelled", "RefundDue"
        ]
        assert derived(app, late) == derived(app, punctual)
        assert derived(app, late)[0][1] == "2026-11-24T07:59:59Z"
        assert derived(app, late)[2][1] == "2026-12-03T07:59:59Z"
        auto_cancelled = app.history(late, MODERATOR)[-2]
        assert auto_cancelled["data"]["refund_amount"] == {"amount": "25.00", "currency": "USD"}
        assert app.case(late, MODERATOR)["status"] == "cancelled"
    finally:
        app.close()


@pytest.mark.parametrize(
    ("region", "placed_local", "expected_ship_by"),
    [
        # US: Friday before Thanksgiving week; Thanksgiving skipped only for auto-cancel
        ("US", "2026-11-20T10:00:00-08:00", "2026-11-24T23:59:59-08:00"),
        # US across the spring-forward change (2026-03-08): deadline in PDT
        ("US", "2026-03-06T09:00:00-08:00", "2026-03-10T23:59:59-07:00"),
        # GB across the autumn change (2026-10-25): deadline back in GMT
        ("GB", "2026-10-22T12:00:00+01:00", "2026-10-27T23:59:59+00:00"),
        # GB over Christmas and Boxing Day (observed on Monday 28th)
        ("GB", "2026-12-23T12:00:00+00:00", "2026-12-30T23:59:59+00:00"),
        # TH: Songkran (13-15 April 2026)
        ("TH", "2026-04-10T12:00:00+07:00", "2026-04-17T23:59:59+07:00"),
        # Placed on a Saturday: counts from Monday
        ("US", "2026-11-21T10:00:00-08:00", "2026-11-25T23:59:59-08:00"),
    ],
)
def test_deadline_missed_across_weekends_holidays_and_daylight_saving(
    app: DisputeDesk,
    manual_clock: ManualClock,
    region: str,
    placed_local: str,
    expected_ship_by: str,
) -> None:
    placed_at = datetime.fromisoformat(placed_local)
    ship_by = datetime.fromisoformat(expected_ship_by)
    manual_clock.set(placed_at)
    index = MemoryDueIndex()
    dispute_id = place(app, index, f"o-{region}-{placed_local}", placed_at, region=region)
    assert app.case(dispute_id, MODERATOR)["ship_by"] == rfc3339(ship_by)
    sweeper = Sweeper(app, index)

    # The reminder a day before, across the same weekends, holidays and clock changes
    manual_clock.set(ship_by - DAY - timedelta(seconds=1))
    assert sweeper.sweep().recorded == []
    manual_clock.set(ship_by - timedelta(seconds=1))
    recorded = sweeper.sweep().recorded
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("DeadlineApproaching", rfc3339(ship_by - DAY))
    ]
    index.track(app.case(dispute_id, MODERATOR))
    manual_clock.set(ship_by + timedelta(seconds=1))
    recorded = sweeper.sweep().recorded
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("DeadlineMissed", rfc3339(ship_by))
    ]


def test_seller_response_and_refund_windows(app: DisputeDesk, manual_clock: ManualClock) -> None:
    index = MemoryDueIndex()
    dispute_id = place(app, index, "o-windows", manual_clock.now())
    buyer = Actor("buyer", "b-1")
    seller = Actor("seller", "s-1")
    app.ship(
        dispute_id,
        carrier="UPS",
        tracking_number="1Z",
        shipped_at=manual_clock.now(),
        actor=seller,
    )
    # Contact on Friday 10:00 local: two business days -> Tuesday 23:59:59 local
    index.track(app.contact_seller(dispute_id, message="?", channel="chat", actor=buyer))
    index.track(app.request_refund(dispute_id, reason="changed my mind", actor=buyer))
    due = datetime.fromisoformat("2026-11-24T23:59:59-08:00")
    sweeper = Sweeper(app, index)
    manual_clock.set(due - timedelta(seconds=1))
    # Shipped: no ship-by reminder; one for each of the two open windows (a tie: by name)
    assert [(r["type"], r["data"]["deadline"], r["occurred_at"])
            for r in sweeper.sweep().recorded] == [
        ("DeadlineApproaching", "refund_decision", rfc3339(due - DAY)),
        ("DeadlineApproaching", "seller_response", rfc3339(due - DAY)),
    ]
    index.track(app.case(dispute_id, MODERATOR))
    manual_clock.set(due)
    recorded = sweeper.sweep().recorded
    assert [(r["type"], r["occurred_at"]) for r in recorded] == [
        ("SellerResponseOverdue", rfc3339(due)),
        ("RefundAutoApproved", rfc3339(due)),
        ("RefundDue", rfc3339(due)),  # nothing to send back: the money falls due now
    ]
    assert app.case(dispute_id, MODERATOR)["refund"]["status"] == "approved"


def test_sweep_now_may_be_earlier_but_never_later(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    place(app, index, "o-early", manual_clock.now())
    manual_clock.advance(timedelta(days=30))
    sweeper = Sweeper(app, index)
    with pytest.raises(InvalidInput, match="never a later one"):
        sweeper.sweep(manual_clock.now() + timedelta(seconds=1))
    # An earlier instant records only what was due by then
    recorded = sweeper.sweep(datetime(2026, 11, 26, tzinfo=UTC)).recorded
    assert [r["type"] for r in recorded] == ["DeadlineApproaching", "DeadlineMissed"]


def test_two_sweepers_in_threads_never_record_a_duplicate(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    ids = [place(app, index, f"o-thread-{n}", manual_clock.now()) for n in range(20)]
    manual_clock.advance(timedelta(days=30))
    results: list[int] = []

    def run() -> None:
        results.append(len(Sweeper(app, index).sweep().recorded))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # each: its reminder, DeadlineMissed, OrderAutoCancelled, its RefundDue
    assert sum(results) == 80
    for dispute_id in ids:
        assert [t for t, _ in derived(app, dispute_id)] == [
            "DeadlineApproaching",
            "DeadlineMissed",
            "OrderAutoCancelled",
            "RefundDue",
        ]


def _sweep_in_process(database_url: str, now: str, ids: list[str], out: Any) -> None:
    clock = ManualClock(datetime.fromisoformat(now))
    app = build(database_url, clock)
    try:
        index = MemoryDueIndex()
        for dispute_id in ids:
            index.track(app.case(UUID(dispute_id), MODERATOR))
        out.put(len(Sweeper(app, index).sweep().recorded))
    finally:
        app.close()


@pytest.mark.postgres
def test_two_sweeper_processes_never_record_a_duplicate(
    postgres_url: str, manual_clock: ManualClock
) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    app = build(postgres_url, manual_clock)
    try:
        index = MemoryDueIndex()
        ids = [str(place(app, index, f"o-proc-{n}", manual_clock.now())) for n in range(30)]
        now = (manual_clock.now() + timedelta(days=30)).isoformat()
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_sweep_in_process, args=(postgres_url, now, ids, out))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
        assert out.get() + out.get() == 120
        for dispute_id in ids:
            rows = app.history(UUID(dispute_id), MODERATOR)
            assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1))
            assert [t for t, _ in derived(app, UUID(dispute_id))] == [
                "DeadlineApproaching",
                "DeadlineMissed",
                "OrderAutoCancelled",
                "RefundDue",
            ]
    finally:
        app.close()


def test_a_policy_published_mid_stream_applies_to_new_orders_only(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    index = MemoryDueIndex()
    before = place(app, index, "o-before", manual_clock.now())
    document = app.current_policy().with_changes(
        {"regions.US.ship_within_business_days": 5},
        version="2026-12-slower",
    ).to_document()
    document["effective_from"] = "2026-11-21T00:00:00+00:00"
    app.publish_policy(document, ANALYST)

    manual_clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    after = place(app, index, "o-after", manual_clock.now())
    old = app.case(before, MODERATOR)
    new = app.case(after, MODERATOR)
    assert old["policy_version"] == "2027-01-default"
    assert old["ship_by"] == "2026-11-25T07:59:59Z"
    assert new["policy_version"] == "2026-12-slower"
    # Monday 10:00 + 5 business days, skipping Thanksgiving -> Tuesday Dec 1
    assert new["ship_by"] == "2026-12-02T07:59:59Z"

    manual_clock.set(datetime(2026, 12, 5, tzinfo=UTC))
    Sweeper(app, index).sweep()
    versions = {
        row["policy_version"]
        for row in app.history(after, MODERATOR)
        if row["type"] == "DeadlineMissed"
    }
    assert versions == {"2026-12-slower"}


@pytest.mark.parametrize("hours", [24, 6], ids=["bundled", "published"])
def test_reminders_are_swept_before_the_deadline(
    app: DisputeDesk, manual_clock: ManualClock, hours: int
) -> None:
    version = "2027-01-default"  # the bundled policy: 24 hours
    if hours != 24:
        version = "2026-12-six-hours"
        document = app.current_policy().with_changes(
            {"defaults.reminder_hours_before": hours}, version=version
        ).to_document()
        document["effective_from"] = manual_clock.now().isoformat()
        app.publish_policy(document, ANALYST)
    ahead = timedelta(hours=hours)
    index = MemoryDueIndex()
    dispute = place(app, index, "o-remind", manual_clock.now())
    view = app.case(dispute, MODERATOR)
    ship_by = datetime.fromisoformat(view["ship_by"])
    assert view["next_due"] == {"type": "DeadlineApproaching", "at": rfc3339(ship_by - ahead)}
    sweeper = Sweeper(app, index)
    manual_clock.set(ship_by - ahead - timedelta(seconds=1))
    assert sweeper.sweep().recorded == []
    manual_clock.set(ship_by - timedelta(minutes=1))
    [reminder] = sweeper.sweep().recorded
    assert reminder["type"] == "DeadlineApproaching"
    assert datetime.fromisoformat(reminder["occurred_at"]) == ship_by - ahead
    assert reminder["data"]["deadline"] == "ship_by"
    assert reminder["policy_version"] == version
