"""The case as it was in the world at an instant (business time), whenever it was recorded.

Every event carries two times: ``occurred_at``, when it happened (a derived
event's is the instant it is for), and ``timestamp``, when it was recorded. A
read "as of" an instant takes what was recorded by then; a read "as happened"
takes the events that had happened by then, including those recorded later (an
order fed in days after it was placed, a shipment reported late).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.dispute.aggregate import Dispute, new_dispute
from domain.dispute.events import DisputeEvent, OrderPlaced


def happened_by(events: Iterable[DisputeEvent], at: datetime) -> list[DisputeEvent]:
    """The events whose business time is at or before ``at``, in the order recorded."""
    return [event for event in events if event.occurred_at <= at]


def as_happened(happened: list[DisputeEvent]) -> Dispute | None:
    """The case built from :func:`happened_by`'s events; None without its order.

    The events are applied in the order they were recorded (each was recorded on
    the case as it stood, so that order keeps every ``apply`` valid), with
    ``apply`` rather than ``mutate``: the events left out break the version
    sequence. The timeline then lists them by business time.
    """
    if not happened or not isinstance(happened[0], OrderPlaced):
        return None
    d = new_dispute(happened[0])
    for event in happened[1:]:
        event.apply(d)
    d.history.sort(key=lambda entry: entry[1])
    return d
