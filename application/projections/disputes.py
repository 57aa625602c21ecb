"""The disputes view: one row per dispute (lists, the moderation queue, the
sweeper's index of next-due instants)."""

from __future__ import annotations

from collections.abc import Sequence

from application.projections.facts import DisputeFacts
from application.projections.model import Touch
from application.projections.records import DisputeRow, DisputesChanges

_ROW_FIELDS = len(DisputeRow._fields) - 1  # all but the position
if DisputeFacts._fields[:_ROW_FIELDS] != DisputeRow._fields[:_ROW_FIELDS]:  # pragma: no cover
    raise TypeError("DisputeFacts must begin with the fields of DisputeRow, in order")


def row_of(facts: DisputeFacts, position: int) -> DisputeRow:
    return DisputeRow._make((*facts[:_ROW_FIELDS], position))


class DisputesView:
    name = "disputes"
    # 2: statuses refund_approved, partially_refunded, under_appeal
    # 3: claimed_by, claim_expires_at (moderators' claims, for the queue)
    schema = 3

    def changes(self, version: int, touched: Sequence[Touch]) -> DisputesChanges:
        return DisputesChanges(version, [row_of(t.after, t.position) for t in touched])
