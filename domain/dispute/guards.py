"""The rules of the lifecycle: whether a case, as it stands, allows a step.

Each guard raises the named domain error that says why not. The commands ask
them before recording anything, and the access table (``access``) asks them for
a case's next actions, so what a role is offered is what it may do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.dispute.case import DisputeState
from domain.dispute.state import RefundStatus
from domain.errors import (
    AlreadyDelivered,
    AlreadyReviewed,
    AlreadyShipped,
    CaseClosed,
    InterventionNotAllowed,
    NoOpenIntervention,
    NoPendingRefund,
    NotShipped,
    OrderCancelled,
    RefundNotAllowed,
    ReturnNotAllowed,
    ReviewWindowClosed,
)
from domain.policy import Policy


def is_open(d: DisputeState) -> None:
    """After a case is closed only internal notes and the buyer's review are accepted."""
    if d.closed_at is not None:
        raise CaseClosed(f"the case was closed on {d.closed_at.isoformat()}")


def is_active(d: DisputeState) -> None:
    """Open, and the order was not auto-cancelled."""
    is_open(d)
    if d.cancelled_at is not None:
        raise OrderCancelled(
            f"the order was auto-cancelled, its refund approved, on {d.cancelled_at.isoformat()}"
        )


def can_ship(d: DisputeState) -> None:
    is_active(d)
    if d.shipment is not None:
        raise AlreadyShipped(f"the order already shipped on {d.shipment.shipped_at.isoformat()}")


def can_deliver(d: DisputeState) -> None:
    is_active(d)
    if d.shipment is None:
        raise NotShipped("the order has not shipped, so it cannot be delivered")
    if d.delivered_at is not None:
        raise AlreadyDelivered(f"the order was delivered on {d.delivered_at.isoformat()}")


def can_contact_seller(d: DisputeState) -> None:
    is_active(d)


def can_respond(d: DisputeState) -> None:
    is_active(d)


def can_add_evidence(d: DisputeState) -> None:
    is_open(d)


def can_request_intervention(d: DisputeState) -> None:
    """One intervention per case: after DeadlineMissed once the seller responded or the
    response window passed, or after the seller denied a refund."""
    is_active(d)
    if d.intervention is not None:
        state = "is under review" if d.intervention.is_open else "was ruled on"
        raise InterventionNotAllowed(f"an intervention {state} already; one per case")
    if d.refund is not None and d.refund.status is RefundStatus.DENIED:
        return
    if d.refund is not None and d.refund.status is RefundStatus.PAID:
        raise InterventionNotAllowed("the refund was already paid")
    if not d.deadline_missed:
        raise InterventionNotAllowed(
            "the platform steps in only after the shipping deadline "
            f"({d.ship_by.isoformat()}) was missed, or after a refund was denied"
        )
    if not (d.responded or d.response_overdue):
        raise InterventionNotAllowed(
            "contact the seller first: the platform steps in once the seller has "
            "responded or the response window has passed"
        )


def can_rule(d: DisputeState) -> None:
    is_active(d)
    if not d.awaiting_ruling:
        raise NoOpenIntervention("there is no open intervention request to rule on")


def can_request_refund(d: DisputeState) -> None:
    """One refund request per case; after a denial the way forward is an intervention."""
    is_active(d)
    if d.remaining_refundable <= 0:
        raise RefundNotAllowed("the order was refunded in full already")
    if d.refund is not None:
        if d.refund.status is RefundStatus.DENIED:
            raise RefundNotAllowed(
                "the seller denied the refund; ask the platform to step in instead"
            )
        raise RefundNotAllowed(f"a refund was already {d.refund.status.value} on this case")


def can_decide_refund(d: DisputeState) -> None:
    is_active(d)
    if d.refund is None or d.refund.status is not RefundStatus.REQUESTED:
        raise NoPendingRefund("there is no refund request awaiting the seller's answer")


def can_issue_refund(d: DisputeState) -> None:
    """Money falls due (``RefundDue``) once payment is allowed: at approval, or once
    returned goods are received. A due can be paid even after an auto-cancel.

    A case with no dues (approved before dues were recorded) keeps the old rule:
    refunds of delivered goods need the goods back first."""
    if d.dues:
        is_open(d)
        if not d.open_dues:
            raise RefundNotAllowed("every refund due on this case was paid already")
        return
    is_active(d)
    if d.refund is None or d.refund.status is not RefundStatus.APPROVED:
        raise RefundNotAllowed("no approved refund is awaiting payment")
    if d.refund.return_required and (d.return_ is None or d.return_.in_transit):
        raise RefundNotAllowed("the goods must be returned and received before the refund")


def can_return_goods(d: DisputeState) -> None:
    is_active(d)
    if d.delivered_at is None:
        raise ReturnNotAllowed("only goods that were delivered can be sent back")
    if (
        d.refund is None
        or d.refund.status is not RefundStatus.APPROVED
        or not d.refund.return_required
    ):
        raise ReturnNotAllowed("a return needs an approved refund that requires one")
    if d.return_ is not None:
        raise ReturnNotAllowed("the goods were already sent back")


def can_confirm_return_receipt(d: DisputeState) -> None:
    is_active(d)
    if d.return_ is None:
        raise ReturnNotAllowed("no return has been shipped")
    if not d.return_.in_transit:
        raise ReturnNotAllowed("the return was already received")


def can_review(d: DisputeState, policy: Policy, now: datetime) -> None:
    """One review, within the review window (accepted even on a closed case)."""
    if d.buyer_review is not None:
        raise AlreadyReviewed("the buyer already reviewed this order")
    if now > review_closes(d, policy):
        days = policy.rules_for(d.region, d.category).review_window_days
        since = "delivery" if d.delivered_at else "the order"
        raise ReviewWindowClosed(f"reviews close {days} days after {since}")


def review_closes(d: DisputeState, policy: Policy) -> datetime:
    """The review window opens at delivery (or at the order when nothing was delivered)
    and lasts ``review_window_days`` calendar days."""
    opened = d.delivered_at or d.placed_at
    return opened + timedelta(days=policy.rules_for(d.region, d.category).review_window_days)


def can_close(d: DisputeState) -> None:
    is_open(d)
