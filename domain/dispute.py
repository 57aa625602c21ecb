"""The Dispute aggregate: one per order, every fact and derived event.

Commands validate against the current state and raise named domain errors;
the mutation lives in each event's ``apply`` so replaying history never
re-runs validation. Event topics are explicit and stable: renaming a Python
class never orphans a stored event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import deadlines
from domain.calendar import BusinessCalendar
from domain.errors import (
    AlreadyDelivered,
    AlreadyReviewed,
    AlreadyShipped,
    CaseClosed,
    DomainError,
    EventInFuture,
    InterventionNotAllowed,
    InvalidInput,
    InvalidRating,
    NaiveDatetime,
    NoOpenIntervention,
    NoPendingRefund,
    NotShipped,
    OrderCancelled,
    OrderConflict,
    RefundNotAllowed,
    ReturnNotAllowed,
    ReviewWindowClosed,
)
from domain.money import Money
from domain.policy import Policy, Rules
from domain.requests import RequestMemory, RequestStamp

DISPUTE_NAMESPACE = uuid5(NAMESPACE_URL, "https://disputedesk.invalid/orders")
FUTURE_TOLERANCE = timedelta(minutes=5)

ROLES = ("buyer", "seller", "moderator", "analyst", "platform")
SYSTEM_ROLE = "system"
POLICY_ACTOR = "policy"

STATUSES = (
    "awaiting_shipment",
    "shipped",
    "delivered",
    "overdue",
    "awaiting_seller",
    "seller_responded",
    "under_review",
    "refund_requested",
    "return_in_transit",
    "refunded",
    "cancelled",
    "closed",
)
CONTACT_CHANNELS = ("chat", "email", "phone", "in_app", "other")
EVIDENCE_KINDS = ("chat_log", "order_record", "tracking", "photo", "other")
INTERVENTION_REASONS = ("not_shipped", "seller_unresponsive", "refund_denied", "other")
OUTCOMES = ("refund_full", "refund_partial", "seller_must_ship", "claim_rejected")
INTERNAL_EVENTS = frozenset({"NoteAdded"})


def dispute_id_for(order_id: str) -> UUID:
    """The same order always maps to the same dispute."""
    return uuid5(DISPUTE_NAMESPACE, order_id)


@dataclass(frozen=True)
class Actor:
    role: str
    id: str


POLICY = Actor(SYSTEM_ROLE, POLICY_ACTOR)


def check_instant(value: datetime, now: datetime, field: str) -> datetime:
    """An event time must be aware and not more than five minutes ahead of now."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{field} must carry a UTC offset (RFC 3339), got {value.isoformat()}", field=field
        )
    if value > now + FUTURE_TOLERANCE:
        raise EventInFuture(
            f"{field} {value.isoformat()} is more than 5 minutes in the future", field=field
        )
    return value


def text(value: str | None, field: str, *, max_length: int = 2000, required: bool = True) -> str:
    """Free text, trimmed; a NUL is refused (no database can store it in a text column)."""
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    if "\x00" in cleaned:
        raise InvalidInput(f"{field} must not contain a NUL character", field=field)
    return cleaned


def identifier(value: str | None, field: str, *, max_length: int = 200) -> str:
    """An id or code that others will look up and filter by: printable characters only."""
    cleaned = text(value, field, max_length=max_length)
    if not cleaned.isprintable():
        raise InvalidInput(
            f"{field} must contain only printable characters (no control characters)",
            field=field,
        )
    return cleaned


def one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(
            f"{field} must be one of {', '.join(allowed)}; got {value!r}", field=field
        )
    return value


class Dispute(Aggregate):
    TOPIC = "disputedesk:Dispute"

    class Event(Aggregate.Event):
        occurred_at: datetime
        actor_role: str
        actor_id: str
        #: The request that recorded this event (:class:`RequestStamp`, encoded), if
        #: it came with an idempotency key; saved in the same transaction as the event.
        request: str | None = field(default=None, kw_only=True)

    # ---- facts ---------------------------------------------------------------

    class OrderPlaced(Event, Aggregate.Created):
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

        def apply(self, d: Dispute) -> None:
            d.order_id = self.order_id
            d.buyer_id = self.buyer_id
            d.seller_id = self.seller_id
            d.region = self.region
            d.category = self.category
            d.amount = Money(self.amount, self.currency)
            d.placed_at = self.placed_at
            d.ship_by = self.ship_by
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
            d.evidence = {}
            d.intervention = None
            d.refund = None
            d.refunded_total = Decimal("0.00")
            d.return_ = None
            d.buyer_review = None
            d.cancelled_at = None
            d.closed_at = None
            d.close_reason = None
            d.history = []
            d.requests = RequestMemory()
            d._note(self)

    class OrderShipped(Event):
        TOPIC = "disputedesk:OrderShipped"
        carrier: str
        tracking_number: str
        shipped_at: datetime

        def apply(self, d: Dispute) -> None:
            d.shipment = {
                "carrier": self.carrier,
                "tracking_number": self.tracking_number,
                "shipped_at": self.shipped_at,
            }
            d._note(self)

    class OrderDelivered(Event):
        TOPIC = "disputedesk:OrderDelivered"
        delivered_at: datetime

        def apply(self, d: Dispute) -> None:
            d.delivered_at = self.delivered_at
            d._note(self)

    class SellerContacted(Event):
        TOPIC = "disputedesk:SellerContacted"
        message: str
        channel: str

        def apply(self, d: Dispute) -> None:
            d.contacts += 1
            if d.contact_pending_since is None:
                d.contact_pending_since = self.occurred_at
                d.response_overdue = False
            d._note(self)

    class SellerResponded(Event):
        TOPIC = "disputedesk:SellerResponded"
        message: str
        promised_ship_date: str | None

        def apply(self, d: Dispute) -> None:
            d.last_response = {
                "message": self.message,
                "promised_ship_date": self.promised_ship_date,
                "at": self.occurred_at,
                "contact_at": d.contact_pending_since,
            }
            d.responded = True
            d.contact_pending_since = None
            d.response_overdue = False
            d._note(self)

    class EvidenceAdded(Event):
        TOPIC = "disputedesk:EvidenceAdded"
        evidence_id: str
        kind: str
        description: str
        reference: str | None

        def apply(self, d: Dispute) -> None:
            d.evidence[self.evidence_id] = {
                "id": self.evidence_id,
                "kind": self.kind,
                "description": self.description,
                "reference": self.reference,
                "added_by": self.actor_role,
                "added_at": self.occurred_at,
            }
            d._note(self)

    class InterventionRequested(Event):
        TOPIC = "disputedesk:InterventionRequested"
        reason: str
        statement: str
        evidence_ids: list[str]

        def apply(self, d: Dispute) -> None:
            d.intervention = {
                "status": "open",
                "requested_at": self.occurred_at,
                "reason": self.reason,
                "statement": self.statement,
                "evidence_ids": list(self.evidence_ids),
                "outcome": None,
                "reason_code": None,
                "resolved_at": None,
            }
            d._note(self)

    class InterventionResolved(Event):
        TOPIC = "disputedesk:InterventionResolved"
        outcome: str
        reason_code: str
        refund_amount: Decimal | None
        new_ship_by: datetime | None
        note: str | None

        def apply(self, d: Dispute) -> None:
            assert d.intervention is not None
            d.intervention = {
                **d.intervention,
                "status": "resolved",
                "outcome": self.outcome,
                "reason_code": self.reason_code,
                "resolved_at": self.occurred_at,
            }
            if self.refund_amount is not None:
                d.refund = {
                    "status": "approved",
                    "amount": self.refund_amount,
                    "reason": f"ruling: {self.reason_code}",
                    "return_required": d.delivered_at is not None,
                    "requested_at": (d.refund or {}).get("requested_at", self.occurred_at),
                    "decided_at": self.occurred_at,
                    "decided_by": "moderator",
                    "paid_amount": None,
                }
            if self.new_ship_by is not None:
                d.ship_by = self.new_ship_by
            d._note(self)

    class RefundRequested(Event):
        TOPIC = "disputedesk:RefundRequested"
        amount: Decimal
        reason: str
        return_required: bool

        def apply(self, d: Dispute) -> None:
            d.refund = {
                "status": "requested",
                "amount": self.amount,
                "reason": self.reason,
                "return_required": self.return_required,
                "requested_at": self.occurred_at,
                "decided_at": None,
                "decided_by": None,
                "paid_amount": None,
            }
            d._note(self)

    class RefundApproved(Event):
        TOPIC = "disputedesk:RefundApproved"
        reason: str | None

        def apply(self, d: Dispute) -> None:
            d._decide_refund("approved", self.occurred_at, "seller")
            d._note(self)

    class RefundDenied(Event):
        TOPIC = "disputedesk:RefundDenied"
        reason: str | None

        def apply(self, d: Dispute) -> None:
            d._decide_refund("denied", self.occurred_at, "seller")
            d._note(self)

    class RefundIssued(Event):
        TOPIC = "disputedesk:RefundIssued"
        amount: Decimal

        def apply(self, d: Dispute) -> None:
            assert d.refund is not None
            d.refund = {**d.refund, "status": "paid", "paid_amount": self.amount}
            d.refunded_total += self.amount
            d._note(self)

    class ReturnShipped(Event):
        TOPIC = "disputedesk:ReturnShipped"
        carrier: str
        tracking_number: str

        def apply(self, d: Dispute) -> None:
            d.return_ = {
                "carrier": self.carrier,
                "tracking_number": self.tracking_number,
                "shipped_at": self.occurred_at,
                "received_at": None,
            }
            d._note(self)

    class ReturnReceived(Event):
        TOPIC = "disputedesk:ReturnReceived"

        def apply(self, d: Dispute) -> None:
            assert d.return_ is not None
            d.return_ = {**d.return_, "received_at": self.occurred_at}
            d._note(self)

    class Reviewed(Event):
        TOPIC = "disputedesk:Reviewed"
        rating: int
        comment: str

        def apply(self, d: Dispute) -> None:
            d.buyer_review = {
                "rating": self.rating, "comment": self.comment, "at": self.occurred_at
            }
            d._note(self)

    class NoteAdded(Event):
        TOPIC = "disputedesk:NoteAdded"
        text: str

        def apply(self, d: Dispute) -> None:
            d._note(self)

    class CaseClosed(Event):
        TOPIC = "disputedesk:CaseClosed"
        reason: str

        def apply(self, d: Dispute) -> None:
            d.closed_at = self.occurred_at
            d.close_reason = self.reason
            d._note(self)

    # ---- derived (recorded by the policy) ------------------------------------

    class DeadlineMissed(Event):
        TOPIC = "disputedesk:DeadlineMissed"
        policy_version: str
        ship_by: datetime

        def apply(self, d: Dispute) -> None:
            d.deadline_missed_for = self.ship_by
            d.deadline_missed = True
            d._note(self)

    class SellerResponseOverdue(Event):
        TOPIC = "disputedesk:SellerResponseOverdue"
        policy_version: str
        contacted_at: datetime

        def apply(self, d: Dispute) -> None:
            d.response_overdue = True
            d._note(self)

    class RefundAutoApproved(Event):
        TOPIC = "disputedesk:RefundAutoApproved"
        policy_version: str
        amount: Decimal

        def apply(self, d: Dispute) -> None:
            d._decide_refund("approved", self.occurred_at, "policy")
            d._note(self)

    class OrderAutoCancelled(Event):
        TOPIC = "disputedesk:OrderAutoCancelled"
        policy_version: str
        refund_amount: Decimal

        def apply(self, d: Dispute) -> None:
            d.cancelled_at = self.occurred_at
            d.refund = {
                "status": "paid",
                "amount": self.refund_amount,
                "reason": "auto-cancelled: not shipped in time",
                "return_required": False,
                "requested_at": (d.refund or {}).get("requested_at", self.occurred_at),
                "decided_at": self.occurred_at,
                "decided_by": "policy",
                "paid_amount": self.refund_amount,
            }
            d.refunded_total += self.refund_amount
            d._note(self)

    Created = OrderPlaced
    DERIVED: ClassVar[dict[str, type[Dispute.Event]]] = {}

    # ---- state written by apply ----------------------------------------------

    if TYPE_CHECKING:
        order_id: str
        buyer_id: str
        seller_id: str
        region: str
        category: str
        amount: Money
        placed_at: datetime
        ship_by: datetime
        auto_cancel_at: datetime
        policy_version: str
        shipment: dict[str, Any] | None
        delivered_at: datetime | None
        contact_pending_since: datetime | None
        contacts: int
        last_response: dict[str, Any] | None
        responded: bool
        response_overdue: bool
        deadline_missed_for: datetime | None
        deadline_missed: bool
        evidence: dict[str, dict[str, Any]]
        intervention: dict[str, Any] | None
        refund: dict[str, Any] | None
        refunded_total: Decimal
        return_: dict[str, Any] | None
        buyer_review: dict[str, Any] | None
        cancelled_at: datetime | None
        closed_at: datetime | None
        close_reason: str | None
        history: list[tuple[str, datetime]]
        requests: RequestMemory

    def _note(self, event: Dispute.Event) -> None:
        self.history.append((type(event).__name__, event.occurred_at))
        if event.request is not None:
            self.requests.remember(event.request, event.originator_version, event.timestamp)

    # ---- requests carried out (idempotency) -----------------------------------

    @contextmanager
    def serving(self, request: RequestStamp | None) -> Iterator[None]:
        """Stamp the events recorded inside the block with ``request``."""
        self._serving = request.encode() if request is not None else None
        try:
            yield
        finally:
            self._serving = None

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        serving = getattr(self, "_serving", None)
        if serving is not None:
            kwargs.setdefault("request", serving)
        super().trigger_event(event_class, **kwargs)

    def carried_out(self, request: RequestStamp) -> int | None:
        """The version ``request`` left this case at, if it was already carried out."""
        return self.requests.outcome(request)

    def _decide_refund(self, status: str, at: datetime, by: str) -> None:
        assert self.refund is not None
        self.refund = {**self.refund, "status": status, "decided_at": at, "decided_by": by}

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
            and self.intervention["status"] == "open"
            and not self.is_finished
        )

    @property
    def refund_requested_at(self) -> datetime | None:
        if self.refund is None or self.refund["status"] != "requested":
            return None
        at: datetime = self.refund["requested_at"]
        return at

    @property
    def fully_refunded(self) -> bool:
        return self.refunded_total >= self.amount.amount

    @property
    def remaining_refundable(self) -> Decimal:
        return self.amount.amount - self.refunded_total

    # ---- status and what each role may do ------------------------------------

    @property
    def status(self) -> str:
        refund = self.refund["status"] if self.refund else None
        if self.closed_at is not None:
            return "closed"
        if self.cancelled_at is not None:
            return "cancelled"
        if refund == "paid":
            return "refunded"
        if self.return_ is not None and self.return_["received_at"] is None:
            return "return_in_transit"
        if self.intervention is not None and self.intervention["status"] == "open":
            return "under_review"
        if refund in ("requested", "approved"):
            return "refund_requested"
        if self.contact_pending_since is not None and self.delivered_at is None:
            return "awaiting_seller"
        if self.responded and not self.is_shipped:
            return "seller_responded"
        if self.delivered_at is not None:
            return "delivered"
        if self.is_shipped:
            return "shipped"
        if self.deadline_missed_for == self.ship_by:
            return "overdue"
        return "awaiting_shipment"

    def next_actions(self, role: str, policy: Policy, now: datetime) -> list[str]:
        checks = _ACTION_CHECKS.get(role, ())
        allowed = []
        for name, check in checks:
            try:
                check(self, policy, now)
            except DomainError:
                continue
            allowed.append(name)
        return allowed

    def next_actions_turn_at(self, role: str, policy: Policy) -> tuple[datetime, ...]:
        """The instants at which :meth:`next_actions` for ``role`` may change with no new
        event: for any two times on the same side of each, it gives the same actions.

        Between events only the review window depends on the time, so a reader may
        keep the actions it computed until the time crosses one of these.
        """
        if role != "buyer" or self.buyer_review is not None:
            return ()
        return (self._review_closes(policy),)

    # ---- guards shared by commands and next_actions --------------------------

    def _open(self) -> None:
        if self.closed_at is not None:
            raise CaseClosed(f"the case was closed on {self.closed_at.isoformat()}")

    def _active(self) -> None:
        self._open()
        if self.cancelled_at is not None:
            raise OrderCancelled(
                f"the order was auto-cancelled and refunded on {self.cancelled_at.isoformat()}"
            )

    def _can_ship(self) -> None:
        self._active()
        if self.shipment is not None:
            raise AlreadyShipped(
                f"the order already shipped on {self.shipment['shipped_at'].isoformat()}"
            )

    def _can_deliver(self) -> None:
        self._active()
        if self.shipment is None:
            raise NotShipped("the order has not shipped, so it cannot be delivered")
        if self.delivered_at is not None:
            raise AlreadyDelivered(f"the order was delivered on {self.delivered_at.isoformat()}")

    def _can_contact(self) -> None:
        self._active()

    def _can_respond(self) -> None:
        self._active()

    def _can_add_evidence(self) -> None:
        self._open()

    def _can_request_intervention(self) -> None:
        self._active()
        if self.intervention is not None:
            state = "is under review" if self.intervention["status"] == "open" else "was ruled on"
            raise InterventionNotAllowed(f"an intervention {state} already; one per case")
        if self.refund is not None and self.refund["status"] == "denied":
            return
        if self.refund is not None and self.refund["status"] == "paid":
            raise InterventionNotAllowed("the refund was already paid")
        if not self.deadline_missed:
            raise InterventionNotAllowed(
                "the platform steps in only after the shipping deadline "
                f"({self.ship_by.isoformat()}) was missed, or after a refund was denied"
            )
        if not (self.responded or self.response_overdue):
            raise InterventionNotAllowed(
                "contact the seller first: the platform steps in once the seller has "
                "responded or the response window has passed"
            )

    def _can_rule(self) -> None:
        self._active()
        if not self.awaiting_ruling:
            raise NoOpenIntervention("there is no open intervention request to rule on")

    def _can_request_refund(self) -> None:
        self._active()
        if self.remaining_refundable <= 0:
            raise RefundNotAllowed("the order was refunded in full already")
        if self.refund is not None:
            status = self.refund["status"]
            if status == "denied":
                raise RefundNotAllowed(
                    "the seller denied the refund; ask the platform to step in instead"
                )
            raise RefundNotAllowed(f"a refund was already {status} on this case")

    def _can_decide_refund(self) -> None:
        self._active()
        if self.refund is None or self.refund["status"] != "requested":
            raise NoPendingRefund("there is no refund request awaiting the seller's answer")

    def _can_issue_refund(self) -> None:
        self._active()
        if self.refund is None or self.refund["status"] != "approved":
            raise RefundNotAllowed("no approved refund is awaiting payment")
        if self.refund["return_required"] and (
            self.return_ is None or self.return_["received_at"] is None
        ):
            raise RefundNotAllowed("the goods must be returned and received before the refund")

    def _can_return_goods(self) -> None:
        self._active()
        if self.delivered_at is None:
            raise ReturnNotAllowed("only goods that were delivered can be sent back")
        if (
            self.refund is None
            or self.refund["status"] != "approved"
            or not self.refund["return_required"]
        ):
            raise ReturnNotAllowed("a return needs an approved refund that requires one")
        if self.return_ is not None:
            raise ReturnNotAllowed("the goods were already sent back")

    def _can_confirm_return_receipt(self) -> None:
        self._active()
        if self.return_ is None:
            raise ReturnNotAllowed("no return has been shipped")
        if self.return_["received_at"] is not None:
            raise ReturnNotAllowed("the return was already received")

    def _can_review(self, policy: Policy, now: datetime) -> None:
        if self.buyer_review is not None:
            raise AlreadyReviewed("the buyer already reviewed this order")
        if now > self._review_closes(policy):
            days = policy.rules_for(self.region, self.category).review_window_days
            since = "delivery" if self.delivered_at else "the order"
            raise ReviewWindowClosed(f"reviews close {days} days after {since}")

    def _review_closes(self, policy: Policy) -> datetime:
        opened = self.delivered_at or self.placed_at
        return opened + timedelta(days=policy.rules_for(self.region, self.category)
                                  .review_window_days)

    def _can_close(self) -> None:
        self._open()

    # ---- commands --------------------------------------------------------------

    @classmethod
    def place(
        cls,
        *,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        region: str,
        category: str,
        amount: Money,
        placed_at: datetime,
        policy: Policy,
        actor: Actor,
        now: datetime,
        request: RequestStamp | None = None,
    ) -> Dispute:
        order_id = identifier(order_id, "order_id")
        check_instant(placed_at, now, "placed_at")
        ship_by, auto_cancel_at = policy.order_deadlines(region, category, placed_at)
        policy.check_currency(region, amount.currency)
        return cls._create(
            cls.OrderPlaced,
            id=dispute_id_for(order_id),
            timestamp=now,
            occurred_at=placed_at,
            actor_role=actor.role,
            actor_id=actor.id,
            order_id=order_id,
            buyer_id=identifier(buyer_id, "buyer_id"),
            seller_id=identifier(seller_id, "seller_id"),
            region=region,
            category=category,
            amount=amount.amount,
            currency=amount.currency,
            placed_at=placed_at,
            ship_by=ship_by,
            auto_cancel_at=auto_cancel_at,
            policy_version=policy.version,
            request=request.encode() if request is not None else None,
        )

    def check_same_order(
        self,
        *,
        buyer_id: str,
        seller_id: str,
        region: str,
        category: str,
        amount: Money,
        placed_at: datetime,
    ) -> None:
        """An order placed again must be the order on record: a retry, not a different order."""
        given = {
            "buyer_id": buyer_id.strip(),
            "seller_id": seller_id.strip(),
            "region": region,
            "category": category,
            "amount": amount,
            "placed_at": placed_at,
        }
        differ = [field for field, value in given.items() if getattr(self, field) != value]
        if differ:
            raise OrderConflict(
                f"order {self.order_id} is already recorded with another "
                f"{', '.join(differ)}; an order's details cannot change",
                field=differ[0],
            )

    def _record(
        self, event_class: type[Dispute.Event], actor: Actor, at: datetime, now: datetime, **kw: Any
    ) -> None:
        self.trigger_event(
            event_class,
            timestamp=now,
            occurred_at=at,
            actor_role=actor.role,
            actor_id=actor.id,
            **kw,
        )

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
        self._can_ship()
        self._record(
            self.OrderShipped,
            actor,
            shipped_at,
            now,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=shipped_at,
        )

    def deliver(self, delivered_at: datetime, actor: Actor, now: datetime) -> None:
        check_instant(delivered_at, now, "delivered_at")
        self._can_deliver()
        assert self.shipment is not None
        if delivered_at < self.shipment["shipped_at"]:
            raise InvalidInput(
                "delivered_at is before the shipment's shipped_at", field="delivered_at"
            )
        self._record(self.OrderDelivered, actor, delivered_at, now, delivered_at=delivered_at)

    def contact_seller(self, message: str, channel: str, actor: Actor, now: datetime) -> None:
        message = text(message, "message")
        one_of(channel, CONTACT_CHANNELS, "channel")
        self._can_contact()
        self._record(self.SellerContacted, actor, now, now, message=message, channel=channel)

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
        self._can_respond()
        self._record(
            self.SellerResponded,
            actor,
            now,
            now,
            message=message,
            promised_ship_date=promised_ship_date.isoformat() if promised_ship_date else None,
        )

    def add_evidence(
        self, kind: str, description: str, reference: str | None, actor: Actor, now: datetime
    ) -> str:
        one_of(kind, EVIDENCE_KINDS, "kind")
        description = text(description, "description")
        reference = text(reference, "reference", max_length=500, required=False) or None
        self._can_add_evidence()
        evidence_id = f"ev-{self.version + 1}"
        self._record(
            self.EvidenceAdded,
            actor,
            now,
            now,
            evidence_id=evidence_id,
            kind=kind,
            description=description,
            reference=reference,
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
        self._can_request_intervention()
        self._record(
            self.InterventionRequested,
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
    ) -> None:
        one_of(outcome, OUTCOMES, "outcome")
        reason_code = identifier(reason_code, "reason_code", max_length=100)
        note = text(note, "note", max_length=5000, required=False) or None
        self._can_rule()
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
            self.InterventionResolved,
            actor,
            now,
            now,
            outcome=outcome,
            reason_code=reason_code,
            refund_amount=amount,
            new_ship_by=new_ship_by,
            note=note,
        )

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
        self._can_request_refund()
        value = self._refund_amount(amount, required=False)
        self._record(
            self.RefundRequested,
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
        self._can_decide_refund()
        event = self.RefundApproved if approve else self.RefundDenied
        self._record(event, actor, now, now, reason=reason)

    def issue_refund(self, amount: Money, actor: Actor, now: datetime) -> None:
        self._can_issue_refund()
        assert self.refund is not None
        value = self._refund_amount(amount, required=True)
        if value != self.refund["amount"]:
            raise InvalidInput(
                f"the approved refund is {self.refund['amount']} {self.amount.currency}",
                field="amount",
            )
        self._record(self.RefundIssued, actor, now, now, amount=value)

    def return_goods(self, carrier: str, tracking_number: str, actor: Actor, now: datetime) -> None:
        carrier = identifier(carrier, "carrier", max_length=100)
        tracking_number = identifier(tracking_number, "tracking_number", max_length=100)
        self._can_return_goods()
        self._record(
            self.ReturnShipped, actor, now, now, carrier=carrier, tracking_number=tracking_number
        )

    def confirm_return_receipt(self, actor: Actor, now: datetime) -> None:
        self._can_confirm_return_receipt()
        self._record(self.ReturnReceived, actor, now, now)

    def review(
        self, rating: int, comment: str, policy: Policy, actor: Actor, now: datetime
    ) -> None:
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidRating(
                f"rating must be a whole number from 1 to 5, got {rating!r}", field="rating"
            )
        comment = text(comment, "comment", required=False)
        self._can_review(policy, now)
        self._record(self.Reviewed, actor, now, now, rating=rating, comment=comment)

    def add_note(self, note: str, actor: Actor, now: datetime) -> None:
        self._record(self.NoteAdded, actor, now, now, text=text(note, "text", max_length=10000))

    def close(self, reason: str, actor: Actor, now: datetime) -> None:
        reason = text(reason, "reason", max_length=500)
        self._can_close()
        self._record(self.CaseClosed, actor, now, now, reason=reason)

    # ---- the policy's timers ---------------------------------------------------

    def record_due(self, policy: Policy, until: datetime, now: datetime | None = None) -> list[str]:
        """Record every derived event due at or before ``until``, in time order.

        Each derived event's ``occurred_at`` is the instant its rule fired, so
        the record does not depend on when this runs. ``policy`` must be the
        one that governs this order. Returns the types recorded.
        """
        return self.record_due_under(
            policy.rules_for(self.region, self.category),
            policy.calendar(self.region),
            policy.version,
            until,
            now,
        )

    def record_due_under(
        self,
        rules: Rules,
        calendar: BusinessCalendar,
        policy_version: str,
        until: datetime,
        now: datetime | None = None,
        due: deadlines.Due | None = None,
    ) -> list[str]:
        """:meth:`record_due` with the order's rules and calendar already looked up.

        ``due``: the first pending deadline, when the caller has just asked
        :func:`deadlines.next_due` (a replay asks before every fact).
        """
        recorded: list[str] = []
        if due is None:
            due = deadlines.next_due(self, rules, calendar)
        while due is not None and due.at <= until:
            extra: dict[str, Any]
            if due.kind == deadlines.DEADLINE_MISSED:
                extra = {"ship_by": self.ship_by}
            elif due.kind == deadlines.SELLER_RESPONSE_OVERDUE:
                extra = {"contacted_at": self.contact_pending_since}
            elif due.kind == deadlines.REFUND_AUTO_APPROVED:
                assert self.refund is not None
                extra = {"amount": self.refund["amount"]}
            else:
                extra = {"refund_amount": self.remaining_refundable}
            self._record(
                self.DERIVED[due.kind],
                POLICY,
                due.at,
                now or until,
                policy_version=policy_version,
                **extra,
            )
            recorded.append(due.kind)
            due = deadlines.next_due(self, rules, calendar)
        return recorded

    def next_deadline(self, policy: Policy) -> deadlines.Due | None:
        """The first of :meth:`pending_deadlines`."""
        return deadlines.next_due(
            self, policy.rules_for(self.region, self.category), policy.calendar(self.region)
        )

    def pending_deadlines(self, policy: Policy) -> list[deadlines.Due]:
        return deadlines.pending(
            self, policy.rules_for(self.region, self.category), policy.calendar(self.region)
        )


Dispute.DERIVED.update(
    {
        deadlines.DEADLINE_MISSED: Dispute.DeadlineMissed,
        deadlines.SELLER_RESPONSE_OVERDUE: Dispute.SellerResponseOverdue,
        deadlines.REFUND_AUTO_APPROVED: Dispute.RefundAutoApproved,
        deadlines.ORDER_AUTO_CANCELLED: Dispute.OrderAutoCancelled,
    }
)

def new_dispute(placed: Dispute.OrderPlaced) -> Dispute:
    """The aggregate ``placed`` creates, as ``placed.mutate(None)`` builds it, only faster.

    ``mutate(None)`` resolves the class from its topic and inspects the
    ``__init__`` signatures on every call (about 20 µs); a replay creates two
    aggregates per dispute and a rebuild one, so they call the same three steps
    directly. A unit test checks that both give the same state.
    """
    dispute = Dispute.__new__(Dispute)
    dispute.__base_init__(placed.originator_id, placed.originator_version, placed.timestamp)
    dispute.__init__()  # type: ignore[misc]
    placed.apply(dispute)
    return dispute


EVENT_TYPES: dict[str, type[Dispute.Event]] = {
    name: value
    for name, value in vars(Dispute).items()
    if isinstance(value, type) and issubclass(value, Dispute.Event) and name != "Event"
}


def _no_policy(check: Any) -> Any:
    return lambda d, _policy, _now: check(d)


_ACTION_CHECKS: dict[str, tuple[tuple[str, Any], ...]] = {
    "buyer": (
        ("contact_seller", _no_policy(Dispute._can_contact)),
        ("request_refund", _no_policy(Dispute._can_request_refund)),
        ("request_intervention", _no_policy(Dispute._can_request_intervention)),
        ("add_evidence", _no_policy(Dispute._can_add_evidence)),
        ("return_goods", _no_policy(Dispute._can_return_goods)),
        ("review", Dispute._can_review),
    ),
    "seller": (
        ("ship", _no_policy(Dispute._can_ship)),
        ("respond", _no_policy(Dispute._can_respond)),
        ("decide_refund", _no_policy(Dispute._can_decide_refund)),
        ("confirm_return_receipt", _no_policy(Dispute._can_confirm_return_receipt)),
        ("add_evidence", _no_policy(Dispute._can_add_evidence)),
    ),
    "moderator": (
        ("rule", _no_policy(Dispute._can_rule)),
        ("add_evidence", _no_policy(Dispute._can_add_evidence)),
        ("add_note", lambda d, p, n: None),
        ("close", _no_policy(Dispute._can_close)),
    ),
    "platform": (
        ("ship", _no_policy(Dispute._can_ship)),
        ("deliver", _no_policy(Dispute._can_deliver)),
        ("issue_refund", _no_policy(Dispute._can_issue_refund)),
        ("close", _no_policy(Dispute._can_close)),
    ),
}
