"""The dispute's events: what happened, and what each does to the state (``apply``).

Replaying history runs only ``apply``, never a command's checks. Each topic is
explicit and stable: renaming or moving a class never orphans a stored event.
The aggregate lists them as its attributes (``Dispute.OrderPlaced``, ...). A
ruling and its appeals are in ``ruling_events``, listed here too.
"""

from __future__ import annotations

from dataclasses import field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.dispute.claim_events import CLAIM_EVENTS
from domain.dispute.derived_events import (
    DeadlineApproaching,
    DeadlineMissed,
    OrderAutoCancelled,
    PromiseBroken,
    RefundAutoApproved,
    SellerResponseOverdue,
)
from domain.dispute.event_base import DisputeEvent
from domain.dispute.evidence import EVIDENCE_EVENTS, EvidenceAdded
from domain.dispute.late_reports import LATE_REPORT_EVENTS
from domain.dispute.order_events import ORDER_EVENTS
from domain.dispute.review_events import REVIEW_EVENTS
from domain.dispute.ruling_events import APPEAL_EVENTS, InterventionResolved
from domain.dispute.state import (
    Intervention,
    InterventionStatus,
    MoneyOwed,
    Promise,
    Refund,
    RefundStatus,
    Return,
    Review,
    SellerResponse,
    Shipment,
)
from domain.money import Money
from domain.requests import RequestMemory

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute

__all__ = [
    "EVENT_CLASSES",
    "CaseClosed",
    "DeadlineApproaching",
    "DeadlineMissed",
    "DisputeEvent",
    "EvidenceAdded",
    "InterventionRequested",
    "InterventionResolved",
    "NoteAdded",
    "OrderAutoCancelled",
    "OrderDelivered",
    "OrderPlaced",
    "OrderShipped",
    "RefundApproved",
    "RefundAutoApproved",
    "RefundDenied",
    "RefundDue",
    "RefundIssued",
    "RefundRequested",
    "ReturnReceived",
    "ReturnShipped",
    "Reviewed",
    "SellerContacted",
    "SellerResponded",
    "SellerResponseOverdue",
]


# ---- facts -------------------------------------------------------------------


class OrderPlaced(DisputeEvent, Aggregate.Created):
    TOPIC = "disputedesk:OrderPlaced"
    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: Decimal
    currency: str
    placed_at: datetime
    ship_by: datetime
    auto_cancel_at: datetime
    policy_version: str
    #: The name the seller trades under, when the platform sent it.
    seller_name: str | None = field(default=None, kw_only=True)

    def apply(self, d: Dispute) -> None:
        d.order_id = self.order_id
        d.buyer_id = self.buyer_id
        d.seller_id = self.seller_id
        d.seller_name = self.seller_name
        d.region = self.region
        d.category = self.category
        d.amount = Money(self.amount, self.currency)
        d.placed_at = self.placed_at
        d.ship_by = self.ship_by
        d.ship_by_since = self.placed_at
        d.reminded = {}
        d.auto_cancel_at = self.auto_cancel_at
        d.policy_version = self.policy_version
        d.shipment = None
        d.delivered_at = None
        d.contact_pending_since = None
        d.contacts = 0
        d.last_response = None
        d.responded = False
        d.response_overdue = False
        d.deadline_missed_for = None
        d.deadline_missed = False
        d.promise, d.promises_broken = None, 0
        d.evidence = {}
        d.intervention = None
        d.refund = None
        d.refunded_total = Decimal("0.00")
        d.dues = ()
        d.return_ = None
        d.buyer_review = None
        d.cancelled_at = None
        d.closed_at = None
        d.close_reason = None
        d.history = []
        d.requests = RequestMemory()
        d._note(self)


class OrderShipped(DisputeEvent):
    TOPIC = "disputedesk:OrderShipped"
    carrier: str
    tracking_number: str
    shipped_at: datetime

    def apply(self, d: Dispute) -> None:
        # An imported shipment reached us with the rest of the history: it has no feed lag.
        reported_at = None if self.imported else self.timestamp
        d.shipment = Shipment(self.carrier, self.tracking_number, self.shipped_at, reported_at)
        d._note(self)


class OrderDelivered(DisputeEvent):
    TOPIC = "disputedesk:OrderDelivered"
    delivered_at: datetime

    def apply(self, d: Dispute) -> None:
        d.delivered_at = self.delivered_at
        d._note(self)


class SellerContacted(DisputeEvent):
    TOPIC = "disputedesk:SellerContacted"
    message: str
    channel: str
    expects_reply: bool = field(default=True, kw_only=True)

    def apply(self, d: Dispute) -> None:
        d.contacts += 1
        if self.expects_reply and d.contact_pending_since is None:
            d.contact_pending_since = self.occurred_at
            d.response_overdue = False
        d._note(self)


class SellerResponded(DisputeEvent):
    TOPIC = "disputedesk:SellerResponded"
    message: str
    promised_ship_date: str | None

    def apply(self, d: Dispute) -> None:
        d.last_response = SellerResponse(
            self.message, self.promised_ship_date, self.occurred_at, d.contact_pending_since
        )
        d.responded = True
        d.promise = Promise.named(self.promised_ship_date, self.occurred_at) or d.promise
        d.contact_pending_since = None
        d.response_overdue = False
        d._note(self)


class InterventionRequested(DisputeEvent):
    TOPIC = "disputedesk:InterventionRequested"
    reason: str
    statement: str
    evidence_ids: list[str]

    def apply(self, d: Dispute) -> None:
        d.intervention = Intervention(
            InterventionStatus.OPEN,
            requested_at=self.occurred_at,
            reason=self.reason,
            statement=self.statement,
            evidence_ids=tuple(self.evidence_ids),
        )
        d._note(self)


class RefundRequested(DisputeEvent):
    TOPIC = "disputedesk:RefundRequested"
    amount: Decimal
    reason: str
    return_required: bool

    def apply(self, d: Dispute) -> None:
        d.refund = Refund(
            RefundStatus.REQUESTED,
            self.amount,
            self.reason,
            self.return_required,
            requested_at=self.occurred_at,
        )
        d._note(self)


class RefundApproved(DisputeEvent):
    TOPIC = "disputedesk:RefundApproved"
    reason: str | None

    def apply(self, d: Dispute) -> None:
        assert d.refund is not None
        d.refund = d.refund.decided(RefundStatus.APPROVED, self.occurred_at, "seller")
        d._note(self)


class RefundDenied(DisputeEvent):
    TOPIC = "disputedesk:RefundDenied"
    reason: str | None

    def apply(self, d: Dispute) -> None:
        assert d.refund is not None
        d.refund = d.refund.decided(RefundStatus.DENIED, self.occurred_at, "seller")
        d._note(self)


class RefundIssued(DisputeEvent):
    TOPIC = "disputedesk:RefundIssued"
    amount: Decimal
    #: The ``RefundDue`` this pays; events recorded before dues existed have none.
    due_id: str | None = field(default=None, kw_only=True)

    def apply(self, d: Dispute) -> None:
        d.refunded_total += self.amount
        if self.due_id is None:
            assert d.refund is not None
            d.refund = d.refund.paid(self.amount)
        else:
            d.dues = tuple(
                due.paid(self.amount) if due.due_id == self.due_id else due for due in d.dues
            )
            refund = d.refund
            if refund is not None and refund.status is RefundStatus.APPROVED:
                paid = (refund.paid_amount or Decimal("0.00")) + self.amount
                if d.owed_total > 0:
                    d.refund = replace(refund, paid_amount=paid)
                else:
                    d.refund = refund.paid(paid)
        d._note(self)


class RefundDue(DisputeEvent):
    """Payment became allowed: the platform owes ``payee`` this ``amount`` (once)."""

    TOPIC = "disputedesk:RefundDue"
    due_id: str
    amount: Decimal
    payee: str
    #: ``auto_cancelled``, ``seller_approved``, ``policy_auto_approved`` or ``ruling``.
    reason: str

    def apply(self, d: Dispute) -> None:
        owed = MoneyOwed(self.due_id, self.amount, self.payee, self.reason, self.occurred_at)
        d.dues = (*d.dues, owed)
        d._note(self)


class ReturnShipped(DisputeEvent):
    TOPIC = "disputedesk:ReturnShipped"
    carrier: str
    tracking_number: str
    #: The label's cost when the seller pays the return (``label_currency``: the order's).
    label_cost: Decimal | None = field(default=None, kw_only=True)
    label_currency: str | None = field(default=None, kw_only=True)

    def apply(self, d: Dispute) -> None:
        d.return_ = Return(self.carrier, self.tracking_number, shipped_at=self.occurred_at,
                           label_cost=self.label_cost)
        d._note(self)


class ReturnReceived(DisputeEvent):
    TOPIC = "disputedesk:ReturnReceived"

    def apply(self, d: Dispute) -> None:
        assert d.return_ is not None
        d.return_ = d.return_.received(self.occurred_at)
        d._note(self)


class Reviewed(DisputeEvent):
    TOPIC = "disputedesk:Reviewed"
    rating: int
    comment: str

    def apply(self, d: Dispute) -> None:
        d.buyer_review = Review(self.rating, self.comment, self.occurred_at)
        d._note(self)


class NoteAdded(DisputeEvent):
    TOPIC = "disputedesk:NoteAdded"
    text: str

    def apply(self, d: Dispute) -> None:
        d._note(self)


class CaseClosed(DisputeEvent):
    TOPIC = "disputedesk:CaseClosed"
    reason: str

    def apply(self, d: Dispute) -> None:
        d.closed_at = self.occurred_at
        d.close_reason = self.reason
        d._note(self)


#: Every event by its class name, in the order the aggregate lists them.
EVENT_CLASSES: tuple[type[DisputeEvent], ...] = (
    OrderPlaced,
    OrderShipped,
    OrderDelivered,
    SellerContacted,
    SellerResponded,
    EvidenceAdded,
    InterventionRequested,
    InterventionResolved,
    RefundRequested,
    RefundApproved,
    RefundDenied,
    RefundIssued,
    RefundDue,
    ReturnShipped,
    ReturnReceived,
    Reviewed,
    NoteAdded,
    CaseClosed,
    DeadlineMissed,
    SellerResponseOverdue,
    RefundAutoApproved,
    OrderAutoCancelled,
    DeadlineApproaching,
    *LATE_REPORT_EVENTS,
    PromiseBroken,
    *ORDER_EVENTS,
    *APPEAL_EVENTS,
    *EVIDENCE_EVENTS,
    *REVIEW_EVENTS,
    *CLAIM_EVENTS,
)
