"""Many threads commanding ONE dispute at once, on SQLite and on PostgreSQL.

The clock stands past the order's ship_by, so every command first tries to
record the same reminder and DeadlineMissed: exactly one may win. Afterwards the history must
hold every accepted command exactly once, in a gap-free sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.errors import ConcurrentModification, Contention, DomainError
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
MODERATOR = Actor("moderator", "m-1")
THREADS = 8
COMMANDS = 10  # per thread
JOIN_TIMEOUT = 60.0


@dataclass
class Outcome:
    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[str, DomainError]] = field(default_factory=list)
    crashed: list[tuple[str, BaseException]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def app(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    application = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=manual_clock
    )
    try:
        yield application
    finally:
        application.close()


def open_overdue_dispute(app: DisputeDesk, clock: ManualClock) -> UUID:
    view, created = app.place_order(
        order_id="order-1", buyer_id=BUYER.id, seller_id="s-1", region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    assert created
    clock.set(datetime(2026, 11, 25, 9, tzinfo=LA))  # ship_by (11-24, end of day) has passed
    return UUID(view["id"])


def command(app: DisputeDesk, dispute: UUID, tag: str, n: int) -> None:
    kind = n % 3
    if kind == 0:
        app.contact_seller(dispute, message=tag, channel="chat", actor=BUYER)
    elif kind == 1:
        app.add_evidence(dispute, kind="photo", description=tag, actor=BUYER)
    else:
        app.add_note(dispute, text=tag, actor=MODERATOR)


def hammer(app: DisputeDesk, dispute: UUID) -> Outcome:
    outcome = Outcome()
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> None:
        start.wait()
        for i in range(COMMANDS):
            tag = f"t{thread}-c{i}"
            try:
                command(app, dispute, tag, thread + i)
            except DomainError as error:
                with outcome.lock:
                    outcome.refused.append((tag, error))
            except BaseException as error:
                with outcome.lock:
                    outcome.crashed.append((tag, error))
            else:
                with outcome.lock:
                    outcome.accepted.append(tag)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return outcome


def payload_tag(data: dict[str, object]) -> str:
    return str(data.get("message") or data.get("description") or data.get("text"))


def test_concurrent_commands_leave_a_complete_gap_free_history(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = open_overdue_dispute(app, manual_clock)
    outcome = hammer(app, dispute)

    assert outcome.crashed == []
    # These commands are always allowed: the only clean refusal is a lost race.
    assert all(isinstance(error, Contention) for _, error in outcome.refused)
    assert len(outcome.accepted) + len(outcome.refused) == THREADS * COMMANDS
    assert len(outcome.accepted) > 0

    rows = app.history(dispute, MODERATOR)
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
    # OrderPlaced, then the ship-by reminder and DeadlineMissed, each once
    assert len(rows) == 3 + len(outcome.accepted)
    assert [row["type"] for row in rows[:3]] == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed",
    ]
    assert [row["type"] for row in rows].count("DeadlineMissed") == 1
    assert [row["type"] for row in rows].count("DeadlineApproaching") == 1
    tags = [payload_tag(row["data"]) for row in rows[3:]]
    assert sorted(tags) == sorted(outcome.accepted)  # each accepted command exactly once

    view = app.case(dispute, MODERATOR)
    assert view["version"] == len(rows)
    evidence_ids = [item["id"] for item in view["evidence"]]
    assert len(evidence_ids) == len(set(evidence_ids)) == [r["type"] for r in rows].count(
        "EvidenceAdded"
    )


def rival_wins_races(
    app: DisputeDesk, rival: DisputeDesk, dispute: UUID, races: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before each of ``app``'s next ``races`` saves, ``rival`` writes to the dispute first."""
    save = app.save
    lost = 0

    def save_after_the_rival(*objects: Any, **kwargs: Any) -> Any:
        nonlocal lost
        if lost < races:
            lost += 1
            rival.add_note(dispute, text=f"rival {lost}", actor=MODERATOR)
        return save(*objects, **kwargs)

    monkeypatch.setattr(app, "save", save_after_the_rival)


@pytest.mark.parametrize("races", [3, 12])
def test_a_command_retries_until_it_wins_the_race(
    app: DisputeDesk, database_url: str, manual_clock: ManualClock, races: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dispute = open_overdue_dispute(app, manual_clock)
    rival = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=manual_clock
    )
    try:
        rival_wins_races(app, rival, dispute, races, monkeypatch)
        view = app.contact_seller(dispute, message="mine", channel="chat", actor=BUYER)
    finally:
        rival.close()
    rows = app.history(dispute, MODERATOR)
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
    assert [row["type"] for row in rows] == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed", *["NoteAdded"] * races,
        "SellerContacted",
    ]
    assert view["version"] == len(rows) == races + 4


def test_a_lost_race_with_expected_version_is_not_retried(
    app: DisputeDesk, database_url: str, manual_clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dispute = open_overdue_dispute(app, manual_clock)
    rival = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=manual_clock
    )
    try:
        rival_wins_races(app, rival, dispute, 1, monkeypatch)
        # Either the race is seen at the save, or (SQLite: the copy kept since the
        # order was placed is used on trust) when the store is read again after it.
        with pytest.raises(ConcurrentModification,
                           match=r"changed while this command ran|is at version 4, not 1"):
            app.contact_seller(
                dispute, message="mine", channel="chat", actor=BUYER, expected_version=1
            )
    finally:
        rival.close()
    assert [row["type"] for row in app.history(dispute, MODERATOR)] == [
        "OrderPlaced", "DeadlineApproaching", "DeadlineMissed", "NoteAdded",
    ]


class GatedClock(ManualClock):
    """Holds the first command that asks the time until released; notes who asked."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.holding = threading.Event()
        self.release = threading.Event()
        self.second_asked = threading.Event()
        self._callers: set[int] = set()
        self._armed = False

    def arm(self) -> None:
        self._armed = True

    def now(self) -> datetime:
        if self._armed:
            caller = threading.get_ident()
            if not self._callers:
                self._callers.add(caller)
                self.holding.set()
                assert self.release.wait(JOIN_TIMEOUT), "never released"
            elif caller not in self._callers:
                self.second_asked.set()
        return super().now()


def _second_writer(app: DisputeDesk, clock: ManualClock, kind: str) -> Callable[[], object]:
    """A write of ``kind`` on a dispute other than the held one's."""
    if kind == "place_order":
        placed_at = clock.now()
        return lambda: app.place_order(
            order_id="order-3", buyer_id=BUYER.id, seller_id="s-3", region="US",
            category="general", amount=Money.of("5.00", "USD"), placed_at=placed_at,
            actor=PLATFORM,
        )
    view, _ = app.place_order(
        order_id="order-2", buyer_id=BUYER.id, seller_id="s-2", region="US",
        category="general", amount=Money.of("5.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    other = UUID(view["id"])
    if kind == "record_due":
        return lambda: app.record_due(other)
    return lambda: command(app, other, "other", 0)


@pytest.mark.parametrize("second", ["command", "place_order", "record_due"])
def test_writes_take_turns_on_sqlite_and_overlap_on_postgres(
    database_url: str, second: str
) -> None:
    """SQLite admits one writer: commands run one at a time in the process.
    PostgreSQL takes concurrent writers: a command never waits for another."""
    clock = GatedClock(datetime(2026, 11, 23, 9, tzinfo=LA))
    app = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=clock
    )
    errors: list[BaseException] = []

    def run(write: Callable[[], object]) -> None:
        try:
            write()
        except BaseException as error:
            errors.append(error)

    try:
        first = open_overdue_dispute(app, clock)
        write = _second_writer(app, clock, second)
        clock.arm()
        held = threading.Thread(
            target=run, args=(lambda: command(app, first, "held", 0),), daemon=True
        )
        other = threading.Thread(target=run, args=(write,), daemon=True)
        try:
            held.start()
            assert clock.holding.wait(JOIN_TIMEOUT)
            other.start()
            sqlite = database_url.startswith("sqlite")
            overlapped = clock.second_asked.wait(0.5 if sqlite else JOIN_TIMEOUT)
        finally:
            clock.release.set()
        held.join(JOIN_TIMEOUT)
        other.join(JOIN_TIMEOUT)
        assert not held.is_alive() and not other.is_alive()

        assert errors == []
        assert overlapped is not sqlite
        assert clock.second_asked.is_set()  # the second write ran once the first was done
        assert [r["type"] for r in app.history(first, MODERATOR)][-1] == "SellerContacted"
    finally:
        app.close()
