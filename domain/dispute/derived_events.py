"""The derived events: what the policy's timers record as deadlines pass (see
``timers``), and what each does to the state. Topics are explicit and stable."""

from __future__ import annotations

from dataclasses import field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.state import Refund, RefundStatus

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute


# ---- derived (recorded by the policy's timers) -------------------------------


class DeadlineApproaching(DisputeEvent):
    """A reminder: one of the seller's deadlines is ``reminder_hours_before`` away."""

    TOPIC = "disputedesk:DeadlineApproaching"
    policy_version: str
    #: ``ship_by``, ``seller_response`` or ``refund_decision``.
    deadline: str
    #: The deadline's instant.
    due_at: datetime

    def apply(self, d: Dispute) -> None:
        d.reminded = {**d.reminded, self.deadline: self.due_at}
        d._note(self)


class DeadlineMissed(DisputeEvent):
    TOPIC = "disputedesk:DeadlineMissed"
    policy_version: str
    ship_by: datetime

    def apply(self, d: Dispute) -> None:
        d.deadline_missed_for = self.ship_by
        d.deadline_missed = True
        d._note(self)


class PromiseBroken(DisputeEvent):
    """The date the seller promised to ship by ended (23:59:59 local) and it had not."""

    TOPIC = "disputedesk:PromiseBroken"
    policy_version: str
    #: The promised date (YYYY-MM-DD, local to the order's region).
    promised_ship_date: str

    def apply(self, d: Dispute) -> None:
        assert d.promise is not None
        d.promise = replace(d.promise, broken=True)
        d.promises_broken += 1
        d._note(self)


class SellerResponseOverdue(DisputeEvent):
    TOPIC = "disputedesk:SellerResponseOverdue"
    policy_version: str
    contacted_at: datetime

    def apply(self, d: Dispute) -> None:
        d.response_overdue = True
        d._note(self)


class RefundAutoApproved(DisputeEvent):
    TOPIC = "disputedesk:RefundAutoApproved"
    policy_version: str
    amount: Decimal

    def apply(self, d: Dispute) -> None:
        assert d.refund is not None
        d.refund = d.refund.decided(RefundStatus.APPROVED, self.occurred_at, "policy")
        d._note(self)


class OrderAutoCancelled(DisputeEvent):
    TOPIC = "disputedesk:OrderAutoCancelled"
    policy_version: str
    refund_amount: Decimal
    #: Events recorded before refunds fell due recorded the refund as paid; new
    #: ones approve it, and a ``RefundDue`` follows.
    records_payment: bool = field(default=True, kw_only=True)

    def apply(self, d: Dispute) -> None:
        d.cancelled_at = self.occurred_at
        if not self.records_payment:
            if self.refund_amount > 0:
                d.refund = Refund(
                    RefundStatus.APPROVED,
                    self.refund_amount,
                    reason="auto-cancelled: not shipped in time",
                    return_required=False,
                    requested_at=d.refund.requested_at if d.refund else self.occurred_at,
                    decided_at=self.occurred_at,
                    decided_by="policy",
                )
            d._note(self)
            return
        # An auto-cancelled order carries its full (remaining) refund, paid.
        d.refund = Refund(
            RefundStatus.PAID,
            self.refund_amount,
            reason="auto-cancelled: not shipped in time",
            return_required=False,
            requested_at=d.refund.requested_at if d.refund else self.occurred_at,
            decided_at=self.occurred_at,
            decided_by="policy",
            paid_amount=self.refund_amount,
        )
        d.refunded_total += self.refund_amount
        d._note(self)
