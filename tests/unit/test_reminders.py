"""DeadlineApproaching: a reminder ``reminder_hours_before`` each of the seller's open
deadlines (ship-by, response, refund decision), once per deadline, dated at that
instant; public as ``dispute.deadline_approaching``; replayed like any derived event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from application.disputes import DisputeDesk
from application.public_events import Parties, public_event
from application.simulator import build_request, run_simulation
from domain.policy import Policy, PolicyError
from domain.policy_ledger import recorded_policy
from infrastructure.bootstrap import load_policy
from infrastructure.clock import ManualClock
from tests.integration.test_simulator_support import PLACED, RecorderReader, build_history
from tests.unit.test_dispute_lifecycle import (
    AFTER_SHIP_BY,
    MONDAY,
    REFUND_DUE_TUESDAY,
    RESPONSE_DUE_MONDAY,
    SHIP_BY,
    TUESDAY,
    contacted,
    given,
    recorded,
    refund_requested,
    shipped,
    story,
)

#: The bundled policy: a reminder 24 hours before each of the seller's deadlines.
REMINDING = load_policy(None)
DAY = timedelta(hours=24)


def reminders(events: list[Any]) -> list[tuple[str, Any, Any]]:
    return [
        (e.deadline, e.due_at, e.occurred_at)
        for e in events
        if type(e).__name__ == "DeadlineApproaching"
    ]


def test_the_bundled_policy_reminds_a_day_ahead_and_a_policy_may_say_otherwise() -> None:
    for region in ("US", "GB", "TH"):
        assert REMINDING.rules_for(region, "general").reminder_hours_before == 24
    # A new document that does not name the rule takes the default, 24 as well.
    unnamed = REMINDING.with_changes({"defaults.reminder_hours_before": None})
    assert unnamed.rules_for("US", "general").reminder_hours_before == 24
    # 0 is still a valid value: no reminders.
    quiet = REMINDING.with_changes({"defaults.reminder_hours_before": 0})
    assert quiet.rules_for("US", "general").reminder_hours_before == 0
    assert given(*story()).record_due(quiet, AFTER_SHIP_BY) == ["DeadlineMissed"]
    regional = quiet.with_changes({"regions.GB.reminder_hours_before": 6})
    assert regional.rules_for("GB", "general").reminder_hours_before == 6
    assert regional.rules_for("US", "general").reminder_hours_before == 0
    with pytest.raises(PolicyError, match="reminder_hours_before"):
        REMINDING.with_changes({"defaults.reminder_hours_before": -1})


def test_a_version_recorded_before_the_rule_existed_keeps_recording_no_reminders() -> None:
    document = REMINDING.to_document()
    del document["defaults"]["reminder_hours_before"]  # as every version recorded before it
    assert Policy.from_document(document).rules_for("US", "general").reminder_hours_before == 24
    legacy = recorded_policy(document)
    assert legacy.rules_for("US", "general").reminder_hours_before == 0
    assert recorded_policy(REMINDING.to_document()) == REMINDING  # one that names it: as named
    # Regional overrides recorded with it still apply over the 0.
    document["regions"]["GB"]["reminder_hours_before"] = 6
    assert recorded_policy(document).rules_for("GB", "general").reminder_hours_before == 6


def test_a_reminder_is_recorded_a_day_before_ship_by_once() -> None:
    d = given(*story())
    assert d.record_due(REMINDING, SHIP_BY - DAY - timedelta(seconds=1)) == []
    assert d.record_due(REMINDING, SHIP_BY - DAY) == ["DeadlineApproaching"]
    [event] = recorded(d)
    assert (event.deadline, event.due_at, event.occurred_at) == ("ship_by", SHIP_BY, SHIP_BY - DAY)
    assert event.policy_version == REMINDING.version
    assert (event.actor_role, event.actor_id) == ("system", "policy")
    assert d.record_due(REMINDING, SHIP_BY - timedelta(seconds=1)) == []  # once per deadline
    assert d.record_due(REMINDING, AFTER_SHIP_BY) == ["DeadlineMissed"]


def test_no_reminder_for_a_deadline_met_in_time() -> None:
    d = given(*story(shipped()))
    assert "DeadlineApproaching" not in d.record_due(REMINDING, AFTER_SHIP_BY)


def test_the_seller_response_and_refund_decision_get_reminders() -> None:
    d = given(*story(shipped(), contacted(MONDAY), refund_requested(TUESDAY)))
    d.record_due(REMINDING, REFUND_DUE_TUESDAY - timedelta(seconds=1))
    assert reminders(recorded(d)) == [
        ("seller_response", RESPONSE_DUE_MONDAY, RESPONSE_DUE_MONDAY - DAY),
        ("refund_decision", REFUND_DUE_TUESDAY, REFUND_DUE_TUESDAY - DAY),
    ]


def test_the_reminder_is_public() -> None:
    d = given(*story())
    d.record_due(REMINDING, SHIP_BY - DAY)
    [event] = recorded(d)
    parties = Parties(str(d.id), d.order_id, d.buyer_id, d.seller_id, "USD")
    public = public_event(7, event.TOPIC, event, parties)
    assert public is not None and public["type"] == "dispute.deadline_approaching"
    assert public["data"]["deadline"] == "ship_by"
    assert public["data"]["due_at"] == "2026-11-25T07:59:59Z"


@pytest.fixture
def reminding_desk() -> Iterator[tuple[DisputeDesk, ManualClock]]:
    clock = ManualClock(PLACED)
    app = DisputeDesk(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock, default_policy=REMINDING
    )
    yield app, clock
    app.close()


def test_a_replay_counts_reminders_and_reproduces_the_record(
    reminding_desk: tuple[DisputeDesk, ManualClock],
) -> None:
    desk, clock = reminding_desk
    build_history(desk, clock)

    def simulate(changes: dict[str, Any]) -> dict[str, Any]:
        request = build_request(current=desk.current_policy(), now=desk.clock.now(),
                                changes=changes)
        return run_simulation(desk, RecorderReader(desk), request)

    same = simulate({"version": "same-rules"})
    assert same["baseline_matches_recorded"] is True
    counts = same["derived"]["DeadlineApproaching"]
    assert counts["baseline"] == counts["candidate"] > 0
    quiet = simulate({"defaults.reminder_hours_before": 0})
    assert quiet["derived"]["DeadlineApproaching"] == {
        "baseline": counts["baseline"], "candidate": 0,
    }
