"""Case reads keep the last state read, yet see every write: their own process's at once,
another's at once when they pass the version it returned (``min_version``), else as soon
as the store's commit counter tells (SQLite: at once; PostgreSQL: its notification).

Two applications on one store stand for two server processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.disputes import DisputeDesk, Forbidden
from domain.dispute import Actor
from domain.errors import DisputeNotFound, InvalidInput
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from tests.integration.spies import count_gets

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")


def _place(desk: DisputeDesk, clock: ManualClock, order_id: str = "o-1") -> UUID:
    view, _ = desk.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    return UUID(view["id"])


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """A write by another process reaches a PostgreSQL reader with its commit's notification."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_a_write_elsewhere_is_read_at_once_by_the_version_it_returned(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    manual_clock.advance(timedelta(hours=1))
    before = reader.case(dispute_id, BUYER)
    assert reader.case(dispute_id, BUYER) == before  # the kept state, still current
    written = writer.contact_seller(dispute_id, message="where is it?", channel="chat",
                                    actor=BUYER)
    after = reader.case(dispute_id, BUYER, min_version=written["version"])
    assert after["version"] == before["version"] + 1
    assert after["timeline"][-1]["type"] == "SellerContacted"
    assert after == writer.case(dispute_id, BUYER)
    assert before["timeline"][-1]["type"] != "SellerContacted"  # earlier views unchanged


def test_next_actions_follow_the_clock_and_the_viewer(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    for actor in (BUYER, SELLER, MODERATOR, BUYER, SELLER):
        fresh = writer.case(dispute_id, actor)
        assert reader.case(dispute_id, actor) == fresh
    manual_clock.advance(timedelta(days=30))
    assert reader.case(dispute_id, BUYER) == writer.case(dispute_id, BUYER)
    noted = writer.add_note(dispute_id, text="internal", actor=MODERATOR)["version"]
    staff = reader.case(dispute_id, MODERATOR, min_version=noted)
    buyer = reader.case(dispute_id, BUYER, min_version=noted)
    assert len(staff["timeline"]) == len(buyer["timeline"]) + 1


def test_kept_next_actions_turn_when_the_review_window_closes_and_back(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    placed = manual_clock.now()
    assert "review" in reader.case(dispute_id, BUYER)["next_actions"]
    manual_clock.set(placed + timedelta(days=60, seconds=1))  # the default window: 60 days
    assert "review" not in reader.case(dispute_id, BUYER)["next_actions"]
    if (kept := reader.case_in_memory(dispute_id, BUYER)) is not None:
        assert "review" not in kept["next_actions"]
    assert "contact_seller" in reader.case(dispute_id, BUYER)["next_actions"]
    manual_clock.set(placed + timedelta(days=59))
    assert "review" in reader.case(dispute_id, BUYER)["next_actions"]
    assert reader.case(dispute_id, SELLER)["next_actions"] == writer.case(
        dispute_id, SELLER)["next_actions"]


def test_kept_state_still_hides_other_peoples_cases(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    reader.case(dispute_id, BUYER)
    with pytest.raises(DisputeNotFound):
        reader.case(dispute_id, Actor("buyer", "b-2"))
    with pytest.raises(DisputeNotFound):
        reader.case(dispute_id, Actor("seller", "s-2"))
    with pytest.raises(DisputeNotFound):
        reader.case(UUID(int=1), BUYER)


def test_history_reads_the_events_once_and_hides_nothing(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    writer.add_note(dispute_id, text="internal", actor=MODERATOR)
    rows = reader.history(dispute_id, MODERATOR)
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[-1]["type"] == "NoteAdded"
    with pytest.raises(DisputeNotFound):
        reader.history(UUID(int=1), MODERATOR)


def test_a_write_by_another_process_is_read_at_once(
    database_url: str, desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, _ = desks
    dispute_id = _place(reader, manual_clock)
    before = reader.case(dispute_id, BUYER)
    assert reader.case(dispute_id, BUYER) == before
    # the other process's clock reads the test's instant, whatever the date it runs on
    script = (
        "import sys; from datetime import datetime; from uuid import UUID;"
        "from domain.dispute import Actor;"
        "from infrastructure.bootstrap import build_application;"
        "from infrastructure.clock import ManualClock;"
        "from infrastructure.settings import Settings;"
        "d = build_application(Settings.from_env({'DISPUTEDESK_DATABASE_URL': sys.argv[1]}),"
        " clock=ManualClock(datetime.fromisoformat(sys.argv[3])));"
        "d.contact_seller(UUID(sys.argv[2]), message='hello?', channel='email',"
        " actor=Actor('buyer', 'b-1')); d.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, database_url, str(dispute_id),
         manual_clock.now().isoformat()],
        check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60,
    )
    _eventually(lambda: reader.case(dispute_id, BUYER)["version"] > before["version"])
    after = reader.case(dispute_id, BUYER)
    assert after["version"] > before["version"]
    assert "SellerContacted" in [entry["type"] for entry in after["timeline"]]


def test_on_sqlite_an_unchanged_store_is_not_asked_again(
    tmp_path: Path, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"})
    desk = build_application(settings, clock=manual_clock)
    try:
        dispute_id = _place(desk, manual_clock)
        desk.case(dispute_id, BUYER)
        asked = count_gets(monkeypatch, desk.events)
        for _ in range(3):
            desk.case(dispute_id, BUYER)
        assert asked == []  # nothing was committed: the kept state is current
        desk.contact_seller(dispute_id, message="where is it?", channel="chat", actor=BUYER)
        asked.clear()
        assert desk.case(dispute_id, BUYER)["timeline"][-1]["type"] == "SellerContacted"
        assert asked == [dispute_id]  # a commit: the store was asked once
    finally:
        desk.close()


def test_a_case_known_current_is_answered_from_memory_until_anything_is_committed(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock, database_url: str
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    assert reader.case_in_memory(dispute_id, BUYER) is None  # never read here yet
    view = reader.case(dispute_id, BUYER)

    def kept_current() -> bool:  # PostgreSQL: once the reader listens to the store's commits
        reader.case(dispute_id, BUYER)
        return reader.case_in_memory(dispute_id, BUYER) == view

    _eventually(kept_current)  # (and once a late notification of the placing commit came)
    writer.contact_seller(dispute_id, message="hello?", channel="chat", actor=BUYER)
    _eventually(lambda: reader.case_in_memory(dispute_id, BUYER) is None)
    fresh = reader.case(dispute_id, BUYER)
    assert fresh["version"] == view["version"] + 1
    assert reader.case_in_memory(dispute_id, BUYER) == fresh


def test_a_case_from_memory_is_refused_and_filtered_as_a_read_from_the_store(
    tmp_path: Path, manual_clock: ManualClock
) -> None:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"})
    desk = build_application(settings, clock=manual_clock)
    try:
        dispute_id = _place(desk, manual_clock)
        desk.add_note(dispute_id, text="seller looks unreliable", actor=MODERATOR)
        desk.case(dispute_id, MODERATOR)
        staff = desk.case_in_memory(dispute_id, MODERATOR)
        assert staff is not None and staff == desk.case(dispute_id, MODERATOR)
        assert "NoteAdded" in str(staff["timeline"])
        buyer = desk.case_in_memory(dispute_id, BUYER)
        assert buyer is not None and buyer == desk.case(dispute_id, BUYER)
        assert "NoteAdded" not in str(buyer["timeline"])
        assert "unreliable" not in str(buyer)
        with pytest.raises(DisputeNotFound):
            desk.case_in_memory(dispute_id, Actor("buyer", "b-2"))
        with pytest.raises(DisputeNotFound):
            desk.case_in_memory(dispute_id, Actor("seller", "s-2"))
        with pytest.raises(Forbidden):
            desk.case_in_memory(dispute_id, Actor("analyst", "a-1"))
    finally:
        desk.close()


def test_an_unchanged_store_is_not_asked_again_on_either_store(
    database_url: str, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}),
                             clock=manual_clock)
    try:
        dispute_id = _place(desk, manual_clock)
        asked = count_gets(monkeypatch, desk.events)

        def unasked() -> bool:
            asked.clear()
            desk.case(dispute_id, BUYER)
            return asked == []

        _eventually(unasked)  # PostgreSQL: once it listens
        written = desk.contact_seller(dispute_id, message="where?", channel="chat", actor=BUYER)
        asked.clear()
        assert desk.case(dispute_id, BUYER)["version"] == written["version"]  # its own write
        assert asked == [dispute_id]
    finally:
        desk.close()


def test_a_version_never_recorded_is_refused_not_waited_for(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    reader, writer = desks
    dispute_id = _place(writer, manual_clock)
    with pytest.raises(InvalidInput, match="never recorded"):
        reader.case(dispute_id, BUYER, min_version=99)
