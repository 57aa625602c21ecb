"""What the read models need to know about one dispute, read off the aggregate.

Status and deadlines come from the Dispute itself (``status``,
``next_deadline``): the projections never re-implement its state machine.
The remaining flags read the recorded facts (the aggregate's attributes and its
``history`` of event types).
"""

from __future__ import annotations

from typing import NamedTuple

from application.projections.records import EPOCH, MICROSECOND, to_micros
from domain.dispute import Dispute, Review
from domain.money import minor_units
from domain.policy import Policy

#: A case counts as "disputed" once the buyer raised an issue in any of these ways.
DISPUTE_EVENTS = frozenset({"SellerContacted", "RefundRequested", "InterventionRequested"})
#: The first of these ends the case for the time-to-resolution figure
#: (status closed, refunded or cancelled).
RESOLVING_EVENTS = frozenset({"CaseClosed", "RefundIssued", "OrderAutoCancelled"})
#: Rulings against the seller (the outcome that stands, after any appeal).
LOST_OUTCOMES = frozenset({"refund_full", "refund_partial", "seller_must_ship"})


class DisputeFacts(NamedTuple):
    # The first fields are, in order, those of a disputes-view row (but its position).
    dispute_id: str
    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: str
    currency: str
    status: str
    placed_at: int
    ship_by: int
    auto_cancel_at: int
    updated_at: int
    version: int
    policy_version: str
    shipped_at: int | None
    refund_status: str | None
    intervention_reason: str | None
    intervention_requested_at: int | None
    #: requested_at while the intervention is open; the first pending appeal's filed_at
    #: while an appeal awaits its decision (both put the case in the moderation queue)
    awaiting_ruling_since: int | None
    next_due_at: int | None
    next_due_kind: str | None
    #: A moderator's claim as recorded, live or lapsed (the queue tells which at read time).
    claimed_by: str | None
    claim_expires_at: int | None
    # What the other read models need.
    intervention_outcome: str | None
    deadline_missed: bool
    auto_cancelled: bool
    disputed: bool
    refunded: bool
    rating: int | None
    resolved_at: int | None
    #: The seller's own appeals decided in its favour, and the others it lost.
    seller_appeals_won: int
    seller_appeals_lost: int
    #: What the seller's page needs: the name on the order, the buyer's review (hidden
    #: or not) and the return label the seller paid (whole minor units of ``currency``).
    seller_name: str | None
    review: Review | None
    return_cost: int | None


def facts_of(
    d: Dispute, policy: Policy, dispute_id: str | None = None, known: DisputeFacts | None = None
) -> DisputeFacts:
    """``dispute_id``: ``str(d.id)`` when the caller has it; ``known``: earlier facts of
    the same dispute, whose fields an order never changes are taken as they are, and
    whose flags read off the history (which only grows) are kept once set."""
    due = d.next_deadline(policy)
    intervention = d.intervention
    disputed = known is not None and known.disputed
    resolved_at = None if known is None else known.resolved_at
    if not disputed or resolved_at is None:
        for kind, at in d.history:
            if not disputed and kind in DISPUTE_EVENTS:
                disputed = True
            if resolved_at is None and kind in RESOLVING_EVENTS:
                resolved_at = (at - EPOCH) // MICROSECOND
    requested_at = (
        (intervention.requested_at - EPOCH) // MICROSECOND if intervention else None
    )
    shipment = d.shipment
    review = d.buyer_review
    refund = d.refund
    claim = d.moderator_claim
    if known is None:
        fixed: tuple[object, ...] = (
            dispute_id or str(d.id),
            d.order_id,
            d.buyer_id,
            d.seller_id,
            d.region,
            d.category,
            d.amount.amount_text(),
            d.amount.currency,
        )
        placed_at, auto_cancel_at = to_micros(d.placed_at), to_micros(d.auto_cancel_at)
    else:
        fixed = known[:8]
        placed_at, auto_cancel_at = known.placed_at, known.auto_cancel_at
    return DisputeFacts._make((
        *fixed,
        d.status.value,
        placed_at,
        (d.ship_by - EPOCH) // MICROSECOND,  # a ruling may extend it
        auto_cancel_at,
        (d.modified_on - EPOCH) // MICROSECOND,
        d.version,
        d.policy_version,
        (shipment.shipped_at - EPOCH) // MICROSECOND if shipment else None,
        refund.status.value if refund else None,
        intervention.reason if intervention else None,
        requested_at,
        requested_at if d.awaiting_ruling else appeal_since(d),
        (due.at - EPOCH) // MICROSECOND if due else None,
        due.kind if due else None,
        claim.moderator_id if claim else None,
        (claim.expires_at - EPOCH) // MICROSECOND if claim else None,
        d.final_outcome,  # an overturn on appeal replaces the ruling's
        d.deadline_missed,
        d.cancelled_at is not None,
        disputed,
        d.refunded_total > 0,
        review.rating if review else None,
        resolved_at,
        *seller_appeals(d),
        d.seller_name,
        review,
        _return_cost(d),
    ))


def _return_cost(d: Dispute) -> int | None:
    """The return label the seller paid, in whole minor units of the order's currency."""
    sent_back = d.return_
    if sent_back is None or sent_back.label_cost is None:
        return None
    return int(sent_back.label_cost.scaleb(minor_units(d.amount.currency)))


def appeal_since(d: Dispute) -> int | None:
    """When the first appeal awaiting a decision was filed (the queue's order)."""
    since = d.appeals.pending_since if d.awaiting_appeal_decision else None
    return None if since is None else (since - EPOCH) // MICROSECOND


def seller_appeals(d: Dispute) -> tuple[int, int]:
    """(won, lost) of the seller's appeals decided: won when the decision favours it."""
    won = lost = 0
    for decision in d.appeals.decisions:
        if "seller" in decision.appellants:
            if decision.favours == "seller":
                won += 1
            else:
                lost += 1
    return won, lost


def response_micros(event: object, d: Dispute) -> int | None:
    """For a SellerResponded about to be applied: how long the open contact waited."""
    if isinstance(event, Dispute.SellerResponded) and d.contact_pending_since is not None:
        return to_micros(event.occurred_at) - to_micros(d.contact_pending_since)
    return None
