"""The base of every dispute event: when it happened, who acted, and the request
that recorded it."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from eventsourcing.domain import Aggregate


class DisputeEvent(Aggregate.Event):
    occurred_at: datetime
    actor_role: str
    actor_id: str
    #: The request that recorded this event (:class:`RequestStamp`, encoded), if
    #: it came with an idempotency key; saved in the same transaction as the event.
    request: str | None = field(default=None, kw_only=True)
