"""Commands that start from the dispute this process last saved record exactly what
commands that replay the case from the store record.

Two pairs of applications on one store each: one pair keeps saved disputes for
the next command, the other keeps none. The same script of commands, written
from both applications of a pair in turn (one process's kept copy goes stale
while the other writes), leaves identical histories and answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.errors import DomainError
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from tests.conftest import reset_postgres

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")
START = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

Step = Callable[[DisputeDesk, UUID], Any]

SCRIPT: list[tuple[int, Step]] = [
    (0, lambda d, i: d.contact_seller(i, message="where is it?", channel="chat", actor=BUYER)),
    (1, lambda d, i: d.respond(i, message="soon", actor=SELLER)),
    (0, lambda d, i: d.add_note(i, text="watching", actor=MODERATOR)),
    (0, lambda d, i: d.add_evidence(i, kind="other", description="a photo", actor=BUYER)),
    (1, lambda d, i: d.add_evidence(i, kind="tracking", description="label", actor=SELLER)),
    (0, lambda d, i: d.request_refund(i, reason="late", actor=BUYER)),
    (0, lambda d, i: d.request_refund(i, reason="again", actor=BUYER)),  # refused: 409
    (1, lambda d, i: d.decide_refund(i, approve=True, actor=SELLER)),
    (0, lambda d, i: d.add_note(i, text="approved", actor=MODERATOR, expected_version=1)),
    (1, lambda d, i: d.issue_refund(i, amount=Money.of("25.00", "USD"), actor=PLATFORM)),
    (0, lambda d, i: d.review(i, rating=2, comment="slow", actor=BUYER)),
]


def _run(desks: tuple[DisputeDesk, DisputeDesk], clock: ManualClock) -> list[object]:
    view, _ = desks[0].place_order(
        order_id="o-1", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    dispute_id = UUID(view["id"])
    answers: list[object] = []
    for index, (which, step) in enumerate(SCRIPT):
        if index == 5:
            clock.advance(timedelta(days=6))  # the ship-by deadline passes: derived events
        try:
            answer = step(desks[which], dispute_id)
            answer.pop("position", None)
            answers.append(answer)
        except DomainError as error:
            answers.append((type(error).__name__, str(error)))
    history = desks[0].history(dispute_id, MODERATOR)
    for row in history:
        row.pop("recorded_at")
    answers.append(history)
    return answers


def _fresh(database_url: str, tmp_path: Path, name: str) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/{name}.db"
    reset_postgres(database_url)
    return database_url


def test_commands_record_the_same_with_and_without_kept_disputes(
    database_url: str, tmp_path: Path
) -> None:
    results = {}
    for keep in (1024, 0):
        url = _fresh(database_url, tmp_path, f"keep-{keep}")
        clock = ManualClock(START)
        settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": url})
        desks = (build_application(settings, clock=clock, keep_saved=keep),
                 build_application(settings, clock=clock, keep_saved=keep))
        try:
            results[keep] = _run(desks, clock)
        finally:
            for desk in desks:
                desk.close()
    assert results[1024] == results[0]
    assert any(isinstance(answer, tuple) for answer in results[0])  # refusals were compared


def test_a_kept_dispute_is_held_by_one_command_at_a_time(
    database_url: str, manual_clock: ManualClock
) -> None:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})
    desk = build_application(settings, clock=manual_clock, keep_saved=8)
    try:
        view, _ = desk.place_order(
            order_id="o-1", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
            category="general", amount=Money.of("25.00", "USD"),
            placed_at=manual_clock.now(), actor=PLATFORM,
        )
        dispute_id = UUID(view["id"])
        desk.add_note(dispute_id, text="kept now", actor=MODERATOR)
        first = desk._disputes.for_command(dispute_id)
        second = desk._disputes.for_command(dispute_id)
        assert first is not second
        first.add_note("changed, never saved", MODERATOR, manual_clock.now())
        third = desk._disputes.for_command(dispute_id)
        assert third.version == second.version and not third.pending_events  # first is gone
        desk._disputes.kept(third)  # given back unchanged: the next command takes it over
        assert desk._disputes.for_command(dispute_id) is third
        assert desk._disputes.for_command(dispute_id) is not third  # one holder at a time
    finally:
        desk.close()
