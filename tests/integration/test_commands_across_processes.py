"""Commands act on the case as it is in the store now, whoever wrote last.

Two applications on one store stand for two server processes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.errors import DomainError
from domain.money import Money
from infrastructure.clock import ManualClock

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
OTHER_BUYER = Actor("buyer", "b-2")
MODERATOR = Actor("moderator", "m-1")


def _place(desk: DisputeDesk, clock: ManualClock) -> UUID:
    view, _ = desk.place_order(
        order_id="o-1", buyer_id=BUYER.id, seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=clock.now(), actor=PLATFORM,
    )
    return UUID(view["id"])


def _contact(desk: DisputeDesk, dispute_id: UUID, message: str, **kwargs: Any) -> dict[str, Any]:
    return desk.contact_seller(dispute_id, message=message, channel="chat", actor=BUYER, **kwargs)


def _messages(desk: DisputeDesk, dispute_id: UUID) -> list[str]:
    """The messages of the seller contacts on record, in order."""
    return [entry["data"]["message"] for entry in desk.history(dispute_id, MODERATOR)
            if entry["type"] == "SellerContacted"]


def test_a_command_after_a_write_elsewhere_acts_on_the_current_case(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    here, elsewhere = desks
    dispute_id = _place(here, manual_clock)
    _contact(here, dispute_id, "first")  # kept here at this version
    current = _contact(elsewhere, dispute_id, "second")

    view = _contact(here, dispute_id, "third", expected_version=current["version"])

    assert view["version"] == current["version"] + 1
    assert _messages(here, dispute_id) == ["first", "second", "third"]


def test_a_refused_command_leaves_nothing_behind_for_the_next(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    desk, _ = desks
    dispute_id = _place(desk, manual_clock)
    _contact(desk, dispute_id, "first")
    with pytest.raises(DomainError):
        desk.contact_seller(dispute_id, message="not mine", channel="chat", actor=OTHER_BUYER)
    with pytest.raises(DomainError):
        desk.contact_seller(dispute_id, message="", channel="pigeon", actor=BUYER)

    view = _contact(desk, dispute_id, "second")

    history = desk.history(dispute_id, MODERATOR)
    assert view["version"] == len(history) == history[-1]["sequence"]
    assert _messages(desk, dispute_id) == ["first", "second"]


def test_a_plain_command_after_a_write_elsewhere_is_recorded_after_it(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    here, elsewhere = desks
    dispute_id = _place(here, manual_clock)
    _contact(here, dispute_id, "first")
    current = _contact(elsewhere, dispute_id, "second")

    view = _contact(here, dispute_id, "third")

    assert view["version"] == current["version"] + 1
    assert [entry["type"] for entry in view["timeline"]][-2:] == [
        "SellerContacted", "SellerContacted",
    ]
    assert _messages(here, dispute_id) == ["first", "second", "third"]


@pytest.mark.parametrize("writer", ["sweep", "batch"])
def test_what_this_process_saved_any_other_way_is_what_the_next_command_starts_from(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock, writer: str,
) -> None:
    desk, _ = desks
    dispute_id = _place(desk, manual_clock)
    _contact(desk, dispute_id, "first")
    manual_clock.advance(timedelta(days=6))  # the ship-by deadline has passed
    if writer == "sweep":
        assert desk.record_due(dispute_id)
    else:
        with desk.batch() as batch:
            _contact(batch, dispute_id, "in a batch")
    view = _contact(desk, dispute_id, "after")

    history = desk.history(dispute_id, MODERATOR)
    assert view["version"] == len(history) == history[-1]["sequence"]
