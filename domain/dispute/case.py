"""What a dispute holds, and the facts read off it: the status and what the
policy's timers ask (``deadlines.TimerFacts``).

The events (``events``) write these attributes; the commands, guards and timers
read them. The aggregate (``aggregate.Dispute``) is this state plus its
commands, timers and events.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.dispute.state import (
    DueStatus,
    Evidence,
    Intervention,
    MoneyOwed,
    Refund,
    RefundStatus,
    Return,
    Review,
    SellerResponse,
    Shipment,
)
from domain.dispute.vocabulary import Actor, Status
from domain.money import Money
from domain.requests import RequestMemory

if TYPE_CHECKING:
    from domain.dispute.events import DisputeEvent


class DisputeState:
    if TYPE_CHECKING:
        # The order, as placed (a ruling may move ``ship_by``).
        order_id: str
        buyer_id: str
        seller_id: str
        region: str
        category: str
        amount: Money
        placed_at: datetime
        ship_by: datetime
        #: When ``ship_by`` was set (the order, or a ruling that moved it).
        ship_by_since: datetime
        auto_cancel_at: datetime
        policy_version: str
        # What happened since.
        shipment: Shipment | None
        delivered_at: datetime | None
        contact_pending_since: datetime | None
        contacts: int
        last_response: SellerResponse | None
        responded: bool
        response_overdue: bool
        deadline_missed_for: datetime | None
        deadline_missed: bool
        #: The deadline each reminder was recorded for, by kind of deadline.
        reminded: dict[str, datetime]
        evidence: dict[str, Evidence]
        intervention: Intervention | None
        refund: Refund | None
        refunded_total: Decimal
        #: Money owed (``RefundDue``), in the order it fell due.
        dues: tuple[MoneyOwed, ...]
        return_: Return | None
        buyer_review: Review | None
        cancelled_at: datetime | None
        closed_at: datetime | None
        close_reason: str | None
        #: (event type, occurred_at) of every event, in order.
        history: list[tuple[str, datetime]]
        requests: RequestMemory

        # Given by the aggregate.
        id: UUID
        version: int

        def _record(
            self,
            event_class: type[DisputeEvent],
            actor: Actor,
            at: datetime,
            now: datetime,
            **kw: Any,
        ) -> None: ...

    # ---- derived facts the policy reads (deadlines.TimerFacts) ---------------

    @property
    def is_shipped(self) -> bool:
        return self.shipment is not None

    @property
    def is_finished(self) -> bool:
        return self.closed_at is not None or self.cancelled_at is not None

    @property
    def awaiting_ruling(self) -> bool:
        """An intervention is open on a case a moderator can still rule on."""
        return (
            self.intervention is not None
            and self.intervention.is_open
            and not self.is_finished
        )

    @property
    def refund_requested_at(self) -> datetime | None:
        if self.refund is None or self.refund.status is not RefundStatus.REQUESTED:
            return None
        return self.refund.requested_at

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_total >= self.amount.amount

    @property
    def open_dues(self) -> list[MoneyOwed]:
        return [due for due in self.dues if due.status is DueStatus.OPEN]

    @property
    def owed_total(self) -> Decimal:
        """Money approved for payment and not yet paid."""
        return sum((due.outstanding for due in self.dues), Decimal("0.00"))

    @property
    def remaining_refundable(self) -> Decimal:
        """What may still be refunded: neither paid nor owed already."""
        return self.amount.amount - self.refunded_total - self.owed_total

    # ---- status ----------------------------------------------------------------

    @property
    def status(self) -> Status:
        """Derived from the facts, first match wins (docs/decisions.md, Status)."""
        refund = self.refund.status if self.refund is not None else None
        if self.closed_at is not None:
            return Status.CLOSED
        if self.cancelled_at is not None:
            return Status.CANCELLED
        if refund is RefundStatus.PAID:
            return Status.REFUNDED
        if self.return_ is not None and self.return_.in_transit:
            return Status.RETURN_IN_TRANSIT
        if self.intervention is not None and self.intervention.is_open:
            return Status.UNDER_REVIEW
        if refund is RefundStatus.REQUESTED or refund is RefundStatus.APPROVED:
            return Status.REFUND_REQUESTED
        if self.contact_pending_since is not None and self.delivered_at is None:
            return Status.AWAITING_SELLER
        if self.responded and not self.is_shipped:
            return Status.SELLER_RESPONDED
        if self.delivered_at is not None:
            return Status.DELIVERED
        if self.is_shipped:
            return Status.SHIPPED
        if self.deadline_missed_for == self.ship_by:
            return Status.OVERDUE
        return Status.AWAITING_SHIPMENT
