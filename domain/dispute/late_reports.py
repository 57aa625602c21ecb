"""Shipments the feed reported late: the correction of a deadline miss they disprove.

A shipment dated on or before ``ship_by`` that reaches us after it finds
DeadlineMissed on record (a sweep recorded it, or the shipment's own command did
first, as a punctual sweeper would have). The seller shipped in time; the feed
was late. Right after recording the shipment, the case records
``DeadlineMissWithdrawn`` for each miss on record that the shipment's date
disproves: the miss no longer counts (the scorecard's late dispatches, the
simulator's late-dispatch rates, the intervention's "deadline missed" gate),
and the history keeps both events. The simulator applies the same rule after
each recorded shipment (``withdraw_disproved_misses``), so a replay records
what the live case did.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.vocabulary import POLICY

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute
    from domain.dispute.case import DisputeState

DEADLINE_MISSED = "DeadlineMissed"
DEADLINE_MISS_WITHDRAWN = "DeadlineMissWithdrawn"


class DeadlineMissWithdrawn(DisputeEvent):
    """A DeadlineMissed on record no longer counts: the order shipped by that deadline and
    the feed reported it after. Dated at the shipment (when, in the world, the miss
    stopped being true); recorded with it, by the policy."""

    TOPIC = "disputedesk:DeadlineMissWithdrawn"
    policy_version: str
    #: The deadline whose miss is withdrawn (the DeadlineMissed's ``ship_by``).
    ship_by: datetime
    shipped_at: datetime
    #: When the shipment reached us.
    reported_at: datetime
    #: ``reported_at - shipped_at``, in whole seconds: the feed's lag.
    feed_lag_seconds: int

    def apply(self, d: Dispute) -> None:
        misses = withdrawn = 0
        for kind, _at in d.history:
            if kind == DEADLINE_MISSED:
                misses += 1
            elif kind == DEADLINE_MISS_WITHDRAWN:
                withdrawn += 1
        # A miss of an earlier deadline (before a ruling moved it) may still stand.
        d.deadline_missed = misses > withdrawn + 1
        d._note(self)


#: The events of this module, for the aggregate's list of every event.
LATE_REPORT_EVENTS: tuple[type[DisputeEvent], ...] = (DeadlineMissWithdrawn,)


def disproved_misses(d: DisputeState) -> list[datetime]:
    """The deadlines missed on record that the shipment's date disproves (none once
    withdrawn: a case ships once, so its withdrawals are recorded together)."""
    shipment = d.shipment
    if shipment is None or not d.deadline_missed:
        return []
    found: list[datetime] = []
    for kind, at in d.history:
        if kind == DEADLINE_MISS_WITHDRAWN:
            return []
        # A DeadlineMissed is dated at the deadline it missed.
        if kind == DEADLINE_MISSED and shipment.shipped_at <= at:
            found.append(at)
    return found


def withdraw_disproved_misses(d: DisputeState, now: datetime) -> int:
    """Record DeadlineMissWithdrawn for each miss the shipment disproves; ``now``: when
    the shipment was recorded. Returns how many were withdrawn."""
    missed = disproved_misses(d)
    shipment = d.shipment
    if not missed or shipment is None:
        return 0
    reported_at = shipment.reported_at or now
    lag = max(0, int((reported_at - shipment.shipped_at).total_seconds()))
    for ship_by in missed:
        d._record(
            DeadlineMissWithdrawn,
            POLICY,
            shipment.shipped_at,
            now,
            policy_version=d.policy_version,
            ship_by=ship_by,
            shipped_at=shipment.shipped_at,
            reported_at=reported_at,
            feed_lag_seconds=lag,
        )
    return len(missed)
