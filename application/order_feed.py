"""A platform's bulk order feed: many orders judged one by one, the new ones saved together.

Each order ends on its own: created, unchanged (the same order again), conflict
(the same order id with other details) or invalid (with the reason); one never
fails another. Which orders are on record is asked once for the whole batch
(:class:`RecordedDisputes`), and the new ones are saved in one ``save()`` (one
transaction). When that save loses a race (another request placed one of them
meanwhile), the batch is judged once more from the start.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from application.access import require
from application.command_outcomes import COMMAND_OUTCOMES, Outcome, outcome_of
from application.dispute_commands import new_case
from application.disputes import DisputeDesk
from domain.dispute import Actor, Dispute, check_instant, dispute_id_for
from domain.dispute.access import COMMAND_ROLES
from domain.errors import Contention, DomainError, OrderConflict
from domain.money import Money
from domain.policy import PolicyError
from domain.requests import RequestStamp

__all__ = ["MAX_ORDERS", "NewOrder", "OrderFeed", "OrderOutcome", "OrderResult",
           "RecordedByLookup", "RecordedDisputes", "Refused", "outcome_counts"]

log = structlog.get_logger("disputedesk.application")

#: The most orders one batch may hold.
MAX_ORDERS = 1000
#: The details an order placed again must repeat (``Dispute.check_same_order``).
ORDER_DETAILS = ("buyer_id", "seller_id", "region", "category", "amount", "placed_at")


class RecordedDisputes(Protocol):
    """Which of these disputes have events on record (one question for many)."""

    def recorded(self, dispute_ids: Collection[UUID]) -> set[UUID]: ...


class RecordedByLookup:
    """:class:`RecordedDisputes` by one look per dispute (for stores without a faster way)."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app

    def recorded(self, dispute_ids: Collection[UUID]) -> set[UUID]:
        return {i for i in dispute_ids if self._app.recorder.select_events(i, limit=1)}


@dataclass(frozen=True)
class NewOrder:
    """One order of a feed, as plain values (what ``place_order`` takes)."""

    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: Money
    placed_at: datetime
    seller_name: str | None = None


@dataclass(frozen=True)
class Refused:
    """An order its reader could not make sense of (a field's type, a missing field)."""

    order_id: str | None
    error: DomainError


class OrderOutcome(enum.StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    INVALID = "invalid"


@dataclass(frozen=True)
class OrderResult:
    """How one order of the batch ended. ``fields``: those that differ from the order on
    record (conflict); ``error``: why it is invalid (or the conflict, in a sentence)."""

    order_id: str | None
    outcome: OrderOutcome
    dispute_id: UUID | None = None
    fields: tuple[str, ...] = ()
    error: DomainError | PolicyError | None = None


class OrderFeed:
    """Places a batch of orders for ``desk``; ``recorded`` answers which exist."""

    def __init__(self, desk: DisputeDesk, recorded: RecordedDisputes | None = None) -> None:
        self._desk = desk
        self._recorded = recorded or RecordedByLookup(desk)

    def place(self, orders: Sequence[NewOrder | Refused], actor: Actor,
              request: RequestStamp | None = None) -> list[OrderResult]:
        """Each order's result, in the order given."""
        require(COMMAND_ROLES, "place_order", actor)
        if len(orders) > MAX_ORDERS:
            raise ValueError(f"at most {MAX_ORDERS} orders in a batch")
        with self._desk.turns:
            self._desk.current_policy()  # read versions published since we last looked
            try:
                results = self._attempt(orders, actor, request)
            except IntegrityError:
                log.info("orders.batch_raced", orders=len(orders))
                try:
                    results = self._attempt(orders, actor, request)
                except IntegrityError:
                    raise Contention("orders of this batch kept being placed meanwhile; "
                                     "retry shortly") from None
        for result in results:
            COMMAND_OUTCOMES.command_done(
                "place_order", Outcome.OK if result.error is None else outcome_of(result.error))
        return results

    def _attempt(self, orders: Sequence[NewOrder | Refused], actor: Actor,
                 request: RequestStamp | None) -> list[OrderResult]:
        now = self._desk.clock.now()
        ids = [dispute_id_for(o.order_id.strip()) if isinstance(o, NewOrder) else None
               for o in orders]
        wanted = {i for i in ids if i is not None}
        on_record = self._recorded.recorded(wanted) if wanted else set()
        known: dict[UUID, Dispute] = {}
        new: dict[UUID, Dispute] = {}
        results = []
        for order, dispute_id in zip(orders, ids, strict=True):
            if isinstance(order, Refused):
                results.append(OrderResult(order.order_id, OrderOutcome.INVALID,
                                           error=order.error))
                continue
            assert dispute_id is not None  # every order that was read has its id
            try:
                if dispute_id in new or dispute_id in on_record:
                    existing = new.get(dispute_id) or known.get(dispute_id)
                    if existing is None:
                        existing = known[dispute_id] = self._desk.dispute(dispute_id)
                    result = self._again(existing, order, request, fresh=dispute_id in new)
                else:
                    d = self._placed(order, actor, now, request)
                    new[d.id] = d
                    result = OrderResult(order.order_id, OrderOutcome.CREATED, d.id)
            except (DomainError, PolicyError) as error:
                result = OrderResult(order.order_id, OrderOutcome.INVALID, error=error)
            results.append(result)
        self._save(list(new.values()), actor)
        return results

    def _placed(self, order: NewOrder, actor: Actor, now: datetime,
                request: RequestStamp | None) -> Dispute:
        check_instant(order.placed_at, now, "placed_at")
        d, _ = new_case(self._desk.policies, order_id=order.order_id, **_details(order),
                        actor=actor, now=now, request=request, seller_name=order.seller_name)
        return d

    def _again(self, existing: Dispute, order: NewOrder, request: RequestStamp | None,
               *, fresh: bool) -> OrderResult:
        """An order on record (or earlier in this batch): a retry of the request that
        placed it is created, the same order unchanged, another one a conflict."""
        if not fresh and request is not None and existing.carried_out(request) is not None:
            return OrderResult(order.order_id, OrderOutcome.CREATED, existing.id)
        try:
            existing.check_same_order(**_details(order))
        except OrderConflict as error:
            return OrderResult(order.order_id, OrderOutcome.CONFLICT, existing.id,
                               _differing(existing, order), error)
        return OrderResult(order.order_id, OrderOutcome.UNCHANGED, existing.id)

    def _save(self, disputes: list[Dispute], actor: Actor) -> None:
        if not disputes:
            return
        # The events, as commands save them (``Disputes.save``): the library tells an
        # event from an aggregate in one check of each object, not two.
        events = [e for d in disputes for e in d.collect_events()]
        self._desk.save(*events)
        COMMAND_OUTCOMES.appended(events)
        # One line for the batch, not one per order: a log line is written and flushed
        # at once, and a thousand of them cost more than saving the orders.
        log.info("orders.batch_opened", opened=len(disputes), events=len(events),
                 actor_role=actor.role, actor_id=actor.id,
                 first_order_id=disputes[0].order_id, last_order_id=disputes[-1].order_id)


def _details(order: NewOrder) -> dict[str, Any]:
    return {field: getattr(order, field) for field in ORDER_DETAILS}


def _differing(existing: Dispute, order: NewOrder) -> tuple[str, ...]:
    """The details of ``order`` that differ from those on record, each asked of the
    domain's own rule (the recorded details with only that one taken from ``order``)."""
    recorded = {field: getattr(existing, field) for field in ORDER_DETAILS}
    differ = []
    for field in ORDER_DETAILS:
        try:
            existing.check_same_order(**{**recorded, field: getattr(order, field)})
        except OrderConflict:
            differ.append(field)
    return tuple(differ)


def outcome_counts(results: Sequence[OrderResult]) -> dict[str, int]:
    """How many orders ended each way (every outcome named, zero or not)."""
    counts = dict.fromkeys((o.value for o in OrderOutcome), 0)
    for result in results:
        counts[result.outcome.value] += 1
    return counts

