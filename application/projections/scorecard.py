"""The seller scorecard: additive counters per seller, plus what the
time-dependent and median figures need at query time.

Definitions (also in docs of the API):

- ``orders``: disputes (one per order) of the seller; ``shipped``: those shipped.
- ``late_dispatch_rate`` = orders that got DeadlineMissed / orders that shipped,
  got DeadlineMissed, or whose ``ship_by`` has passed (null when none). The last
  part depends on *now*, so unshipped orders that are not late yet are kept
  with their ``ship_by`` and counted at query time.
- ``auto_cancel_rate`` = orders auto-cancelled / orders (null when none).
- ``disputes``: orders on which the buyer contacted the seller, asked for a
  refund or asked the platform to step in.
- ``interventions``: orders with an intervention request; ``interventions_lost``:
  rulings against the seller (refund_full, refund_partial, seller_must_ship).
- ``refund_rate`` = orders with money refunded (auto-cancellations included) / orders.
- ``average_rating`` over ``reviews``; ``median_response_hours``: median over
  every seller response of the time since the buyer's contact it answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.projections.facts import LOST_OUTCOMES, DisputeFacts
from application.projections.model import Touch
from application.projections.records import (
    PendingDispatch,
    ResponseSample,
    ScorecardChanges,
    SellerCounts,
)

_NOTHING = SellerCounts()


def contribution(facts: DisputeFacts | None) -> SellerCounts:
    if facts is None:
        return _NOTHING
    shipped = facts.shipped_at is not None
    return SellerCounts(
        orders=1,
        shipped=int(shipped),
        late=int(facts.deadline_missed),
        dispatch_settled=int(shipped or facts.deadline_missed),
        auto_cancelled=int(facts.auto_cancelled),
        disputes=int(facts.disputed),
        interventions=int(facts.intervention_reason is not None),
        interventions_lost=int(facts.intervention_outcome in LOST_OUTCOMES),
        refunded=int(facts.refunded),
        rating_sum=facts.rating or 0,
        reviews=int(facts.rating is not None),
    )


def pending_ship_by(facts: DisputeFacts | None) -> int | None:
    if facts is None or facts.shipped_at is not None or facts.deadline_missed:
        return None
    return facts.ship_by


class Scorecard:
    name = "scorecard"
    schema = 1

    def changes(self, version: int, touched: Sequence[Touch]) -> ScorecardChanges:
        out = ScorecardChanges(version)
        for t in touched:
            after = t.after
            seller = after.seller_id
            now, then = contribution(after), contribution(t.before)
            if now != then:  # most events leave the seller's counts as they were
                delta = now.minus(then)
                out.sellers[seller] = out.sellers.get(seller, _NOTHING).plus(delta)
            old, new = pending_ship_by(t.before), pending_ship_by(after)
            if old != new:
                out.pending.append(PendingDispatch(after.dispute_id, seller, new))
            out.samples.extend(
                ResponseSample(after.dispute_id, version_, seller, micros)
                for version_, micros in t.responses
            )
        return out
