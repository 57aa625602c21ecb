"""The timer decisions: ``next_due`` is the first of ``pending``, whatever the facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain import deadlines
from infrastructure.bootstrap import load_policy

POLICY = load_policy(None)  # the bundled policy: reminders 24 hours ahead
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
    placed_at: datetime = BASE
    ship_by_since: datetime = BASE
    reminded: dict[str, datetime] = field(default_factory=dict)
    delivered_at: datetime | None = None
    promised_ship_date: date | None = None


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
    # Reminders already recorded, for these deadlines or for earlier ones.
    reminded = {
        kind: draw(st.sampled_from([at, BASE]))
        for kind, at in zip(deadlines.REMINDED_DEADLINES, [ship_by, *window_ends], strict=True)
        if draw(st.booleans())
    }
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
        ship_by_since=draw(instants),
        reminded=reminded,
        delivered_at=draw(st.none() | instants),
        # A promise ends at the end of a local day, as windows do: ties are common.
        promised_ship_date=draw(st.none() | instants.map(calendar.local_date)),
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
    # (Its reminder was recorded already: DeadlineApproaching comes a day earlier.)
    tied = Facts(same, same, False, False, None, None, False, None, False,
                 reminded={"ship_by": same})
    assert deadlines.next_due(tied, rules, calendar) == deadlines.Due(
        same, 0, deadlines.DEADLINE_MISSED
    )


def test_a_reminder_comes_before_each_open_seller_deadline() -> None:
    rules, calendar = POLICY.rules_for("US", "general"), POLICY.calendar("US")
    ship_by = BASE + timedelta(days=3)
    contacted = BASE + timedelta(days=1)
    open_ = Facts(ship_by, ship_by + timedelta(days=5), False, False, None, contacted, False,
                  contacted, False)
    response_due = calendar.window_end(contacted, rules.seller_response_business_days)
    refund_due = calendar.window_end(contacted, rules.refund_response_business_days)
    assert rules.reminder_hours_before == 24  # the bundled default
    ahead = timedelta(hours=rules.reminder_hours_before)
    reminders = [
        (d.at, d.deadline, d.deadline_at)
        for d in deadlines.pending(open_, rules, calendar)
        if d.kind == deadlines.DEADLINE_APPROACHING
    ]
    assert sorted(reminders) == sorted([
        (ship_by - ahead, "ship_by", ship_by),
        (response_due - ahead, "seller_response", response_due),
        (refund_due - ahead, "refund_decision", refund_due),
    ])
    # Once per deadline; none once shipped or answered, none set after its instant.
    done = Facts(ship_by, ship_by + timedelta(days=5), True, False, None, contacted, True,
                 None, False, reminded={})
    assert all(
        d.kind != deadlines.DEADLINE_APPROACHING for d in deadlines.pending(done, rules, calendar)
    )
    late = Facts(ship_by, ship_by + timedelta(days=5), False, False, None, None, False, None,
                 False, ship_by_since=ship_by - ahead + timedelta(seconds=1))
    assert [d.kind for d in deadlines.pending(late, rules, calendar)][:1] == [
        deadlines.DEADLINE_MISSED
    ]
    once = Facts(ship_by, ship_by + timedelta(days=5), False, False, None, None, False, None,
                 False, reminded={"ship_by": ship_by})
    assert deadlines.next_due(once, rules, calendar) == deadlines.Due(
        ship_by, 0, deadlines.DEADLINE_MISSED
    )
