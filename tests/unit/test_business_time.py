"""The case as it happened in the world: events by business time, whenever recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from domain.dispute import Dispute
from domain.dispute.business_time import as_happened, happened_by
from tests.unit.test_dispute_lifecycle import (
    BUYER,
    MODERATOR,
    PLACED,
    POLICY,
    SECOND,
    SELLER,
    SHIP_BY,
    la,
    place,
)

FED_IN = la(12, 1, 9)  # the platform learned of it all on December 1st
SHIPPED_AT = la(11, 25, 10)  # ...though it shipped on Wednesday 25th, a day late


def recorded_late() -> list[Dispute.Event]:
    """Placed Friday 20th, fed in December 1st with its late shipment, then a contact."""
    d = place(now=FED_IN)
    d.record_due(POLICY, FED_IN)  # DeadlineMissed, dated at ship_by
    d.ship("ups", "1Z", SHIPPED_AT, SELLER, FED_IN + SECOND)
    d.contact_seller("thanks", "chat", BUYER, FED_IN + 2 * SECOND)
    return cast(list[Dispute.Event], list(d.collect_events()))


def test_given_events_recorded_late_when_asked_as_happened_then_those_that_had_happened() -> None:
    events = recorded_late()

    happened = happened_by(events, la(11, 26, 12))
    d = as_happened(happened)

    assert d is not None
    kinds = [type(e).__name__ for e in happened]
    assert kinds == ["OrderPlaced", "DeadlineMissed", "OrderShipped"]
    assert d.is_shipped and d.deadline_missed
    assert d.contacts == 0  # the contact happened on December 1st
    assert all(e.timestamp > la(11, 26, 12) for e in happened)  # none recorded by then


def test_given_an_instant_before_ship_by_then_only_the_order() -> None:
    d = as_happened(happened_by(recorded_late(), SHIP_BY - SECOND))

    assert d is not None and not d.deadline_missed and not d.is_shipped
    assert [kind for kind, _ in d.history] == ["OrderPlaced"]


def test_given_an_event_recorded_before_one_that_happened_earlier_then_timeline_by_business_time(
) -> None:
    d = place(now=FED_IN)
    d.add_note("fed in late", MODERATOR, FED_IN)  # recorded first, happened December 1st
    d.ship("ups", "1Z", la(11, 23, 10), SELLER, FED_IN + SECOND)  # happened Monday 23rd

    events = cast(list[Dispute.Event], list(d.collect_events()))
    found = as_happened(happened_by(events, FED_IN + SECOND))

    assert found is not None
    assert [kind for kind, _ in found.history] == ["OrderPlaced", "OrderShipped", "NoteAdded"]


def test_given_an_instant_before_the_order_then_no_case() -> None:
    assert as_happened(happened_by(recorded_late(), PLACED - timedelta(seconds=1))) is None


def test_given_every_event_then_the_same_state_as_the_record() -> None:
    events = recorded_late()
    replayed = as_happened(happened_by(events, FED_IN + timedelta(days=1)))
    recorded: Dispute | None = None
    for event in events:
        recorded = event.mutate(recorded)

    assert replayed is not None and recorded is not None
    assert replayed.status == recorded.status
    assert replayed.shipment == recorded.shipment and replayed.contacts == recorded.contacts
    assert sorted(replayed.history) == sorted(recorded.history)
