"""Money owed: the ``RefundDue`` a case records once payment of a refund is allowed.

An approval (the seller's, the policy's, a ruling's, an auto-cancel) approves a
refund; none pays it. Payment is allowed at the approval, or, when the goods
must come back, once they are received. Then the case records one
``RefundDue``, and the platform reports the payment against its ``due_id``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.dispute import events
from domain.dispute.case import DisputeState
from domain.dispute.ruling_events import RefundCancelled
from domain.dispute.state import DueStatus, MoneyOwed, RefundStatus
from domain.dispute.vocabulary import Actor
from domain.errors import InvalidInput, RefundNotAllowed

#: Why money fell due.
AUTO_CANCELLED = "auto_cancelled"
SELLER_APPROVED = "seller_approved"
POLICY_AUTO_APPROVED = "policy_auto_approved"
RULING = "ruling"
#: The close of the case cancelled the order (``cancel_order``).
ORDER_CANCELLED = "order_cancelled"
#: An appeal overturned the ruling to (more of) a refund: owed to the buyer.
APPEAL = "appeal"
#: An appeal overturned a refund the buyer was already paid: the platform makes it up
#: to the seller (the buyer is never charged back).
OVERTURNED_REFUND = "overturned_refund"
DUE_REASONS = (
    AUTO_CANCELLED, SELLER_APPROVED, POLICY_AUTO_APPROVED, RULING, ORDER_CANCELLED, APPEAL,
    OVERTURNED_REFUND,
)

#: Who approved a refund -> why its money falls due.
_REASON_OF_DECIDER = {
    "seller": SELLER_APPROVED,
    "policy": POLICY_AUTO_APPROVED,
    "moderator": RULING,
}

BUYER = "buyer"
SELLER = "seller"


def owe(
    d: DisputeState,
    amount: Decimal,
    reason: str,
    actor: Actor,
    at: datetime,
    now: datetime,
    *,
    payee: str = BUYER,
) -> None:
    """Record that ``amount`` is owed to ``payee`` (nothing when it is zero)."""
    if amount <= 0:
        return
    d._record(
        events.RefundDue,
        actor,
        at,
        now,
        due_id=f"{d.id}:{len(d.dues) + 1}",
        amount=amount,
        payee=payee,
        reason=reason,
    )


def owe_approved_refund(d: DisputeState, actor: Actor, at: datetime, now: datetime) -> None:
    """The approved refund falls due now, unless its goods must come back first."""
    refund = d.refund
    if refund is None or refund.return_required:
        return
    owe(d, refund.amount, _REASON_OF_DECIDER.get(refund.decided_by or "", RULING), actor, at, now)


def owe_after_return(d: DisputeState, actor: Actor, now: datetime) -> None:
    """The returned goods were received: the approved refund falls due."""
    refund = d.refund
    if refund is None or refund.status is not RefundStatus.APPROVED or not refund.return_required:
        return
    owe(d, refund.amount, _REASON_OF_DECIDER.get(refund.decided_by or "", RULING), actor, now, now)


def payable(d: DisputeState, due_id: str | None) -> MoneyOwed:
    """The due a payment is for: ``due_id``, or the oldest open one."""
    if due_id is None:
        open_dues = d.open_dues
        if not open_dues:
            raise RefundNotAllowed("every refund due on this case was paid already")
        return open_dues[0]
    for due in d.dues:
        if due.due_id == due_id:
            if due.cancelled:
                raise RefundNotAllowed(f"refund due {due_id} was cancelled by an appeal decision")
            if due.outstanding <= 0:
                raise RefundNotAllowed(f"refund due {due_id} was paid already")
            return due
    raise InvalidInput(f"no refund due {due_id} on this case", field="due_id")


# ---- after an appeal overturned the ruling -----------------------------------------


def ruling_money(d: DisputeState) -> tuple[Decimal, list[MoneyOwed]]:
    """What the buyer was paid of the ruling's refund, and its dues still open."""
    ruled_at = d.intervention.resolved_at if d.intervention is not None else None
    if ruled_at is None:
        return Decimal("0.00"), []
    dues = [
        due for due in d.dues
        if due.payee == BUYER and due.reason in (RULING, APPEAL) and due.due_at >= ruled_at
    ]
    paid = sum((due.paid_amount for due in dues), Decimal("0.00"))
    return paid, [due for due in dues if due.status is DueStatus.OPEN]


def settle_overturn(
    d: DisputeState,
    granted: Decimal,
    decided: Decimal,
    paid: Decimal,
    open_dues: list[MoneyOwed],
    actor: Actor,
    now: datetime,
) -> None:
    """Money follows the final outcome (after ``AppealDecided``): the ruling ``granted`` a
    refund, the decision grants ``decided``, the buyer was ``paid``. Approved money no
    longer granted is withdrawn (``RefundCancelled``); more to the buyer falls due once
    payment is allowed; what the buyer kept beyond ``decided`` is owed to the seller."""
    unpaid_before = max(granted - paid, Decimal("0.00"))
    unpaid_after = max(decided - paid, Decimal("0.00"))
    refund = d.refund
    payable = refund is None or not refund.return_required or (
        d.return_ is not None and not d.return_.in_transit
    )
    if unpaid_after < unpaid_before:
        d._record(
            RefundCancelled,
            actor,
            now,
            now,
            amount=unpaid_before - unpaid_after,
            due_ids=[due.due_id for due in open_dues],
            refund_cancelled=decided <= 0 and paid <= 0,
            reason="overturned_on_appeal",
        )
        if payable:
            owe(d, unpaid_after, APPEAL, actor, now, now)
    elif unpaid_after > unpaid_before and payable:
        owe(d, unpaid_after - unpaid_before, APPEAL, actor, now, now)
    owe(d, paid - decided, OVERTURNED_REFUND, actor, now, now, payee=SELLER)
