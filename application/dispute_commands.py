"""Carrying out a command on a dispute exactly once.

Each attempt loads the dispute from the store (the dispute it changes is that
attempt's alone), answers a request already carried out from its stamp in the
events, refuses a moderator's claim-bound step while another moderator holds a
live claim on the case (``access.check_claim``), records what fell due, acts
while serving the request (so its events carry the stamp) and saves. Another
writer won the race: back off and try again, up to ``MAX_ATTEMPTS``; with an
expected version, answer ``ConcurrentModification`` instead (docs/decisions.md,
"Exactly once").
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from application.access import check_visible
from application.case_view import case_view, history_row
from application.command_outcomes import COMMAND_OUTCOMES, counted
from application.dispute_store import Disputes
from application.policies import PolicyBook
from application.policy_ledger import PolicyVersions
from application.ports import Clock
from application.retries import MAX_ATTEMPTS, back_off
from domain.dispute import Actor, Dispute, check_instant, dispute_id_for
from domain.dispute.access import check_claim
from domain.errors import ConcurrentModification, Contention, DomainError, InvalidInput
from domain.money import Money
from domain.policy import Policy
from domain.requests import RequestStamp

log = structlog.get_logger("disputedesk.application")

#: What a command does to a loaded dispute, under its policy, at an instant.
Act = Callable[[Dispute, Policy, datetime], object]


class NoPolicyInForce(InvalidInput):
    code = "no-policy-in-force"


def new_case(versions: PolicyVersions, *, order_id: str, buyer_id: str, seller_id: str,
             region: str, category: str, amount: Money, placed_at: datetime, actor: Actor,
             now: datetime, request: RequestStamp | None,
             seller_name: str | None = None) -> tuple[Dispute, Policy]:
    """The case an order opens, under the policy in force when it was placed, with
    what already fell due by ``now``; unsaved (one order, or a feed's batch)."""
    policy = versions.in_force(placed_at)
    if policy is None:
        raise NoPolicyInForce(
            f"no policy was in force at placed_at {placed_at.isoformat()}", field="placed_at")
    d = Dispute.place(
        order_id=order_id, buyer_id=buyer_id, seller_id=seller_id, region=region,
        category=category, amount=amount, placed_at=placed_at, policy=policy, actor=actor,
        now=now, request=request, seller_name=seller_name,
    )
    with d.serving(request):
        d.record_due(policy, now)
    return d, policy


class DisputeCommands:
    """Runs commands on the disputes of ``disputes`` (the store, or a batch)."""

    def __init__(
        self,
        disputes: Disputes,
        policies: PolicyBook,
        clock: Clock,
        turns: AbstractContextManager[Any],
    ) -> None:
        self._disputes = disputes
        self._policies = policies
        self._clock = clock
        self._turns = turns

    @counted()
    def run(
        self,
        command: str,
        dispute_id: UUID,
        actor: Actor,
        act: Act,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        """Load, record what fell due, act, save; retry when another writer won."""
        with self._turns:
            for attempt in range(MAX_ATTEMPTS):
                d = self._disputes.for_command(dispute_id)
                now = self._clock.now()
                try:
                    check_visible(d, actor)
                    if request is not None and (done := d.carried_out(request)) is not None:
                        view = self.replayed(d, done, actor)
                        self._disputes.kept(d)  # unchanged: the next command may take it
                        return view
                    if expected_version is not None and d.version != expected_version:
                        raise ConcurrentModification(
                            f"the dispute is at version {d.version}, not {expected_version}"
                        )
                    if actor.role == "moderator":
                        check_claim(d, command, actor.id, now)
                except DomainError:
                    self._disputes.kept(d)  # refused before any change: keep it
                    raise
                policy = self._policies.of(d)
                first_new = len(d.pending_events)
                d.record_due(policy, now)
                with d.serving(request):
                    act(d, policy, now)
                try:
                    saved = self._disputes.save(d, first_new)
                except IntegrityError:
                    if expected_version is not None:
                        raise ConcurrentModification(
                            "the dispute changed while this command ran"
                        ) from None
                    back_off(attempt)
                    continue
                COMMAND_OUTCOMES.appended(saved.events)
                for event in saved.events:
                    log.info(
                        "dispute.event_recorded",
                        command=command,
                        dispute_id=str(d.id),
                        order_id=d.order_id,
                        actor_role=event.actor_role,
                        actor_id=event.actor_id,
                        event_type=type(event).__name__,
                        version=event.originator_version,
                    )
                view = case_view(d, actor, policy, now)
                view["position"] = saved.position
                self._disputes.kept(d)  # done with it: the next command takes it over
                return view
        raise Contention("the dispute kept changing; retry shortly")

    def replayed(self, d: Dispute, version: int, actor: Actor) -> dict[str, Any]:
        """The case as a request already carried out left it (``next_actions`` as of now)."""
        at = d if version == d.version else self._disputes.get(d.id, version)
        view = case_view(at, actor, self._policies.of(at), self._clock.now())
        view["position"] = None
        view["replayed"] = True
        log.info("dispute.request_replayed", dispute_id=str(d.id), version=version,
                 actor_role=actor.role, actor_id=actor.id)
        return view

    @counted("place_order")
    def open_case(
        self,
        *,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        region: str,
        category: str,
        amount: Money,
        placed_at: datetime,
        actor: Actor,
        request: RequestStamp | None,
        seller_name: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Open the case for an order. Returns (case view, created?); a request that
        already opened it (its retry) answers as it did: created."""
        with self._turns:
            now = self._clock.now()
            check_instant(placed_at, now, "placed_at")
            dispute_id = dispute_id_for(order_id.strip())

            def again(existing: Dispute) -> tuple[dict[str, Any], bool]:
                if request is not None:
                    done = existing.carried_out(request)
                    if done is not None:
                        return self.replayed(existing, done, actor), True
                existing.check_same_order(buyer_id=buyer_id, seller_id=seller_id, region=region,
                                          category=category, amount=amount, placed_at=placed_at)
                return case_view(existing, actor, self._policies.of(existing), now), False

            existing = self._disputes.find(dispute_id)
            if existing is not None:
                return again(existing)
            if self._disputes.looks_for_policies():
                self._policies.refresh_if_changed()
            d, policy = new_case(
                self._policies.versions, order_id=order_id, buyer_id=buyer_id,
                seller_id=seller_id, region=region, category=category, amount=amount,
                placed_at=placed_at, actor=actor, now=now, request=request,
                seller_name=seller_name)
            try:
                saved = self._disputes.save(d)
            except IntegrityError:
                existing = self._disputes.find(dispute_id)
                assert existing is not None
                return again(existing)
            COMMAND_OUTCOMES.appended(saved.events)
            view = case_view(d, actor, policy, now)
            view["position"] = saved.position
            log.info(
                "dispute.opened",
                dispute_id=str(d.id),
                order_id=d.order_id,
                actor_role=actor.role,
                actor_id=actor.id,
                event_type="OrderPlaced",
                policy_version=policy.version,
            )
            return view, True

    def record_due(self, dispute_id: UUID, now: datetime | None) -> list[dict[str, Any]]:
        """Record the derived events of one dispute that are due by ``now``."""
        with self._turns:
            for attempt in range(MAX_ATTEMPTS):
                d = self._disputes.get(dispute_id)
                clock_now = self._clock.now()
                until = min(now or clock_now, clock_now)
                first_new = len(d.pending_events)
                d.record_due(self._policies.of(d), until, clock_now)
                if len(d.pending_events) == first_new:
                    return []
                try:
                    saved = self._disputes.save(d, first_new, confirm=False)
                except IntegrityError:
                    back_off(attempt)
                    continue
                COMMAND_OUTCOMES.appended(saved.events)
                rows = []
                for event in saved.events:
                    log.info(
                        "dispute.derived_recorded",
                        dispute_id=str(d.id),
                        order_id=d.order_id,
                        actor_role="system",
                        actor_id="policy",
                        event_type=type(event).__name__,
                        policy_version=d.policy_version,
                    )
                    rows.append(history_row(event, d.amount.currency))
                return rows
        raise Contention("the dispute kept changing; retry shortly")
