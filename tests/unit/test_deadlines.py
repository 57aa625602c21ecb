"""The timer decisions: ``next_due`` is the first of ``pending``, whatever the facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import deadlines
from infrastructure.bootstrap import load_policy

POLICY = load_policy(None)
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class Facts:
    ship_by: datetime
    auto_cancel_at: datetime
    is_shipped: bool
    is_finished: bool
    deadline_missed_for: datetime | None
    contact_pending_since: datetime | None
    response_overdue: bool
    refund_requested_at: datetime | None
    fully_refunded: bool


# Few distinct instants, so that ties between timers are common.
instants = st.integers(min_value=0, max_value=12).map(lambda days: BASE + timedelta(days=days))


@st.composite
def facts(draw: st.DrawFn, region: str) -> Facts:
    rules, calendar = POLICY.rules_for(region, "general"), POLICY.calendar(region)
    contacted = draw(st.none() | instants)
    refund_requested = draw(st.none() | instants)
    # The order's own deadlines sometimes fall exactly when a response window
    # ends, so that ties between timers are common.
    window_ends = [
        calendar.window_end(contacted, rules.seller_response_business_days)
        if contacted is not None else BASE,
        calendar.window_end(refund_requested, rules.refund_response_business_days)
        if refund_requested is not None else BASE,
    ]
    deadline = instants | st.sampled_from(window_ends)
    ship_by = draw(deadline)
    return Facts(
        ship_by=ship_by,
        auto_cancel_at=draw(deadline),
        is_shipped=draw(st.booleans()),
        is_finished=draw(st.booleans()),
        deadline_missed_for=draw(st.sampled_from([None, ship_by])),
        contact_pending_since=contacted,
        response_overdue=draw(st.booleans()),
        refund_requested_at=refund_requested,
        fully_refunded=draw(st.booleans()),
    )


@given(data=st.data(), region=st.sampled_from(["US", "GB", "TH"]))
def test_next_due_is_the_first_pending_timer(data: st.DataObject, region: str) -> None:
    facts_ = data.draw(facts(region))
    rules, calendar = POLICY.rules_for(region, "general"), POLICY.calendar(region)
    pending = deadlines.pending(facts_, rules, calendar)
    assert deadlines.next_due(facts_, rules, calendar) == (pending[0] if pending else None)


def test_a_tie_goes_to_the_lower_rank() -> None:
    rules, calendar = POLICY.rules_for("US", "general"), POLICY.calendar("US")
    same = BASE + timedelta(days=3)
    tied = Facts(same, same, False, False, None, None, False, None, False)
    assert deadlines.next_due(tied, rules, calendar) == deadlines.Due(
        same, 0, deadlines.DEADLINE_MISSED
    )
