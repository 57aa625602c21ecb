"""A shipment the feed reported late, given-when-then: the miss it disproves is withdrawn.

The order of ``test_dispute_lifecycle`` (ship_by: the end of Tuesday 11-24 in Los
Angeles). The seller ships on Monday 11-23; the sweeper records DeadlineMissed
on Wednesday 11-25; the feed reports the shipment on Thursday 11-26.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.dispute import Dispute
from domain.errors import InterventionNotAllowed
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    MODERATOR,
    POLICY,
    SELLER,
    SHIP_BY,
    contacted,
    due,
    given,
    intervention,
    la,
    recorded,
    responded,
    story,
)

SHIPPED_MONDAY = la(11, 23, 10)
SWEPT = la(11, 25, 9)  # the sweeper records DeadlineMissed
REPORTED = la(11, 26, 10)  # the feed reports the shipment


def missed() -> Dispute:
    d = given(*story(due(SWEPT)))
    assert d.deadline_missed and d.status == "overdue"
    return d


def test_a_shipment_dated_in_time_but_reported_late_withdraws_the_miss() -> None:
    d = missed()
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, REPORTED)
    shipped, withdrawn = recorded(d)
    assert type(shipped).__name__ == "OrderShipped"
    assert type(withdrawn).__name__ == "DeadlineMissWithdrawn"
    assert withdrawn.TOPIC == "disputedesk:DeadlineMissWithdrawn"
    assert (withdrawn.actor_role, withdrawn.actor_id) == ("system", "policy")
    assert withdrawn.policy_version == POLICY.version
    assert withdrawn.ship_by == SHIP_BY
    assert withdrawn.shipped_at == withdrawn.occurred_at == SHIPPED_MONDAY
    assert withdrawn.reported_at == withdrawn.timestamp == REPORTED
    assert withdrawn.feed_lag_seconds == 3 * 24 * 3600  # Monday 10:00 to Thursday 10:00
    # The miss no longer counts; the history keeps both.
    assert not d.deadline_missed
    assert [kind for kind, _ in d.history][-3:] == [
        "DeadlineMissed", "OrderShipped", "DeadlineMissWithdrawn",
    ]
    assert d.status == "shipped"


def test_the_withdrawal_replays_to_the_same_state() -> None:
    d = missed()
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, REPORTED)
    rebuilt = given(*story(due(SWEPT)), *recorded(d))
    assert not rebuilt.deadline_missed and rebuilt.status == "shipped"
    assert rebuilt.shipment is not None and rebuilt.shipment.reported_at == REPORTED


def test_a_miss_recorded_by_the_shipments_own_command_is_withdrawn_too() -> None:
    d = given(*story())
    d.record_due(POLICY, REPORTED)  # as the application does before every command
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, REPORTED)
    assert [type(e).__name__ for e in recorded(d)] == [
        "DeadlineMissed", "OrderShipped", "DeadlineMissWithdrawn",
    ]


def test_a_shipment_dated_after_ship_by_is_a_real_miss() -> None:
    d = missed()
    d.ship("UPS", "1Z999", SHIP_BY + timedelta(seconds=1), SELLER, REPORTED)
    assert [type(e).__name__ for e in recorded(d)] == ["OrderShipped"]
    assert d.deadline_missed


def test_a_shipment_dated_at_the_deadline_itself_is_in_time() -> None:
    d = missed()
    d.ship("UPS", "1Z999", SHIP_BY, SELLER, REPORTED)
    assert [type(e).__name__ for e in recorded(d)][-1] == "DeadlineMissWithdrawn"


def test_a_shipment_reported_in_time_needs_no_correction() -> None:
    d = given(*story())
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, SHIPPED_MONDAY + timedelta(hours=2))
    assert [type(e).__name__ for e in recorded(d)] == ["OrderShipped"]
    assert not d.deadline_missed


def test_after_the_withdrawal_the_platform_does_not_step_in_for_a_missed_deadline() -> None:
    d = given(*story(due(SWEPT), contacted(la(11, 25, 10)), responded(la(11, 25, 11))))
    assert "request_intervention" in d.next_actions("buyer", POLICY, la(11, 25, 12))
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, REPORTED)
    assert "request_intervention" not in d.next_actions("buyer", POLICY, REPORTED)
    with pytest.raises(InterventionNotAllowed, match="shipping deadline"):
        d.request_intervention("not_shipped", "late", [], BUYER, REPORTED)


def test_an_earlier_deadline_missed_before_a_ruling_moved_it_still_stands() -> None:
    new_ship_by = la(11, 30, 23, 59)
    d = given(*story(due(SWEPT), contacted(la(11, 25, 10)), responded(la(11, 25, 11)),
                     intervention(la(11, 25, 12))))
    d.rule("seller_must_ship", "seller_given_time_to_ship", None, new_ship_by, None, MODERATOR,
           la(11, 25, 13), reasons=POLICY.reason_codes)
    d.record_due(POLICY, la(12, 1, 9))  # the new deadline is missed too
    assert [kind for kind, _ in d.history].count("DeadlineMissed") == 2
    # Shipped after the first deadline, before the second, reported after both.
    d.ship("UPS", "1Z999", la(11, 27, 10), SELLER, la(12, 1, 10))
    withdrawn = [e for e in recorded(d) if type(e).__name__ == "DeadlineMissWithdrawn"]
    assert [e.ship_by for e in withdrawn] == [new_ship_by]
    assert d.deadline_missed  # the first miss was real


def test_a_shipment_before_both_deadlines_withdraws_both_misses() -> None:
    new_ship_by = la(11, 30, 23, 59)
    d = given(*story(due(SWEPT), contacted(la(11, 25, 10)), responded(la(11, 25, 11)),
                     intervention(la(11, 25, 12))))
    d.rule("seller_must_ship", "seller_given_time_to_ship", None, new_ship_by, None, MODERATOR,
           la(11, 25, 13), reasons=POLICY.reason_codes)
    d.record_due(POLICY, la(12, 1, 9))
    d.ship("UPS", "1Z999", SHIPPED_MONDAY, SELLER, la(12, 1, 10))
    withdrawn = [e for e in recorded(d) if type(e).__name__ == "DeadlineMissWithdrawn"]
    assert [e.ship_by for e in withdrawn] == [SHIP_BY, new_ship_by]
    assert not d.deadline_missed
