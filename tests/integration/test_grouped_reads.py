"""A command that starts from the dispute its process kept sees every write another
worker made before it: on PostgreSQL through the commands' shared queries
(``application.grouped_reads``), on SQLite through a query of its own."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
MODERATOR = Actor("moderator", "m-1")


def _workers(database_url: str, clock: ManualClock) -> tuple[DisputeDesk, DisputeDesk]:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})
    return (build_application(settings, clock=clock), build_application(settings, clock=clock))


def _order(desk: DisputeDesk, clock: ManualClock, order_id: str) -> UUID:
    view, _ = desk.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id="s-1", region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM)
    return UUID(view["id"])


def test_a_command_sees_the_other_worker_s_write_to_the_dispute_it_kept(
    database_url: str, manual_clock: ManualClock
) -> None:
    a, b = _workers(database_url, manual_clock)
    try:
        dispute_id = _order(a, manual_clock, "o-1")
        a.add_note(dispute_id, text="kept by a", actor=MODERATOR)
        written = b.contact_seller(dispute_id, message="where is it?", channel="chat",
                                   actor=BUYER)

        # judged without a save: a stale kept copy would answer 409 here
        answer = a.add_note(dispute_id, text="after b's write", actor=MODERATOR,
                            expected_version=written["version"])

        assert answer["version"] == written["version"] + 1
        assert [r["type"] for r in a.history(dispute_id, MODERATOR)][-2:] == [
            "SellerContacted", "NoteAdded"]
        assert (a._disputes._reads is not None) == database_url.startswith("postgres")
    finally:
        a.close()
        b.close()


def test_concurrent_commands_each_see_the_writes_made_before_they_asked(
    database_url: str, manual_clock: ManualClock
) -> None:
    """Many threads of one worker, each after the other worker's write to its dispute."""
    a, b = _workers(database_url, manual_clock)
    try:
        ids = [_order(a, manual_clock, f"o-{n}") for n in range(16)]
        for dispute_id in ids:
            a.add_note(dispute_id, text="kept by a", actor=MODERATOR)
        for _ in range(3):
            written = {i: b.add_note(i, text="by b", actor=MODERATOR)["version"] for i in ids}
            answers: dict[UUID, Any] = {}
            barrier = threading.Barrier(len(ids))

            def command(dispute_id: UUID, after: int, answers: dict[UUID, Any] = answers,
                        barrier: threading.Barrier = barrier) -> None:
                barrier.wait(10)
                try:
                    answers[dispute_id] = a.add_note(
                        dispute_id, text="by a", actor=MODERATOR, expected_version=after
                    )["version"]
                except Exception as error:
                    answers[dispute_id] = error

            threads = [threading.Thread(target=command, args=(i, written[i])) for i in ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert answers == {i: written[i] + 1 for i in ids}
    finally:
        a.close()
        b.close()
