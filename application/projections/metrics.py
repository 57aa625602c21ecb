"""Marketplace metrics: how many cases are in each status, and how long cases
take from the order to their resolution (first closed, refunded or cancelled)."""

from __future__ import annotations

from collections.abc import Sequence

from application.projections.model import Touch
from application.projections.records import MetricsChanges, Resolution


class Metrics:
    name = "metrics"
    schema = 2  # 2: counts by the new statuses

    def changes(self, version: int, touched: Sequence[Touch]) -> MetricsChanges:
        out = MetricsChanges(version)
        statuses = out.statuses
        for t in touched:
            before, after = t.before, t.after
            if before is None or before.status != after.status:
                statuses[after.status] = statuses.get(after.status, 0) + 1
                if before is not None:
                    statuses[before.status] = statuses.get(before.status, 0) - 1
            if after.resolved_at is not None and (before is None or before.resolved_at is None):
                out.resolutions.append(
                    Resolution(after.dispute_id, after.resolved_at - after.placed_at)
                )
        out.statuses = {status: n for status, n in statuses.items() if n}
        return out
