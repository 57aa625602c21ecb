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
from domain.dispute.state import MoneyOwed, RefundStatus
from domain.dispute.vocabulary import Actor
from domain.errors import InvalidInput, RefundNotAllowed

#: Why money fell due.
AUTO_CANCELLED = "auto_cancelled"
SELLER_APPROVED = "seller_approved"
POLICY_AUTO_APPROVED = "policy_auto_approved"
RULING = "ruling"
DUE_REASONS = (AUTO_CANCELLED, SELLER_APPROVED, POLICY_AUTO_APPROVED, RULING)

#: Who approved a refund -> why its money falls due.
_REASON_OF_DECIDER = {
    "seller": SELLER_APPROVED,
    "policy": POLICY_AUTO_APPROVED,
    "moderator": RULING,
}

BUYER = "buyer"


def owe(
    d: DisputeState, amount: Decimal, reason: str, actor: Actor, at: datetime, now: datetime
) -> None:
    """Record that ``amount`` is owed to the buyer (nothing when it is zero)."""
    if amount <= 0:
        return
    d._record(
        events.RefundDue,
        actor,
        at,
        now,
        due_id=f"{d.id}:{len(d.dues) + 1}",
        amount=amount,
        payee=BUYER,
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
            if due.outstanding <= 0:
                raise RefundNotAllowed(f"refund due {due_id} was paid already")
            return due
    raise InvalidInput(f"no refund due {due_id} on this case", field="due_id")
