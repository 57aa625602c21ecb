"""An in-process due index fed from case views: a test fake.

The service itself uses the read model's index; this one serves a test that
sees every write in one process.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any
from uuid import UUID


class MemoryDueIndex:
    def __init__(self) -> None:
        self._due: dict[UUID, datetime] = {}
        self._sorted: list[tuple[datetime, UUID]] = []

    def track(self, view: dict[str, Any]) -> None:
        """Remember a dispute's next due instant from its latest case view."""
        dispute_id = UUID(view["id"])
        old = self._due.pop(dispute_id, None)
        if old is not None:
            i = bisect.bisect_left(self._sorted, (old, dispute_id))
            if i < len(self._sorted) and self._sorted[i] == (old, dispute_id):
                del self._sorted[i]
        nxt = view.get("next_due")
        if nxt:
            at = datetime.fromisoformat(nxt["at"])
            self._due[dispute_id] = at
            bisect.insort(self._sorted, (at, dispute_id))

    def due(
        self, now: datetime, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> list[tuple[datetime, UUID]]:
        start = 0 if after is None else bisect.bisect_right(self._sorted, after)
        page: list[tuple[datetime, UUID]] = []
        for item in self._sorted[start:]:
            if item[0] > now or len(page) >= limit:
                break
            page.append(item)
        return page

    def __len__(self) -> int:
        return len(self._due)
