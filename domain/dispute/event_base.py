"""The base of every dispute event: when it happened, who acted, and the request
that recorded it."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from eventsourcing.domain import Aggregate

from domain.requests import imported_fact


class DisputeEvent(Aggregate.Event):
    occurred_at: datetime
    actor_role: str
    actor_id: str
    #: The request that recorded this event (:class:`RequestStamp`, encoded), if
    #: it came with an idempotency key; saved in the same transaction as the event.
    request: str | None = field(default=None, kw_only=True)

    @property
    def imported(self) -> bool:
        """Recorded by an import of history: told to nobody as news (no webhook,
        feed or stream message), though every read model includes it."""
        return imported_fact(self.request) is not None

    @property
    def acted_at(self) -> datetime:
        """When the rules judged it: the time it was recorded, or for an imported fact
        its business time (the import ran its command as of then)."""
        return self.occurred_at if self.imported else self.timestamp
