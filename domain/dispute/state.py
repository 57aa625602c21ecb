"""What a dispute holds besides its order: each part a frozen value that an event
replaces whole (see ``events``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime


@dataclass(frozen=True, slots=True)
class SellerResponse:
    """The seller's last answer, and when the contact it answered was made."""

    message: str
    promised_ship_date: str | None
    at: datetime
    contact_at: datetime | None


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    kind: str
    description: str
    reference: str | None
    added_by: str
    added_at: datetime


class InterventionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Intervention:
    """The buyer's request that the platform step in (one per case), and its ruling."""

    status: InterventionStatus
    requested_at: datetime
    reason: str
    statement: str
    evidence_ids: tuple[str, ...]
    outcome: str | None = None
    reason_code: str | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status is InterventionStatus.OPEN

    def resolved(self, outcome: str, reason_code: str, at: datetime) -> Intervention:
        return replace(
            self,
            status=InterventionStatus.RESOLVED,
            outcome=outcome,
            reason_code=reason_code,
            resolved_at=at,
        )


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Refund:
    """The case's refund: requested by the buyer, or approved by a ruling or the policy."""

    status: RefundStatus
    amount: Decimal
    reason: str
    return_required: bool
    requested_at: datetime
    decided_at: datetime | None = None
    #: ``seller``, ``moderator`` or ``policy``.
    decided_by: str | None = None
    paid_amount: Decimal | None = None

    def decided(self, status: RefundStatus, at: datetime, by: str) -> Refund:
        return replace(self, status=status, decided_at=at, decided_by=by)

    def paid(self, amount: Decimal) -> Refund:
        return replace(self, status=RefundStatus.PAID, paid_amount=amount)


class DueStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class MoneyOwed:
    """Money the platform owes a party (a ``RefundDue``), and what was paid of it."""

    due_id: str
    amount: Decimal
    payee: str
    #: ``auto_cancelled``, ``seller_approved``, ``policy_auto_approved`` or ``ruling``.
    reason: str
    due_at: datetime
    paid_amount: Decimal = Decimal("0.00")

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_amount

    @property
    def status(self) -> DueStatus:
        return DueStatus.OPEN if self.outstanding > 0 else DueStatus.PAID

    def paid(self, amount: Decimal) -> MoneyOwed:
        return replace(self, paid_amount=self.paid_amount + amount)


@dataclass(frozen=True, slots=True)
class Return:
    """Goods the buyer sent back for a refund that required them."""

    carrier: str
    tracking_number: str
    shipped_at: datetime
    received_at: datetime | None = None

    @property
    def in_transit(self) -> bool:
        return self.received_at is None

    def received(self, at: datetime) -> Return:
        return replace(self, received_at=at)


@dataclass(frozen=True, slots=True)
class Review:
    """The buyer's review of the order."""

    rating: int
    comment: str
    at: datetime
