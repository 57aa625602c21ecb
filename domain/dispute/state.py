"""What a dispute holds besides its order: each part a frozen value that an event
replaces whole (see ``events``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    #: When the shipment reached us (its event's recorded time): ``shipped_at`` plus
    #: the feed's lag.
    reported_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SellerResponse:
    """The seller's last answer, and when the contact it answered was made."""

    message: str
    promised_ship_date: str | None
    at: datetime
    contact_at: datetime | None


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A file filed as evidence: what the history proves was submitted (its SHA-256),
    its type as read from its content, its size in bytes and the name it was sent
    with. The bytes live in the blob store under ``blob_id``."""

    sha256: str
    content_type: str
    size: int
    filename: str
    blob_id: str


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    kind: str
    description: str
    reference: str | None
    added_by: str
    added_at: datetime
    file: EvidenceFile | None = None
    #: Who added it (a buyer's, seller's or moderator's id).
    added_by_id: str | None = None


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    """A moderator asked ``party`` for more evidence, due by ``due_at``; the party's
    next evidence answers it."""

    request_id: str
    party: str
    description: str
    requested_at: datetime
    due_at: datetime
    requested_by: str
    answered_at: datetime | None = None
    evidence_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    def answered(self, evidence_id: str, at: datetime) -> EvidenceRequest:
        return replace(self, answered_at=at, evidence_id=evidence_id)


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
    #: The moderator who ruled, and the refund the ruling approved (if any).
    ruled_by: str | None = None
    refund_amount: Decimal | None = None
    #: The reason code's text and the ruling's note: both public for rulings that name a
    #: code of the policy's catalogue (they record its text); before, the note is internal.
    reason_text: str | None = None
    note: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status is InterventionStatus.OPEN

    @property
    def note_is_public(self) -> bool:
        return self.reason_text is not None

    def resolved(
        self,
        outcome: str,
        reason_code: str,
        at: datetime,
        *,
        by: str | None = None,
        refund_amount: Decimal | None = None,
        reason_text: str | None = None,
        note: str | None = None,
    ) -> Intervention:
        return replace(
            self,
            status=InterventionStatus.RESOLVED,
            outcome=outcome,
            reason_code=reason_code,
            resolved_at=at,
            ruled_by=by,
            refund_amount=refund_amount,
            reason_text=reason_text,
            note=note,
        )


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
    PAID = "paid"
    #: Approved, then withdrawn unpaid: an appeal overturned the ruling that approved it.
    CANCELLED = "cancelled"


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

    def cancelled(self, at: datetime) -> Refund:
        return replace(self, status=RefundStatus.CANCELLED, decided_at=at, decided_by="moderator")


class DueStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    #: No longer owed: an appeal overturned the approval it came from (``RefundCancelled``).
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class MoneyOwed:
    """Money the platform owes a party (a ``RefundDue``), and what was paid of it."""

    due_id: str
    amount: Decimal
    payee: str
    #: One of ``dues.DUE_REASONS``.
    reason: str
    due_at: datetime
    paid_amount: Decimal = Decimal("0.00")
    cancelled: bool = False

    @property
    def outstanding(self) -> Decimal:
        return Decimal("0.00") if self.cancelled else self.amount - self.paid_amount

    @property
    def status(self) -> DueStatus:
        if self.cancelled:
            return DueStatus.CANCELLED
        return DueStatus.OPEN if self.outstanding > 0 else DueStatus.PAID

    def paid(self, amount: Decimal) -> MoneyOwed:
        return replace(self, paid_amount=self.paid_amount + amount)

    def cancel(self) -> MoneyOwed:
        return replace(self, cancelled=True)


@dataclass(frozen=True, slots=True)
class Return:
    """Goods the buyer sent back for a refund that required them."""

    carrier: str
    tracking_number: str
    shipped_at: datetime
    received_at: datetime | None = None
    #: The return label's cost, when the seller pays the return (the order's currency).
    label_cost: Decimal | None = None

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
    #: A moderator hid it from buyers, saying why (``ReviewVisibilityChanged``).
    hidden: bool = False
    hidden_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A moderator's claim on the case (``claim_events``), so that two moderators do not
    rule the same one: live until ``expires_at``, then it lapses by itself."""

    moderator_id: str
    claimed_at: datetime
    expires_at: datetime

    def live_at(self, now: datetime) -> bool:
        return now < self.expires_at

    def holder_at(self, now: datetime) -> str | None:
        """Who holds the claim at ``now``: its moderator while it is live, else nobody."""
        return self.moderator_id if self.live_at(now) else None


@dataclass(frozen=True, slots=True)
class Promise:
    """The seller's word on when the order ships: the date its last response named.

    It is broken when that date ends (23:59:59 local time in the order's region)
    with the order unshipped; a later response that names a date replaces it."""

    ship_date: date
    made_at: datetime
    broken: bool = False

    @classmethod
    def named(cls, ship_date: str | None, at: datetime) -> Promise | None:
        """The promise a response makes: None when it names no date (the last one stands)."""
        return cls(date.fromisoformat(ship_date), at) if ship_date is not None else None


class AppealStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


@dataclass(frozen=True, slots=True)
class Appeal:
    """A party's appeal of the ruling (one per party per ruling), and how it ended."""

    party: str
    statement: str
    evidence_ids: tuple[str, ...]
    filed_at: datetime
    status: AppealStatus = AppealStatus.PENDING
    decided_at: datetime | None = None

    @property
    def is_pending(self) -> bool:
        return self.status is AppealStatus.PENDING


@dataclass(frozen=True, slots=True)
class AppealDecision:
    """A moderator's decision on the pending appeals: the ruling upheld or overturned."""

    decision: str
    #: The outcome that stands after it (the ruling's, when upheld).
    outcome: str
    reason_code: str
    reason_text: str
    #: The buyer's refund from the ruling as decided (an overturn to a refund).
    refund_amount: Decimal | None
    note: str | None
    decided_by: str
    decided_at: datetime
    #: The parties whose appeals it decided, and (overturned) the party it favours.
    appellants: tuple[str, ...]
    favours: str | None


@dataclass(frozen=True, slots=True)
class Appeals:
    """The appeals of a case's ruling and their decisions (none before a ruling)."""

    filed: tuple[Appeal, ...] = ()
    decisions: tuple[AppealDecision, ...] = ()

    @property
    def pending(self) -> tuple[Appeal, ...]:
        return tuple(appeal for appeal in self.filed if appeal.is_pending)

    @property
    def pending_since(self) -> datetime | None:
        pending = self.pending
        return pending[0].filed_at if pending else None

    @property
    def overturned(self) -> AppealDecision | None:
        """The decision that overturned the ruling (final), if one did."""
        return next((d for d in self.decisions if d.decision == "overturn"), None)

    def by(self, party: str) -> Appeal | None:
        return next((appeal for appeal in self.filed if appeal.party == party), None)

    def with_filed(self, appeal: Appeal) -> Appeals:
        return replace(self, filed=(*self.filed, appeal))

    def with_decision(self, decision: AppealDecision) -> Appeals:
        """Every pending appeal decided by ``decision``."""
        status = (
            AppealStatus.OVERTURNED if decision.decision == "overturn" else AppealStatus.UPHELD
        )
        filed = tuple(
            replace(appeal, status=status, decided_at=decision.decided_at)
            if appeal.is_pending
            else appeal
            for appeal in self.filed
        )
        return Appeals(filed, (*self.decisions, decision))


NO_APPEALS = Appeals()
