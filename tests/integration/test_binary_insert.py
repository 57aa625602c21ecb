"""Events inserted as binary column arrays (``infrastructure.binary_insert``) are the
rows the library's own insert records: the same ids, versions, topics and states,
in the same notification order, with the same notification and the same refusal
of a version already taken.

Two applications on one PostgreSQL database, each in a schema of its own, one
with ``DISPUTEDESK_BINARY_INSERT`` on (the default) and one with it off, are given
the same script at the same instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder

from application.disputes import DisputeDesk
from application.order_feed import NewOrder
from domain.dispute import Actor, Dispute
from domain.money import Money
from infrastructure.binary_insert import BinaryInsertRecorder
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.recorded_disputes import order_feed
from infrastructure.settings import Settings
from tests.conftest import reset_postgres

pytestmark = pytest.mark.postgres

PLATFORM = Actor("platform", "feed")
MODERATOR = Actor("moderator", "m-1")
#: Texts whose quoting a text-form insert must get right; binary has nothing to quote.
TEXTS = ['plain', 'a "quoted" word', "back\\slash", "comma, (paren)", "{brace}", "ünïcödé ✓",
         "new\nline", "tab\there", "'single'"]


@pytest.fixture
def desks(postgres_url: str, manual_clock: ManualClock) -> Iterator[dict[str, DisputeDesk]]:
    reset_postgres(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA binary_rows")
        conn.execute("CREATE SCHEMA library_rows")
    made = {
        "binary": build_application(Settings.from_env(
            {"DISPUTEDESK_DATABASE_URL": f"{postgres_url}?schema=binary_rows"}),
            clock=manual_clock),
        "library": build_application(Settings.from_env(
            {"DISPUTEDESK_DATABASE_URL": f"{postgres_url}?schema=library_rows",
             "DISPUTEDESK_BINARY_INSERT": "0"}), clock=manual_clock),
    }
    try:
        yield made
    finally:
        for desk in made.values():
            desk.close()


def _script(desk: DisputeDesk, clock: ManualClock) -> None:
    placed_at = clock.now() - timedelta(hours=1)
    orders = [NewOrder(f"o-{n}", f"b-{n % 7}", f"s-{n % 3}", "US", "general",
                       Money.of("25.00", "USD"), placed_at) for n in range(300)]
    results = order_feed(desk).place(orders, PLATFORM)  # one save of 300 new disputes
    assert {r.outcome.value for r in results} == {"created"}
    first = results[0].dispute_id
    assert first is not None
    for text in TEXTS:
        desk.add_note(first, text=text, actor=MODERATOR)


def _rows(desk: DisputeDesk) -> list[tuple[object, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
            for n in desk.recorder.select_notifications(1, 10_000)]


def test_the_binary_insert_records_what_the_library_s_insert_records(
    desks: dict[str, DisputeDesk], manual_clock: ManualClock
) -> None:
    # given one application inserting in binary and one with the library's insert
    assert type(desks["binary"].recorder) is BinaryInsertRecorder
    assert type(desks["library"].recorder) is PostgresApplicationRecorder

    # when both are given the same orders and notes at the same instant
    for desk in desks.values():
        _script(desk, manual_clock)

    # then they hold the same rows, in the same notification order
    binary, library = _rows(desks["binary"]), _rows(desks["library"])
    assert len(binary) > 300
    assert binary == library
    notes = desks["binary"].history(UUID(str(binary[-1][1])), MODERATOR)
    assert [r["data"]["text"] for r in notes if r["type"] == "NoteAdded"] == TEXTS


def test_a_version_already_recorded_is_refused_and_nothing_of_the_save_is_kept(
    desks: dict[str, DisputeDesk], manual_clock: ManualClock
) -> None:
    desk = desks["binary"]
    _script(desk, manual_clock)
    dispute_id = UUID(str(_rows(desk)[-1][1]))
    stale: Dispute = desk.repository.get(dispute_id)
    desk.add_note(dispute_id, text="first", actor=MODERATOR)
    kept = len(_rows(desk))

    # when a stale copy saves its next version beside a new dispute
    policy = desk.current_policy()
    now = manual_clock.now()
    stale.add_note("second", MODERATOR, now, policy=policy)
    fresh = Dispute.place(order_id="o-new", buyer_id="b-1", seller_id="s-1", region="US",
                          category="general", amount=Money.of("9.00", "USD"),
                          placed_at=now - timedelta(hours=1), policy=policy,
                          actor=PLATFORM, now=now)
    with pytest.raises(IntegrityError):
        desk.save(fresh, stale)

    # then the whole transaction is refused: neither the note nor the new order is kept
    assert len(_rows(desk)) == kept


def test_a_binary_save_notifies_the_channel_listeners_wait_on(
    desks: dict[str, DisputeDesk], manual_clock: ManualClock, postgres_url: str
) -> None:
    desk = desks["binary"]
    recorder = desk.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    with psycopg.connect(postgres_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        _script(desk, manual_clock)
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert heard
    assert {n.channel for n in heard} == {recorder.channel_name}
