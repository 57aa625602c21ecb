"""A ruling and its appeals: the events, and what each does to the state.

A ruling (``InterventionResolved``) names a reason code of the policy's
catalogue and records the code's text, which makes its note public. Each party
may appeal it once (``AppealFiled``); a moderator other than the one who ruled
upholds or overturns it (``AppealDecided``). Money follows the final outcome:
money approved and not paid that the outcome no longer grants is withdrawn
(``RefundCancelled``), a refund the buyer received beyond it is made up to the
seller by the platform (a ``RefundDue`` to the seller, paid as
``SellerCompensated``), a refund it grants falls due to the buyer.
Topics are explicit and stable.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.state import Appeal, AppealDecision, Refund, RefundStatus

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute

UPHOLD = "uphold"
OVERTURN = "overturn"
DECISIONS = (UPHOLD, OVERTURN)


class InterventionResolved(DisputeEvent):
    TOPIC = "disputedesk:InterventionResolved"
    outcome: str
    reason_code: str
    refund_amount: Decimal | None
    new_ship_by: datetime | None
    note: str | None
    #: The reason code's text in the policy's catalogue. Rulings recorded before reason
    #: codes were a catalogue have none, and their note stays internal.
    reason_text: str | None = field(default=None, kw_only=True)

    def apply(self, d: Dispute) -> None:
        assert d.intervention is not None
        d.intervention = d.intervention.resolved(
            self.outcome,
            self.reason_code,
            self.occurred_at,
            by=self.actor_id,
            refund_amount=self.refund_amount,
            reason_text=self.reason_text,
            note=self.note,
        )
        if self.refund_amount is not None:
            # A ruling's refund supersedes a pending or denied request.
            d.refund = Refund(
                RefundStatus.APPROVED,
                self.refund_amount,
                reason=f"ruling: {self.reason_code}",
                return_required=d.delivered_at is not None,
                requested_at=d.refund.requested_at if d.refund else self.occurred_at,
                decided_at=self.occurred_at,
                decided_by="moderator",
            )
        if self.new_ship_by is not None:
            d.ship_by = self.new_ship_by
            d.ship_by_since = self.occurred_at
        d._note(self)


class AppealFiled(DisputeEvent):
    """The buyer or the seller appealed the ruling; the case awaits a decision."""

    TOPIC = "disputedesk:AppealFiled"
    #: ``buyer`` or ``seller``.
    party: str
    statement: str
    evidence_ids: list[str]

    def apply(self, d: Dispute) -> None:
        appeal = Appeal(self.party, self.statement, tuple(self.evidence_ids), self.occurred_at)
        d.appeals = d.appeals.with_filed(appeal)
        d._note(self)


class AppealDecided(DisputeEvent):
    """A moderator decided the pending appeals: the ruling upheld, or overturned (final)."""

    TOPIC = "disputedesk:AppealDecided"
    #: ``uphold`` or ``overturn``.
    decision: str
    #: The outcome that stands now, and the ruling's.
    outcome: str
    previous_outcome: str
    reason_code: str
    reason_text: str
    #: An overturn to a refund: the buyer's refund from the ruling as decided, in all.
    refund_amount: Decimal | None
    #: What the buyer had been paid of the ruling's refund when it was overturned.
    refund_paid: Decimal
    note: str | None
    appellants: list[str]
    #: An overturn: the party it favours (``buyer`` or ``seller``).
    favours: str | None

    def apply(self, d: Dispute) -> None:
        d.appeals = d.appeals.with_decision(
            AppealDecision(
                self.decision,
                self.outcome,
                self.reason_code,
                self.reason_text,
                self.refund_amount,
                self.note,
                self.actor_id,
                self.occurred_at,
                tuple(self.appellants),
                self.favours,
            )
        )
        if self.decision == OVERTURN:
            self._refund_as_decided(d)
        d._note(self)

    def _refund_as_decided(self, d: Dispute) -> None:
        """The buyer's refund follows the final outcome. What was paid stays paid; money
        approved and no longer granted is withdrawn by the ``RefundCancelled`` after this."""
        granted = self.refund_amount or Decimal("0.00")
        paid = self.refund_paid
        if granted <= 0 and paid <= 0:
            return
        previous = d.refund
        d.refund = Refund(
            RefundStatus.APPROVED if granted > paid else RefundStatus.PAID,
            max(granted, paid),
            reason=f"appeal: {self.reason_code}",
            return_required=d.delivered_at is not None,
            requested_at=previous.requested_at if previous else self.occurred_at,
            decided_at=self.occurred_at,
            decided_by="moderator",
            paid_amount=paid if paid > 0 else None,
        )


class RefundCancelled(DisputeEvent):
    """Money approved and not yet paid is no longer owed: an appeal overturned the ruling
    that approved it. ``due_ids``: the dues withdrawn; ``refund_cancelled``: the approved
    refund itself is gone (the final outcome refunds nothing and nothing was paid)."""

    TOPIC = "disputedesk:RefundCancelled"
    amount: Decimal
    due_ids: list[str]
    refund_cancelled: bool
    reason: str

    def apply(self, d: Dispute) -> None:
        cancelled = set(self.due_ids)
        d.dues = tuple(due.cancel() if due.due_id in cancelled else due for due in d.dues)
        if self.refund_cancelled and d.refund is not None:
            d.refund = d.refund.cancelled(self.occurred_at)
        d._note(self)


class SellerCompensated(DisputeEvent):
    """The platform paid the seller a due of theirs: the refund the buyer kept after an
    appeal overturned it (the buyer is never charged back)."""

    TOPIC = "disputedesk:SellerCompensated"
    amount: Decimal
    due_id: str

    def apply(self, d: Dispute) -> None:
        d.dues = tuple(
            due.paid(self.amount) if due.due_id == self.due_id else due for due in d.dues
        )
        d._note(self)


#: The events of appeals, in the order the aggregate lists them.
APPEAL_EVENTS: tuple[type[DisputeEvent], ...] = (
    AppealFiled,
    AppealDecided,
    RefundCancelled,
    SellerCompensated,
)
