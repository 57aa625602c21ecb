"""What changes the order after it was placed: a moderator's extension of its ship-by,
and its cancellation by the close of its case. Topics are explicit and stable."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.state import Refund, RefundStatus

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute


class ShipByExtended(DisputeEvent):
    """A moderator gave the seller more time: ``ship_by`` moves, and the auto-cancel
    instant moves by as many business days as ``ship_by`` did (``business_days``)."""

    TOPIC = "disputedesk:ShipByExtended"
    reason: str
    ship_by: datetime
    auto_cancel_at: datetime
    previous_ship_by: datetime
    previous_auto_cancel_at: datetime
    business_days: int

    def apply(self, d: Dispute) -> None:
        d.ship_by = self.ship_by
        d.ship_by_since = self.occurred_at
        d.auto_cancel_at = self.auto_cancel_at
        d._note(self)


class OrderCancelled(DisputeEvent):
    """The close of a case cancelled its order (``cancel_order``), which had neither
    shipped nor been cancelled: the rest of its amount is refunded, approved by whoever
    closed it, and falls due with it (a ``RefundDue`` follows when it is more than 0)."""

    TOPIC = "disputedesk:OrderCancelled"
    reason: str
    refund_amount: Decimal

    def apply(self, d: Dispute) -> None:
        d.cancelled_at = self.occurred_at
        if self.refund_amount > 0:
            d.refund = Refund(
                RefundStatus.APPROVED,
                self.refund_amount,
                reason=f"order cancelled: {self.reason}",
                return_required=False,
                requested_at=d.refund.requested_at if d.refund else self.occurred_at,
                decided_at=self.occurred_at,
                decided_by=self.actor_role,
            )
        d._note(self)


#: This module's events, in the order the aggregate lists them.
ORDER_EVENTS: tuple[type[DisputeEvent], ...] = (ShipByExtended, OrderCancelled)
