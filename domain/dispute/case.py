"""What a dispute holds, and the facts read off it: the status and what the
policy's timers ask (``deadlines.TimerFacts``).

The events (``events``) write these attributes; the commands, guards and timers
read them. The aggregate (``aggregate.Dispute``) is this state plus its
commands, timers and events.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.dispute.state import (
    NO_APPEALS,
    Appeals,
    Claim,
    DueStatus,
    Evidence,
    EvidenceRequest,
    Intervention,
    MoneyOwed,
    Promise,
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
        #: The seller's promised ship date (``conversation``), and how many passed unshipped.
        promise: Promise | None
        promises_broken: int
        #: The deadline each reminder was recorded for, by kind of deadline.
        reminded: dict[str, datetime]
        evidence: dict[str, Evidence]
        #: The name the seller traded under on this order (None: not sent).
        seller_name: str | None
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
        #: Appeals of the ruling and their decisions (``ruling_events``).
        appeals: Appeals

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

    #: Until a case's first appeal (events recorded before appeals existed never set it).
    appeals = NO_APPEALS
    #: A moderator's requests for more evidence, oldest first (``evidence``).
    evidence_requests: tuple[EvidenceRequest, ...] = ()
    #: The facts an import of history loaded into this case, by their fact id.
    imported_facts: frozenset[str] = frozenset()
    #: A moderator's claim on the case (``claim_events``), live or lapsed; None: none.
    #: (Not ``claim``: that is the command that takes one.)
    moderator_claim: Claim | None = None

    def claim_holder(self, now: datetime) -> str | None:
        """The moderator whose claim on the case is live at ``now``, if any."""
        claim = self.moderator_claim
        return None if claim is None else claim.holder_at(now)

    # ---- derived facts the policy reads (deadlines.TimerFacts) ---------------

    @property
    def is_shipped(self) -> bool:
        return self.shipment is not None

    @property
    def is_finished(self) -> bool:
        return self.closed_at is not None or self.cancelled_at is not None

    @property
    def promised_ship_date(self) -> date | None:
        """The date the seller promised to ship by, while that promise is not broken."""
        promise = self.promise
        return None if promise is None or promise.broken else promise.ship_date

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
        """Refunds approved for payment to the buyer and not yet paid (the seller's dues,
        after an appeal, are not refunds)."""
        return sum(
            (due.outstanding for due in self.dues if due.payee == "buyer"), Decimal("0.00")
        )

    @property
    def awaiting_appeal_decision(self) -> bool:
        """An appeal of the ruling awaits a moderator's decision on a case still active."""
        return bool(self.appeals.pending) and not self.is_finished

    @property
    def final_outcome(self) -> str | None:
        """The ruling's outcome, or the one an appeal overturned it to."""
        overturned = self.appeals.overturned
        if overturned is not None:
            return overturned.outcome
        return self.intervention.outcome if self.intervention is not None else None

    @property
    def remaining_refundable(self) -> Decimal:
        """What may still be refunded: neither paid nor owed already."""
        return self.amount.amount - self.refunded_total - self.owed_total

    # ---- status ----------------------------------------------------------------

    @property
    def refund_awaiting_payment(self) -> bool:
        """A refund was approved (by the seller, a ruling or the policy) and not all paid."""
        refund = self.refund
        return (
            refund is not None and refund.status is RefundStatus.APPROVED
        ) or self.owed_total > 0

    @property
    def refund_claimable(self) -> bool:
        """The buyer may ask for a refund now: none was asked yet, or the last one was
        paid and part of the order is left (``guards.can_request_refund``)."""
        if self.is_finished or self.remaining_refundable <= 0:
            return False
        return self.refund is None or self.refund.status is RefundStatus.PAID

    @property
    def rest_claimable(self) -> bool:
        """Some of the order is still unrefunded and the buyer has a way to claim it: a
        new request, an open intervention, or one still to ask for after a denial."""
        if self.is_finished or self.remaining_refundable <= 0:
            return False
        if self.refund_claimable or self.awaiting_ruling:
            return True
        refund = self.refund
        return (
            refund is not None
            and refund.status is RefundStatus.DENIED
            and self.intervention is None
        )

    @property
    def order_running(self) -> bool:
        """The order's own deadlines still run: not shipped, not cancelled, not closed."""
        return not self.is_shipped and not self.is_finished

    @property
    def refund_settled(self) -> bool:
        """Money was paid and no more is coming: nothing approved is left unpaid, no
        request waits, and the order was refunded in full, or the rest can no longer be
        claimed and the order's deadlines no longer run."""
        if self.refunded_total <= 0 or self.refund_awaiting_payment:
            return False
        if self.refund is not None and self.refund.status is RefundStatus.REQUESTED:
            return False
        return self.fully_refunded or not (self.rest_claimable or self.order_running)

    @property
    def status(self) -> Status:
        """Where the case stands: the one derivation of it, first match wins.

        The README's status table gives each status its meaning and this order.
        """
        refund = self.refund.status if self.refund is not None else None
        if self.closed_at is not None:
            return Status.CLOSED
        if self.awaiting_appeal_decision:  # an appeal of the ruling awaits its decision
            return Status.UNDER_APPEAL
        if self.cancelled_at is not None:
            return Status.CANCELLED
        if self.refund_settled:
            return Status.REFUNDED
        if self.return_ is not None and self.return_.in_transit:
            return Status.RETURN_IN_TRANSIT
        if self.intervention is not None and self.intervention.is_open:
            return Status.UNDER_REVIEW
        if self.refund_awaiting_payment:
            return Status.REFUND_APPROVED
        if refund is RefundStatus.REQUESTED:
            return Status.REFUND_REQUESTED
        if self.refunded_total > 0:
            return Status.PARTIALLY_REFUNDED
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
