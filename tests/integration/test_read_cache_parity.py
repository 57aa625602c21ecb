"""The case-read cache changes no answer: the same reads with it on and off agree.

Two applications on one store, one keeping each case's last state and one
replaying every case from the store, answer every read identically while
commands, derived events and the clock move the cases on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk, Forbidden
from domain.dispute import Actor
from domain.errors import DisputeNotFound, DomainError
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")
READERS = (BUYER, SELLER, MODERATOR, Actor("buyer", "b-2"), Actor("seller", "s-2"),
           Actor("analyst", "a-1"), PLATFORM)


@pytest.fixture
def cached_and_uncached(
    database_url: str, manual_clock: ManualClock
) -> Iterator[tuple[DisputeDesk, DisputeDesk]]:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})
    cached = build_application(settings, clock=manual_clock)
    uncached = build_application(settings, clock=manual_clock, read_cache=False)
    yield cached, uncached
    cached.close()
    uncached.close()


def _answer(read: Any) -> object:
    """A read's answer, or the refusal it met (by type and message)."""
    try:
        return read()
    except DomainError as error:
        return (type(error).__name__, str(error))


def _reads(desk: DisputeDesk, dispute_id: UUID, version: int) -> list[object]:
    """Every read; ``version``: the last one recorded, by whichever application (on
    PostgreSQL another process's commit reaches the cache with its notification)."""
    answers: list[object] = []
    for actor in READERS:
        answers.append(_answer(lambda a=actor: desk.case(dispute_id, a, min_version=version)))
        answers.append(_answer(lambda a=actor: desk.case(dispute_id, a)))  # from what is kept
        answers.append(_answer(lambda a=actor: desk.history(dispute_id, a)))
        answers.append(_answer(lambda a=actor: desk.as_of(dispute_id, a, version=1)))
        answers.append(_answer(lambda a=actor: desk.case_as_answered(dispute_id, a)))
    return answers


def test_reads_agree_with_the_cache_on_and_off(
    cached_and_uncached: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    cached, uncached = cached_and_uncached
    view, _ = cached.place_order(
        order_id="o-parity", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=manual_clock.now(),
        actor=PLATFORM,
    )
    dispute_id = UUID(view["id"])

    def step(act: Any) -> None:
        act()
        manual_clock.advance(timedelta(hours=7))
        version = uncached.case(dispute_id, MODERATOR)["version"]
        assert _reads(cached, dispute_id, version) == _reads(uncached, dispute_id, version)

    step(lambda: None)
    step(lambda: uncached.contact_seller(dispute_id, message="where is it?", channel="chat",
                                         actor=BUYER))
    step(lambda: cached.respond(dispute_id, message="soon", actor=SELLER))
    step(lambda: uncached.add_note(dispute_id, text="internal", actor=MODERATOR))
    step(lambda: cached.ship(dispute_id, carrier="UPS", tracking_number="1Z",
                             shipped_at=manual_clock.now(), actor=PLATFORM))
    step(lambda: uncached.deliver(dispute_id, delivered_at=manual_clock.now(), actor=PLATFORM))
    step(lambda: manual_clock.advance(timedelta(days=40)))  # the review window closes
    step(lambda: cached.record_due(dispute_id))
    step(lambda: uncached.close_case(dispute_id, reason="done", actor=MODERATOR))


def test_refusals_agree_with_the_cache_on_and_off(
    cached_and_uncached: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    cached, uncached = cached_and_uncached
    missing = UUID(int=7)
    for desk in (cached, uncached):
        with pytest.raises(DisputeNotFound):
            desk.case(missing, MODERATOR)
        with pytest.raises(Forbidden):
            desk.case(missing, Actor("analyst", "a-1"))
        assert desk.case_in_memory(missing, BUYER) is None
