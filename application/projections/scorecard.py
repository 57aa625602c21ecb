"""The seller scorecard: additive counters per seller, plus what the
time-dependent and median figures need at query time.

Definitions (also in docs of the API):

- ``orders``: disputes (one per order) of the seller; ``shipped``: those shipped.
- ``late_dispatch_rate`` = orders that got DeadlineMissed / orders that shipped,
  got DeadlineMissed, or whose ``ship_by`` has passed (null when none). The last
  part depends on *now*, so unshipped orders that are not late yet are kept
  with their ``ship_by`` and counted at query time. A DeadlineMissed that a
  late-reported shipment withdrew (DeadlineMissWithdrawn) does not count.
- ``auto_cancel_rate`` = orders auto-cancelled / orders (null when none).
- ``disputes``: orders on which the buyer contacted the seller, asked for a
  refund or asked the platform to step in.
- ``interventions``: orders with an intervention request; ``interventions_lost``:
  rulings against the seller (refund_full, refund_partial, seller_must_ship), by
  the outcome that stands (an appeal may overturn the ruling).
- ``appeals_won``, ``appeals_lost``: the seller's own appeals of rulings, decided
  in its favour (overturned to less refund, or to claim_rejected) or not (upheld,
  or overturned to more refund).
- ``refund_rate`` = orders with money refunded, i.e. paid (an auto-cancellation's
  refund included once the platform pays its due) / orders. A refund approved
  but not yet paid does not count.
- ``average_rating`` over ``reviews``; ``median_response_hours``: median over
  every seller response of the time since the buyer's contact it answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from application.projections.facts import LOST_OUTCOMES, DisputeFacts
from application.projections.model import Touch
from application.projections.records import (
    PendingDispatch,
    ResponseSample,
    ScorecardChanges,
    SellerCounts,
)

_NOTHING = SellerCounts()
#: The facts a seller's counts are made of: equal fields, equal contribution.
_COUNTED = itemgetter(*(
    DisputeFacts._fields.index(name)
    for name in (
        "shipped_at", "deadline_missed", "auto_cancelled", "disputed", "intervention_reason",
        "intervention_outcome", "refunded", "rating", "seller_appeals_won",
        "seller_appeals_lost",
    )
))


def contribution(facts: DisputeFacts | None) -> SellerCounts:
    if facts is None:
        return _NOTHING
    shipped = facts.shipped_at is not None
    rating = facts.rating
    return SellerCounts(
        1,
        int(shipped),
        int(facts.deadline_missed),
        int(shipped or facts.deadline_missed),
        int(facts.auto_cancelled),
        int(facts.disputed),
        int(facts.intervention_reason is not None),
        int(facts.intervention_outcome in LOST_OUTCOMES),
        int(facts.refunded),
        rating or 0,
        int(rating is not None),
        facts.seller_appeals_won,
        facts.seller_appeals_lost,
    )


def pending_ship_by(facts: DisputeFacts | None) -> int | None:
    if facts is None or facts.shipped_at is not None or facts.deadline_missed:
        return None
    return facts.ship_by


class Scorecard:
    name = "scorecard"
    # 2: a withdrawn DeadlineMissed is not a late dispatch; appeals_won, appeals_lost
    schema = 2

    def changes(self, version: int, touched: Sequence[Touch]) -> ScorecardChanges:
        out = ScorecardChanges(version)
        deltas: dict[str, list[SellerCounts]] = {}
        for t in touched:
            after, before = t.after, t.before
            seller = after.seller_id
            # Most events leave the seller's counts as they were.
            if before is None:
                delta = contribution(after)
            elif _COUNTED(before) != _COUNTED(after):
                delta = contribution(after).minus(contribution(before))
            else:
                delta = _NOTHING
            if delta is not _NOTHING and not delta.is_zero():
                found = deltas.get(seller)
                if found is None:
                    deltas[seller] = [delta]
                else:
                    found.append(delta)
            old, new = pending_ship_by(before), pending_ship_by(after)
            if old != new:
                out.pending.append(PendingDispatch(after.dispute_id, seller, new))
            if t.responses:
                out.samples.extend(
                    ResponseSample(after.dispute_id, version_, seller, micros)
                    for version_, micros in t.responses
                )
        out.sellers = {
            seller: found[0]
            if len(found) == 1
            else SellerCounts._make(map(sum, zip(*found, strict=True)))
            for seller, found in deltas.items()
        }
        return out
