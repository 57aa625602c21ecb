"""The rules of the lifecycle: whether a case, as it stands, allows a step.

Each guard raises the named domain error that says why not. The commands ask
them before recording anything, and the access table (``access``) asks them for
a case's next actions, so what a role is offered is what it may do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.dispute.case import DisputeState
from domain.dispute.dues import ORDER_CANCELLED
from domain.dispute.state import RefundStatus
from domain.errors import (
    AlreadyDelivered,
    AlreadyReviewed,
    AlreadyShipped,
    AppealNotAllowed,
    AppealWindowClosed,
    CaseClosed,
    CaseNotSettled,
    InterventionNotAllowed,
    NoOpenIntervention,
    NoPendingAppeal,
    NoPendingRefund,
    NoReview,
    NotShipped,
    OrderCancelled,
    OrderStillOpen,
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


def can_request_evidence(d: DisputeState) -> None:
    is_open(d)


def can_claim(d: DisputeState) -> None:
    """A moderator may claim any case not closed (who holds it: ``ClaimCommands.claim``)."""
    is_open(d)


def can_change_review_visibility(d: DisputeState, hidden: bool | None = None) -> None:
    """A review to hide (or show again); ``hidden`` the visibility asked for, if known."""
    if d.buyer_review is None:
        raise NoReview("the buyer has not reviewed this order")
    if hidden is not None and d.buyer_review.hidden == hidden:
        state = "hidden" if hidden else "shown"
        raise NoReview(f"the review is already {state}")


def can_request_intervention(d: DisputeState) -> None:
    """One intervention per case: after DeadlineMissed once the seller responded or the
    response window passed, after a date the seller promised passed unshipped
    (``PromiseBroken``), or after the seller denied a refund."""
    is_active(d)
    if d.intervention is not None:
        state = "is under review" if d.intervention.is_open else "was ruled on"
        raise InterventionNotAllowed(f"an intervention {state} already; one per case")
    if d.refund is not None and d.refund.status is RefundStatus.DENIED:
        return
    if d.refund is not None and d.refund.status is RefundStatus.PAID:
        raise InterventionNotAllowed("the refund was already paid")
    if d.promises_broken:
        return
    if not d.deadline_missed:
        raise InterventionNotAllowed(
            "the platform steps in only after the shipping deadline "
            f"({d.ship_by.isoformat()}) was missed, after a ship date the seller promised "
            "passed, or after a refund was denied"
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
    """One refund request at a time: a first one, or one for the rest once the last was
    paid in part; after a denial the way forward is an intervention
    (``DisputeState.refund_claimable`` says the same)."""
    is_active(d)
    if d.remaining_refundable <= 0:
        raise RefundNotAllowed("the order was refunded in full already")
    if d.refund is not None and d.refund.status is not RefundStatus.PAID:
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
    returned goods are received. A due can be paid even after the order was cancelled
    or the case closed (a close that cancels the order leaves its refund due).

    A case with no dues (approved before dues were recorded) keeps the old rule:
    refunds of delivered goods need the goods back first."""
    if d.dues:
        if not d.open_dues:
            if any(due.cancelled for due in d.dues):
                raise RefundNotAllowed(
                    "no refund due on this case is open: each was paid already or cancelled "
                    "by an appeal decision"
                )
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


def appeal_closes(d: DisputeState, policy: Policy, party: str) -> datetime | None:
    """When ``party``'s appeal window closes: ``appeal_window_days_<party>`` calendar days
    after the ruling (None: no ruling, or this order's policy allows that party none)."""
    intervention = d.intervention
    if intervention is None or intervention.resolved_at is None:
        return None
    days = policy.rules_for(d.region, d.category).appeal_window_days(party)
    return intervention.resolved_at + timedelta(days=days) if days > 0 else None


def can_appeal(d: DisputeState, policy: Policy, now: datetime, party: str) -> None:
    """Each party may appeal the ruling once, within its window; an overturn is final."""
    is_active(d)
    if d.intervention is None or d.intervention.resolved_at is None:
        raise AppealNotAllowed("there is no ruling to appeal")
    if d.appeals.overturned is not None:
        raise AppealNotAllowed("the ruling was overturned on appeal, and that decision is final")
    if d.appeals.by(party) is not None:
        raise AppealNotAllowed(f"the {party} appealed this ruling already; one appeal each")
    closes = appeal_closes(d, policy, party)
    if closes is None:
        raise AppealWindowClosed(
            f"the policy this order follows ({d.policy_version}) allows the {party} no appeal"
        )
    if now > closes:
        days = policy.rules_for(d.region, d.category).appeal_window_days(party)
        raise AppealWindowClosed(
            f"the {party} could appeal until {closes.isoformat()}, {days} days after the ruling"
        )


def can_decide_appeal(d: DisputeState) -> None:
    """A moderator decides the pending appeals of an active case (not the one who ruled:
    ``AppealCommands.decide_appeal`` checks who)."""
    is_active(d)
    if not d.appeals.pending:
        raise NoPendingAppeal("no appeal of the ruling awaits a decision")


def can_extend_ship_by(d: DisputeState) -> None:
    """A moderator may give the seller more time while the order has not shipped."""
    is_active(d)
    if d.shipment is not None:
        raise AlreadyShipped(
            f"the order already shipped on {d.shipment.shipped_at.isoformat()}; "
            "its ship-by no longer matters"
        )


def unsettled(d: DisputeState) -> list[str]:
    """What keeps a case from closing: money owed to the buyer, goods on their way.

    (A due the close itself records when it cancels the order is not in the way: the
    platform pays it after the close.)"""
    currency = d.amount.currency
    open_dues = d.open_dues
    found = [
        f"refund due {due.due_id} still owes {due.outstanding} {currency}"
        for due in open_dues
        if due.reason != ORDER_CANCELLED
    ]
    refund = d.refund
    if refund is not None and refund.status is RefundStatus.APPROVED and not open_dues:
        found.append(f"the approved refund of {refund.amount} {currency} is not paid")
        if refund.return_required and (d.return_ is None or d.return_.in_transit):
            found[-1] += " (it falls due once the goods come back)"
    if d.return_ is not None and d.return_.in_transit:
        found.append(
            f"the goods sent back on {d.return_.shipped_at.isoformat()} "
            f"({d.return_.carrier} {d.return_.tracking_number}) have not been received"
        )
    if d.appeals.pending:
        found.append("an appeal of the ruling awaits its decision")
    if d.shipment is not None and d.delivered_at is None:
        found.append(
            f"the order shipped on {d.shipment.shipped_at.isoformat()} "
            f"({d.shipment.carrier} {d.shipment.tracking_number}) has not been delivered"
        )
    return found


def may_close(d: DisputeState) -> None:
    """Open, and settled: no money owed to the buyer, no goods on their way. (An order
    that is still running closes only with ``cancel_order``: see :func:`can_close`.)"""
    is_open(d)
    found = unsettled(d)
    if found:
        raise CaseNotSettled("the case cannot close while " + "; ".join(found))


def can_close(d: DisputeState, cancel_order: bool = False) -> None:
    """:func:`may_close`; and an order that neither shipped nor was cancelled closes only
    when the close cancels it (``cancel_order``), which only such an order allows."""
    may_close(d)
    if cancel_order:
        if d.shipment is not None:
            raise AlreadyShipped(
                f"the order shipped on {d.shipment.shipped_at.isoformat()}; it can no longer "
                "be cancelled (close without cancel_order)"
            )
        if d.cancelled_at is not None:
            raise OrderCancelled(
                f"the order was cancelled on {d.cancelled_at.isoformat()} already "
                "(close without cancel_order)"
            )
    elif d.shipment is None and d.cancelled_at is None:
        raise OrderStillOpen(
            "the order neither shipped nor was cancelled: send cancel_order: true to cancel "
            "it with the rest of its amount refunded (a refund due the platform pays)"
        )
