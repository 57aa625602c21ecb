"""Group commit on PostgreSQL: commands that arrive together share a transaction, and
each is recorded exactly once, whatever its neighbours in the group do.

Every transaction is slowed down a little, so that commands arriving while one
commits queue behind it, as they do on a busy server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

pytestmark = pytest.mark.postgres
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
THREADS = 12


def _desk(postgres_url: str, clock: ManualClock, *, group: bool) -> DisputeDesk:
    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    env = {"DISPUTEDESK_DATABASE_URL": postgres_url,
           "DISPUTEDESK_GROUP_COMMIT": "1" if group else "0"}
    return build_application(Settings.from_env(env), clock=clock)


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[DisputeDesk], list[int]]]:
    """Slows each transaction of a desk's recorder by 20 ms; lists each one's event count."""
    def slow(desk: DisputeDesk) -> list[int]:
        sizes: list[int] = []
        insert = desk.recorder.insert_events

        def slow_insert(stored_events: Any, **kwargs: Any) -> Any:
            time.sleep(0.02)
            ids = insert(stored_events, **kwargs)
            sizes.append(len(stored_events))
            return ids

        monkeypatch.setattr(desk.recorder, "insert_events", slow_insert)
        return sizes

    yield slow


def _orders(desk: DisputeDesk, clock: ManualClock, n: int) -> list[UUID]:
    return [UUID(desk.place_order(
        order_id=f"o-{i}", buyer_id=BUYER.id, seller_id="s-1", region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM)[0]["id"]) for i in range(n)]


def _at_once(work: list[Callable[[], Any]]) -> list[Any]:
    start = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work[i]()
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _contact(desk: DisputeDesk, dispute_id: UUID, text: str) -> Callable[[], Any]:
    return lambda: desk.contact_seller(dispute_id, message=text, channel="chat", actor=BUYER)


@pytest.mark.parametrize("group", [True, False], ids=["group-commit", "one-each"])
def test_commands_arriving_together_are_recorded_once_each_and_share_transactions(
    postgres_url: str, manual_clock: ManualClock,
    transactions: Callable[[DisputeDesk], list[int]], group: bool,
) -> None:
    desk = _desk(postgres_url, manual_clock, group=group)
    try:
        disputes = _orders(desk, manual_clock, THREADS)
        sizes = transactions(desk)

        results = _at_once([_contact(desk, d, f"where is {i}?") for i, d in enumerate(disputes)])

        assert all(isinstance(r, dict) and r["version"] == 2 for r in results), results
        for i, d in enumerate(disputes):
            history = desk.history(d, Actor("moderator", "m-1"))
            assert [row["type"] for row in history] == ["OrderPlaced", "SellerContacted"]
            assert history[-1]["data"]["message"] == f"where is {i}?"
        # Group commit: fewer transactions than commands; without it, one each.
        assert sum(sizes) == THREADS
        assert (len(sizes) < THREADS) if group else (len(sizes) == THREADS)
        positions = [r["position"] for r in results]
        assert len(set(positions)) == THREADS and None not in positions
    finally:
        desk.close()


def test_a_conflict_in_a_group_fails_none_of_the_others(
    postgres_url: str, manual_clock: ManualClock,
    transactions: Callable[[DisputeDesk], list[int]],
) -> None:
    desk = _desk(postgres_url, manual_clock, group=True)
    other = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": postgres_url}), clock=manual_clock)
    try:
        disputes = _orders(desk, manual_clock, THREADS)
        transactions(desk)
        hot = disputes[0]
        # Another process writes the hot dispute as the group forms: its save there conflicts.
        work = [_contact(desk, d, f"m-{i}") for i, d in enumerate(disputes)]
        work.append(_contact(other, hot, "from elsewhere"))

        results = _at_once(work)

        assert all(isinstance(r, dict) for r in results), results
        for i, d in enumerate(disputes):
            messages = [row["data"]["message"] for row in desk.history(d, Actor("moderator", "m"))
                        if row["type"] == "SellerContacted"]
            expected = [f"m-{i}", "from elsewhere"] if d == hot else [f"m-{i}"]
            assert sorted(messages) == sorted(expected)
    finally:
        other.close()
        desk.close()
