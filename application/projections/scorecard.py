"""The seller scorecard: additive counters per seller, plus what the
time-dependent and median figures need at query time; and the seller's page
(the seller search and ``GET /v1/sellers/{id}``): its name, where and what it
sold, its reviews and the return labels it paid.

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
- ``average_rating`` = mean rating of the reviews buyers see, over ``reviews``;
  ``rating_1`` .. ``rating_5`` count them by rating. A review a moderator hid
  counts in none of them (only in ``hidden_reviews``), so the average, the count
  and the distribution always agree; showing it again counts it again.
- ``median_response_hours``: median over every seller response of the time
  since the buyer's contact it answered.
- The seller's name is the one on its latest order that named one (by
  ``placed_at``, then by the order's place in the log); an order without a
  name leaves it as it was.
- Return costs: the return labels the seller paid (``ReturnShipped.label_cost``),
  summed per currency in whole minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from application.projections.facts import LOST_OUTCOMES, DisputeFacts
from application.projections.model import Touch
from application.projections.records import (
    EPOCH,
    MICROSECOND,
    PendingDispatch,
    ResponseSample,
    ReviewRow,
    ScorecardChanges,
    SellerCounts,
    SellerName,
)

_NOTHING = SellerCounts()
#: The facts a seller's figures and page are made of: equal fields, equal contribution.
_COUNTED = itemgetter(*(
    DisputeFacts._fields.index(name)
    for name in (
        "shipped_at", "deadline_missed", "auto_cancelled", "disputed", "intervention_reason",
        "intervention_outcome", "refunded", "review", "seller_appeals_won",
        "seller_appeals_lost", "return_cost",
    )
))


def contribution(facts: DisputeFacts | None) -> SellerCounts:
    if facts is None:
        return _NOTHING
    shipped = facts.shipped_at is not None
    review = facts.review
    hidden = review is not None and review.hidden
    # A visible review's rating (0: none buyers see) and its count by rating.
    rating = 0 if review is None or hidden else review.rating
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
        rating,
        int(rating > 0),
        facts.seller_appeals_won,
        facts.seller_appeals_lost,
        int(rating == 1),
        int(rating == 2),
        int(rating == 3),
        int(rating == 4),
        int(rating == 5),
        int(hidden),
    )


def pending_ship_by(facts: DisputeFacts | None) -> int | None:
    if facts is None or facts.shipped_at is not None or facts.deadline_missed:
        return None
    return facts.ship_by


def _opened(out: ScorecardChanges, t: Touch) -> None:
    """A new order: where and what the seller sold, and maybe its name."""
    after = t.after
    market = (after.seller_id, after.region, after.category)
    out.markets[market] = out.markets.get(market, 0) + 1
    name = after.seller_name
    if name is None:
        return
    named = SellerName(after.seller_id, name, name.casefold(), after.placed_at, t.first)
    known = out.names.get(after.seller_id)
    if known is None or (named.named_at, named.named_position) > (
        known.named_at, known.named_position
    ):
        out.names[after.seller_id] = named


def _page_changes(out: ScorecardChanges, before: DisputeFacts | None, after: DisputeFacts) -> None:
    """The review and the return label, where they changed."""
    old = None if before is None else before.review
    review = after.review
    if review != old:
        if review is None:
            out.unreviewed.append(after.dispute_id)
        else:
            out.reviews.append(ReviewRow(
                after.dispute_id, after.seller_id, after.order_id, review.rating,
                review.comment, (review.at - EPOCH) // MICROSECOND, int(review.hidden),
                review.hidden_reason,
            ))
    old_cost = None if before is None else before.return_cost
    cost = after.return_cost
    if cost != old_cost:
        key = (after.seller_id, after.currency)
        minor, labels = out.return_costs.get(key, (0, 0))
        out.return_costs[key] = (
            minor + (cost or 0) - (old_cost or 0),
            labels + (cost is not None) - (old_cost is not None),
        )


class Scorecard:
    name = "scorecard"
    # 2: a withdrawn DeadlineMissed is not a late dispatch; appeals_won, appeals_lost
    # 3: the seller's page (names, markets, reviews, return costs); hidden reviews
    #    leave the rating figures, which count by rating
    schema = 3

    def changes(self, version: int, touched: Sequence[Touch]) -> ScorecardChanges:
        out = ScorecardChanges(version)
        deltas: dict[str, list[SellerCounts]] = {}
        for t in touched:
            after, before = t.after, t.before
            seller = after.seller_id
            # Most events leave the seller's counts and page as they were.
            if before is None:
                delta = contribution(after)
                _opened(out, t)
                _page_changes(out, before, after)
            elif _COUNTED(before) != _COUNTED(after):
                delta = contribution(after).minus(contribution(before))
                _page_changes(out, before, after)
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
        out.return_costs = {k: v for k, v in out.return_costs.items() if v != (0, 0)}
        return out
