"""The sweeper's due index, read from the disputes read model."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.projections.queries import ReadModelQueries


class ReadModelDueIndex:
    """Next-due instants as the disputes projection keeps them (it trails the
    event log by a moment; a dispute it has not caught up with yet is swept
    next time, and its derived events still carry their own instants)."""

    def __init__(self, queries: ReadModelQueries) -> None:
        self.queries = queries

    def due(
        self, now: datetime, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> list[tuple[datetime, UUID]]:
        reading = self.queries.due(now, limit, after)
        return [(case.at, UUID(case.dispute_id)) for case in reading.value]
