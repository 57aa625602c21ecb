"""The commands on a case: each checks its input, asks the guard of its step
(``guards``), then records one event (``events``).

Every command takes the acting ``actor`` and ``now``, the time it is recorded at.
Which roles may run which command is the access table's (``access``), not theirs.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from domain.dispute import dues, events, guards, late_reports, ruling_events
from domain.dispute.case_limits import EVIDENCE_ITEMS, MESSAGES, NOTES
from domain.dispute.evidence_commands import EvidenceCommands
from domain.dispute.inputs import check_instant, identifier, one_of, text
from domain.dispute.order_commands import OrderCommands
from domain.dispute.state import EvidenceFile
from domain.dispute.vocabulary import (
    CONTACT_CHANNELS,
    EVIDENCE_KINDS,
    INTERVENTION_REASONS,
    OUTCOMES,
    Actor,
)
from domain.errors import (
    AlreadyShipped,
    InvalidInput,
    InvalidRating,
    NaiveDatetime,
    RefundNotAllowed,
)
from domain.money import Money
from domain.policy import Policy, ReasonCodes


class DisputeCommands(OrderCommands, EvidenceCommands):
    def _not_before_order(self, at: datetime, field: str) -> None:
        if at < self.placed_at:
            raise InvalidInput(
                f"{field} {at.isoformat()} is before the order was placed "
                f"({self.placed_at.isoformat()})",
                field=field,
            )

    def ship(
        self, carrier: str, tracking_number: str, shipped_at: datetime, actor: Actor, now: datetime
    ) -> None:
        check_instant(shipped_at, now, "shipped_at")
        self._not_before_order(shipped_at, "shipped_at")
        carrier = identifier(carrier, "carrier", max_length=100)
        tracking_number = identifier(tracking_number, "tracking_number", max_length=100)
        guards.can_ship(self)
        self._record(
            events.OrderShipped,
            actor,
            shipped_at,
            now,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=shipped_at,
        )
        # Dated by a deadline the record says was missed: the feed was late, not the seller.
        late_reports.withdraw_disproved_misses(self, now)

    def deliver(self, delivered_at: datetime, actor: Actor, now: datetime) -> None:
        check_instant(delivered_at, now, "delivered_at")
        guards.can_deliver(self)
        assert self.shipment is not None
        if delivered_at < self.shipment.shipped_at:
            raise InvalidInput(
                "delivered_at is before the shipment's shipped_at", field="delivered_at"
            )
        self._record(events.OrderDelivered, actor, delivered_at, now, delivered_at=delivered_at)

    def contact_seller(
        self, message: str, channel: str, actor: Actor, now: datetime, expects_reply: bool = True,
        *, policy: Policy | None = None,
    ) -> None:
        """Only a contact that ``expects_reply`` opens the seller's response window.
        ``policy``: the case's, for its cap on messages (None: the default cap)."""
        message = text(message, "message")
        one_of(channel, CONTACT_CHANNELS, "channel")
        guards.can_contact_seller(self)
        self.check_room(MESSAGES, policy)
        self._record(events.SellerContacted, actor, now, now, message=message, channel=channel,
                     expects_reply=expects_reply)

    def respond(
        self,
        message: str,
        promised_ship_date: date | None,
        policy: Policy,
        actor: Actor,
        now: datetime,
    ) -> None:
        message = text(message, "message")
        order_day = policy.calendar(self.region).local_date(self.placed_at)
        if promised_ship_date is not None and promised_ship_date < order_day:
            raise InvalidInput(
                "promised_ship_date is before the order date", field="promised_ship_date"
            )
        today = policy.calendar(self.region).local_date(now)
        if promised_ship_date is not None and promised_ship_date < today:
            raise InvalidInput(
                f"promised_ship_date is in the past (it is {today.isoformat()} in the "
                f"order's region)", field="promised_ship_date"
            )
        guards.can_respond(self)
        self.check_room(MESSAGES, policy)
        self._record(
            events.SellerResponded,
            actor,
            now,
            now,
            message=message,
            promised_ship_date=promised_ship_date.isoformat() if promised_ship_date else None,
        )

    def add_evidence(
        self,
        kind: str,
        description: str,
        reference: str | None,
        actor: Actor,
        now: datetime,
        *,
        file: EvidenceFile | None = None,
        policy: Policy | None = None,
    ) -> str:
        """``file``: the uploaded file's facts (its bytes already kept under its
        ``blob_id``), checked against ``policy``'s types and size limits. The case's caps
        on items and bytes are ``policy``'s (without a file, None: the default caps)."""
        one_of(kind, EVIDENCE_KINDS, "kind")
        description = text(description, "description")
        reference = text(reference, "reference", max_length=500, required=False) or None
        guards.can_add_evidence(self)
        if file is not None:
            assert policy is not None, "a file is checked against the case's policy"
            self.check_evidence_file(file, policy)
        else:
            self.check_room(EVIDENCE_ITEMS, policy)
        evidence_id = f"ev-{self.version + 1}"
        described = {} if file is None else {
            "sha256": file.sha256, "content_type": file.content_type, "size": file.size,
            "filename": file.filename, "blob_id": file.blob_id,
        }
        self._record(
            events.EvidenceAdded,
            actor,
            now,
            now,
            evidence_id=evidence_id,
            kind=kind,
            description=description,
            reference=reference,
            **described,
        )
        return evidence_id

    def request_intervention(
        self, reason: str, statement: str, evidence_ids: list[str], actor: Actor, now: datetime
    ) -> None:
        one_of(reason, INTERVENTION_REASONS, "reason")
        statement = text(statement, "statement", max_length=5000)
        unknown = [e for e in evidence_ids if e not in self.evidence]
        if unknown:
            raise InvalidInput(
                f"unknown evidence ids: {', '.join(unknown)}; add evidence first",
                field="evidence_ids",
            )
        guards.can_request_intervention(self)
        self._record(
            events.InterventionRequested,
            actor,
            now,
            now,
            reason=reason,
            statement=statement,
            evidence_ids=list(dict.fromkeys(evidence_ids)),
        )

    def rule(
        self,
        outcome: str,
        reason_code: str,
        refund_amount: Money | None,
        new_ship_by: datetime | None,
        note: str | None,
        actor: Actor,
        now: datetime,
        *,
        reasons: ReasonCodes,
    ) -> None:
        """``reasons``: the catalogue of the policy in force, which must list ``reason_code``
        for ``outcome``; the ruling records the code's text, and its ``note`` is public."""
        one_of(outcome, OUTCOMES, "outcome")
        reason = reasons.get(identifier(reason_code, "reason_code", max_length=100))
        reason.check_justifies(outcome)
        note = text(note, "note", max_length=5000, required=False) or None
        guards.can_rule(self)
        amount: Decimal | None = None
        if outcome == "refund_full":
            if refund_amount is not None:
                raise InvalidInput(
                    "refund_amount is set by refund_full itself; omit it", field="refund_amount"
                )
            amount = self.remaining_refundable
        elif outcome == "refund_partial":
            amount = self._refund_amount(refund_amount, required=True, field="refund_amount")
        elif refund_amount is not None:
            raise InvalidInput(f"refund_amount does not apply to {outcome}", field="refund_amount")
        if outcome == "seller_must_ship":
            if new_ship_by is None:
                raise InvalidInput("seller_must_ship needs new_ship_by", field="new_ship_by")
            if new_ship_by.tzinfo is None:
                raise NaiveDatetime("new_ship_by must carry a UTC offset", field="new_ship_by")
            if new_ship_by <= now:
                raise InvalidInput("new_ship_by must be in the future", field="new_ship_by")
            if new_ship_by >= self.auto_cancel_at:
                raise InvalidInput(
                    f"new_ship_by must be before the auto-cancel instant "
                    f"{self.auto_cancel_at.isoformat()}",
                    field="new_ship_by",
                )
            if self.is_shipped:
                raise AlreadyShipped("the order already shipped; seller_must_ship does not apply")
        elif new_ship_by is not None:
            raise InvalidInput(f"new_ship_by does not apply to {outcome}", field="new_ship_by")
        if amount is not None and amount <= 0:
            raise RefundNotAllowed("nothing is left to refund on this order")
        self._record(
            events.InterventionResolved,
            actor,
            now,
            now,
            outcome=outcome,
            reason_code=reason.code,
            refund_amount=amount,
            new_ship_by=new_ship_by,
            note=note,
            reason_text=reason.text,
        )
        if amount is not None:
            dues.owe_approved_refund(self, actor, now, now)

    def _refund_amount(
        self, money: Money | None, *, required: bool, field: str = "amount"
    ) -> Decimal:
        if money is None:
            if required:
                raise InvalidInput(f"{field} is required", field=field)
            return self.remaining_refundable
        if money.currency != self.amount.currency:
            raise InvalidInput(
                f"the order is in {self.amount.currency}, not {money.currency}", field=field
            )
        if money.amount <= 0:
            raise InvalidInput("a refund must be more than zero", field=field)
        if money.amount > self.remaining_refundable:
            raise InvalidInput(
                f"at most {self.remaining_refundable} {self.amount.currency} can be refunded",
                field=field,
            )
        return money.amount

    def request_refund(
        self, amount: Money | None, reason: str, actor: Actor, now: datetime
    ) -> None:
        reason = text(reason, "reason")
        guards.can_request_refund(self)
        value = self._refund_amount(amount, required=False)
        self._record(
            events.RefundRequested,
            actor,
            now,
            now,
            amount=value,
            reason=reason,
            return_required=self.delivered_at is not None,
        )

    def decide_refund(self, approve: bool, reason: str | None, actor: Actor, now: datetime) -> None:
        reason = text(reason, "reason", required=False) or None
        if not approve and reason is None:
            raise InvalidInput("say why the refund is denied", field="reason")
        guards.can_decide_refund(self)
        event = events.RefundApproved if approve else events.RefundDenied
        self._record(event, actor, now, now, reason=reason)
        if approve:
            dues.owe_approved_refund(self, actor, now, now)

    def issue_refund(
        self, amount: Money, actor: Actor, now: datetime, due_id: str | None = None
    ) -> None:
        """Record a payment: of the due ``due_id``, or of the oldest open one."""
        guards.can_issue_refund(self)
        if not self.dues:
            if due_id is not None:
                raise InvalidInput(f"no refund due {due_id} on this case", field="due_id")
            # Approved before dues were recorded: the approved refund, whole.
            assert self.refund is not None
            value = self._refund_amount(amount, required=True)
            if value != self.refund.amount:
                raise InvalidInput(
                    f"the approved refund is {self.refund.amount} {self.amount.currency}",
                    field="amount",
                )
            self._record(events.RefundIssued, actor, now, now, amount=value)
            return
        due = dues.payable(self, due_id)
        if amount.currency != self.amount.currency:
            raise InvalidInput(
                f"the order is in {self.amount.currency}, not {amount.currency}", field="amount"
            )
        if amount.amount <= 0:
            raise InvalidInput("a refund must be more than zero", field="amount")
        if amount.amount > due.outstanding:
            raise RefundNotAllowed(
                f"refund due {due.due_id} is {due.outstanding} {self.amount.currency}; "
                "more than is owed cannot be paid"
            )
        if amount.amount != due.outstanding:
            raise InvalidInput(
                f"the approved refund is {due.outstanding} {self.amount.currency}",
                field="amount",
            )
        # A seller's due (an appeal overturned a refund the buyer kept) is compensation.
        paid = events.RefundIssued if due.payee == dues.BUYER else ruling_events.SellerCompensated
        self._record(paid, actor, now, now, amount=amount.amount, due_id=due.due_id)

    def return_goods(
        self,
        carrier: str,
        tracking_number: str,
        actor: Actor,
        now: datetime,
        *,
        label_cost: Money | None = None,
        policy: Policy | None = None,
    ) -> None:
        """``label_cost``: what the return label cost, recorded when ``policy`` has the
        seller pay the return (it is the seller's cost, in the order's currency)."""
        carrier = identifier(carrier, "carrier", max_length=100)
        tracking_number = identifier(tracking_number, "tracking_number", max_length=100)
        guards.can_return_goods(self)
        cost: dict[str, object] = {}
        if label_cost is not None:
            assert policy is not None, "who pays the return is the case's policy's"
            payer = policy.rules_for(self.region, self.category).return_shipping_payer
            if payer != "seller":
                raise InvalidInput(
                    "the buyer pays return postage under this order's policy; "
                    "leave label_cost out", field="label_cost"
                )
            if label_cost.currency != self.amount.currency:
                raise InvalidInput(
                    f"the order is in {self.amount.currency}, not {label_cost.currency}",
                    field="label_cost",
                )
            if label_cost.amount <= 0:
                raise InvalidInput("label_cost must be more than zero", field="label_cost")
            cost = {"label_cost": label_cost.amount, "label_currency": label_cost.currency}
        self._record(
            events.ReturnShipped, actor, now, now, carrier=carrier,
            tracking_number=tracking_number, **cost,
        )

    def confirm_return_receipt(self, actor: Actor, now: datetime) -> None:
        guards.can_confirm_return_receipt(self)
        self._record(events.ReturnReceived, actor, now, now)
        dues.owe_after_return(self, actor, now)

    def review(
        self, rating: int, comment: str, policy: Policy, actor: Actor, now: datetime
    ) -> None:
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidRating(
                f"rating must be a whole number from 1 to 5, got {rating!r}", field="rating"
            )
        comment = text(comment, "comment", required=False)
        guards.can_review(self, policy, now)
        self._record(events.Reviewed, actor, now, now, rating=rating, comment=comment)

    def add_note(
        self, note: str, actor: Actor, now: datetime, *, policy: Policy | None = None
    ) -> None:
        """``policy``: the case's, for its cap on notes (None: the default cap)."""
        note = text(note, "text", max_length=10000)
        self.check_room(NOTES, policy)
        self._record(events.NoteAdded, actor, now, now, text=note)

    def close(self, reason: str, actor: Actor, now: datetime, cancel_order: bool = False) -> None:
        """Close a settled case; ``cancel_order`` first cancels an order that neither shipped
        nor was cancelled, the rest of its amount due to the buyer."""
        reason = text(reason, "reason", max_length=500)
        guards.can_close(self, cancel_order)
        if cancel_order:
            self._cancel_order(reason, actor, now)
        self._record(events.CaseClosed, actor, now, now, reason=reason)
