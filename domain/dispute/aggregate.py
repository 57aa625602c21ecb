"""The Dispute aggregate: one per order.

It is assembled from the parts a reader looks for one at a time:

- ``case``: what a dispute holds and its status;
- ``events``: each fact and derived event, and what it does to the state;
- ``guards``: the rules of the lifecycle (may the case take this step now?);
- ``commands``: the steps, each checked by its guard then recorded as an event;
- ``appeals`` (with ``ruling_events``): appeals of a ruling and their decisions;
- ``timers``: the derived events the policy records as deadlines pass;
- ``claim_commands`` (with ``claim_events``): moderators' claims on a case;
- ``access``: which role may do which action, and a role's next actions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from eventsourcing.domain import Aggregate

from domain.dispute import (
    access,
    claim_events,
    derived_events,
    events,
    evidence,
    guards,
    late_reports,
    order_events,
    review_events,
    ruling_events,
)
from domain.dispute.appeals import AppealCommands
from domain.dispute.claim_commands import ClaimCommands
from domain.dispute.commands import DisputeCommands
from domain.dispute.inputs import check_instant, identifier, text
from domain.dispute.review_commands import ReviewCommands
from domain.dispute.timers import DERIVED, DisputeTimers
from domain.dispute.vocabulary import Actor, dispute_id_for
from domain.errors import OrderConflict
from domain.money import Money
from domain.policy import Policy
from domain.requests import RequestStamp, imported_fact


class Dispute(
    DisputeCommands, AppealCommands, ReviewCommands, ClaimCommands, DisputeTimers, Aggregate
):
    TOPIC = "disputedesk:Dispute"

    # The events, as the aggregate's attributes (``Dispute.OrderPlaced``, ...). Type
    # checkers need the aliases spelled out; at run time they are plain attributes (an
    # annotation would make each a field of the aggregate).
    if TYPE_CHECKING:
        Event: TypeAlias = events.DisputeEvent
        # facts
        OrderPlaced: TypeAlias = events.OrderPlaced
        OrderShipped: TypeAlias = events.OrderShipped
        OrderDelivered: TypeAlias = events.OrderDelivered
        SellerContacted: TypeAlias = events.SellerContacted
        SellerResponded: TypeAlias = events.SellerResponded
        EvidenceAdded: TypeAlias = events.EvidenceAdded
        InterventionRequested: TypeAlias = events.InterventionRequested
        InterventionResolved: TypeAlias = events.InterventionResolved
        RefundRequested: TypeAlias = events.RefundRequested
        RefundApproved: TypeAlias = events.RefundApproved
        RefundDenied: TypeAlias = events.RefundDenied
        RefundIssued: TypeAlias = events.RefundIssued
        RefundDue: TypeAlias = events.RefundDue
        ReturnShipped: TypeAlias = events.ReturnShipped
        ReturnReceived: TypeAlias = events.ReturnReceived
        Reviewed: TypeAlias = events.Reviewed
        NoteAdded: TypeAlias = events.NoteAdded
        CaseClosed: TypeAlias = events.CaseClosed
        # derived (recorded by the policy's timers)
        DeadlineMissed: TypeAlias = events.DeadlineMissed
        SellerResponseOverdue: TypeAlias = events.SellerResponseOverdue
        RefundAutoApproved: TypeAlias = events.RefundAutoApproved
        OrderAutoCancelled: TypeAlias = events.OrderAutoCancelled
        DeadlineApproaching: TypeAlias = events.DeadlineApproaching
        PromiseBroken: TypeAlias = derived_events.PromiseBroken
        # the order changed after it was placed
        ShipByExtended: TypeAlias = order_events.ShipByExtended
        OrderCancelled: TypeAlias = order_events.OrderCancelled
        DeadlineMissWithdrawn: TypeAlias = late_reports.DeadlineMissWithdrawn
        # appeals of the ruling
        AppealFiled: TypeAlias = ruling_events.AppealFiled
        AppealDecided: TypeAlias = ruling_events.AppealDecided
        RefundCancelled: TypeAlias = ruling_events.RefundCancelled
        SellerCompensated: TypeAlias = ruling_events.SellerCompensated
        # evidence asked for, and reviews hidden
        EvidenceRequested: TypeAlias = evidence.EvidenceRequested
        ReviewVisibilityChanged: TypeAlias = review_events.ReviewVisibilityChanged
        # moderators' claims on the case
        CaseClaimed: TypeAlias = claim_events.CaseClaimed
        ClaimReleased: TypeAlias = claim_events.ClaimReleased
    else:
        Event = events.DisputeEvent
        OrderPlaced = events.OrderPlaced
        OrderShipped = events.OrderShipped
        OrderDelivered = events.OrderDelivered
        SellerContacted = events.SellerContacted
        SellerResponded = events.SellerResponded
        EvidenceAdded = events.EvidenceAdded
        InterventionRequested = events.InterventionRequested
        InterventionResolved = events.InterventionResolved
        RefundRequested = events.RefundRequested
        RefundApproved = events.RefundApproved
        RefundDenied = events.RefundDenied
        RefundIssued = events.RefundIssued
        RefundDue = events.RefundDue
        ReturnShipped = events.ReturnShipped
        ReturnReceived = events.ReturnReceived
        Reviewed = events.Reviewed
        NoteAdded = events.NoteAdded
        CaseClosed = events.CaseClosed
        DeadlineMissed = events.DeadlineMissed
        SellerResponseOverdue = events.SellerResponseOverdue
        RefundAutoApproved = events.RefundAutoApproved
        OrderAutoCancelled = events.OrderAutoCancelled
        DeadlineApproaching = events.DeadlineApproaching
        PromiseBroken = derived_events.PromiseBroken
        ShipByExtended = order_events.ShipByExtended
        OrderCancelled = order_events.OrderCancelled
        DeadlineMissWithdrawn = late_reports.DeadlineMissWithdrawn
        AppealFiled = ruling_events.AppealFiled
        AppealDecided = ruling_events.AppealDecided
        RefundCancelled = ruling_events.RefundCancelled
        SellerCompensated = ruling_events.SellerCompensated
        EvidenceRequested = evidence.EvidenceRequested
        ReviewVisibilityChanged = review_events.ReviewVisibilityChanged
        CaseClaimed = claim_events.CaseClaimed
        ClaimReleased = claim_events.ClaimReleased

    Created = OrderPlaced
    DERIVED: ClassVar[Mapping[str, type[events.DisputeEvent]]] = DERIVED

    def _note(self, event: events.DisputeEvent) -> None:
        self.history.append((type(event).__name__, event.occurred_at))
        if event.request is not None:
            self.requests.remember(event.request, event.originator_version, event.timestamp)
            fact = imported_fact(event.request)
            if fact is not None:
                self.imported_facts = self.imported_facts | {fact}

    # ---- requests carried out (idempotency) -----------------------------------

    @contextmanager
    def serving(self, request: RequestStamp | None) -> Iterator[None]:
        """Stamp the events recorded inside the block with ``request``."""
        self._serving = request.encode() if request is not None else None
        try:
            yield
        finally:
            self._serving = None

    @contextmanager
    def importing(self, recorded_at: datetime) -> Iterator[None]:
        """Record the events of the block at ``recorded_at`` (when an import of history
        runs), whatever ``now`` its commands are given: they run as of each fact's
        business time, which their events keep as ``occurred_at``."""
        self._recorded_at = recorded_at
        try:
            yield
        finally:
            del self._recorded_at

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        serving = getattr(self, "_serving", None)
        if serving is not None:
            kwargs.setdefault("request", serving)
        recorded_at = getattr(self, "_recorded_at", None)
        if recorded_at is not None:
            kwargs["timestamp"] = recorded_at
        super().trigger_event(event_class, **kwargs)

    def carried_out(self, request: RequestStamp) -> int | None:
        """The version ``request`` left this case at, if it was already carried out."""
        return self.requests.outcome(request)

    # ---- what each role may do next ---------------------------------------------

    def next_actions(self, role: str, policy: Policy, now: datetime) -> list[str]:
        return access.next_actions(self, role, policy, now)

    def next_actions_turn_at(self, role: str, policy: Policy) -> tuple[datetime, ...]:
        """The instants at which :meth:`next_actions` for ``role`` may change with no new
        event: for any two times on the same side of each, it gives the same actions.

        Between events only the review window and the parties' appeal windows depend
        on the time, so a reader may keep the actions it computed until the time
        crosses one of these.
        """
        turns: list[datetime] = []
        if role in ("buyer", "seller"):
            appeal_closes = guards.appeal_closes(self, policy, role)
            if appeal_closes is not None:
                turns.append(appeal_closes)
        if role == "buyer" and self.buyer_review is None:
            turns.append(guards.review_closes(self, policy))
        return tuple(turns)

    # ---- the order ------------------------------------------------------------------

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
        seller_name: str | None = None,
    ) -> Dispute:
        order_id = identifier(order_id, "order_id")
        seller_name = text(seller_name, "seller_name", max_length=200, required=False) or None
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
            seller_name=seller_name,
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
        self,
        event_class: type[events.DisputeEvent],
        actor: Actor,
        at: datetime,
        now: datetime,
        **kw: Any,
    ) -> None:
        self.trigger_event(
            event_class,
            timestamp=now,
            occurred_at=at,
            actor_role=actor.role,
            actor_id=actor.id,
            **kw,
        )


def new_dispute(placed: events.OrderPlaced) -> Dispute:
    """The aggregate ``placed`` creates (a replay starts each dispute from its first event)."""
    dispute: Any = placed.mutate(None)
    assert isinstance(dispute, Dispute)
    return dispute


#: Every event class of a dispute by name (``Created`` is the library's alias of
#: ``OrderPlaced``).
EVENT_TYPES: dict[str, type[events.DisputeEvent]] = {
    **{cls.__name__: cls for cls in events.EVENT_CLASSES},
    "Created": events.OrderPlaced,
}
