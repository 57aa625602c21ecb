"""``next_actions`` between events: a step function of the time, turning only at the
instants ``next_actions_turn_at`` names (readers keep the actions until then)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from domain.dispute import Dispute
from tests.unit.test_dispute_lifecycle import (
    CANCELLED,
    DELIVERED,
    DELIVERED_STORY,
    MISSED_AND_OVERDUE,
    PLACED,
    POLICY,
    REFUND_WITH_RETURN,
    UNDER_REVIEW,
    Step,
    closed,
    given,
    la,
    reviewed,
    story,
)

ROLES = ("buyer", "seller", "moderator", "platform", "analyst")
STORIES: dict[str, tuple[Step, ...]] = {
    "placed": (),
    "delivered": DELIVERED_STORY,
    "reviewed": (*DELIVERED_STORY, reviewed(la(11, 22))),
    "overdue": MISSED_AND_OVERDUE,
    "under review": UNDER_REVIEW,
    "cancelled": CANCELLED,
    "refund with return": REFUND_WITH_RETURN,
    "closed": (*DELIVERED_STORY, closed(la(11, 21, 13))),
}
DISPUTES = {name: given(*story(*steps)) for name, steps in STORIES.items()}
# From the order to well past every review window.
instants = st.integers(min_value=0, max_value=200 * 24 * 3600).map(
    lambda seconds: PLACED + timedelta(seconds=seconds)
)


def _sides(turns: tuple[datetime, ...], now: datetime) -> tuple[bool, ...]:
    return tuple(now > turn for turn in turns)


@settings(max_examples=300, deadline=None)
@for_all(st.sampled_from(sorted(DISPUTES)), st.sampled_from(ROLES), instants, instants)
def test_actions_change_only_where_a_turn_lies_between_two_times(
    name: str, role: str, first: datetime, second: datetime
) -> None:
    d = DISPUTES[name]
    turns = d.next_actions_turn_at(role, POLICY)
    if _sides(turns, first) == _sides(turns, second):
        assert d.next_actions(role, POLICY, first) == d.next_actions(role, POLICY, second)


def test_the_review_window_is_the_buyers_turn_and_the_actions_do_turn_there() -> None:
    d: Dispute = DISPUTES["delivered"]
    (closes,) = d.next_actions_turn_at("buyer", POLICY)
    assert closes == DELIVERED + timedelta(days=60)
    assert "review" in d.next_actions("buyer", POLICY, closes)
    assert "review" not in d.next_actions("buyer", POLICY, closes + timedelta(seconds=1))
    assert d.next_actions_turn_at("seller", POLICY) == ()
    assert DISPUTES["reviewed"].next_actions_turn_at("buyer", POLICY) == ()
