"""The disputedesk application: commands and queries over plain values."""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date, datetime
from functools import wraps
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar, cast
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from application.case_view import (
    STAFF_ROLES,
    case_view,
    fixed_case_view,
    history_row,
    with_next_actions,
)
from application.policy_ledger import LEDGER_ID, PolicyLedger, PolicyVersions
from application.ports import Clock, CommitCounter
from application.turns import Turns
from domain.dispute import Actor, Dispute, check_instant, dispute_id_for
from domain.errors import (
    ConcurrentModification,
    Contention,
    DisputeNotFound,
    DomainError,
    InvalidInput,
    TransitionRefused,
)
from domain.money import Money
from domain.policy import Policy, PolicyError
from domain.requests import RequestStamp

log = structlog.get_logger("disputedesk.application")

MAX_ATTEMPTS = 50
#: Disputes whose last read state (and fixed case views) ``case()`` keeps.
READ_CACHE_SIZE = 4096

#: Which roles may run each command; the HTTP guards read this same table.
COMMAND_ROLES: Mapping[str, frozenset[str]] = {
    "place_order": frozenset({"platform"}),
    "ship": frozenset({"platform", "seller"}),
    "deliver": frozenset({"platform"}),
    "contact_seller": frozenset({"buyer"}),
    "respond": frozenset({"seller"}),
    "add_evidence": frozenset({"buyer", "seller", "moderator"}),
    "request_intervention": frozenset({"buyer"}),
    "rule": frozenset({"moderator"}),
    "request_refund": frozenset({"buyer"}),
    "decide_refund": frozenset({"seller"}),
    "issue_refund": frozenset({"platform"}),
    "return_goods": frozenset({"buyer"}),
    "confirm_return_receipt": frozenset({"seller"}),
    "review": frozenset({"buyer"}),
    "add_note": frozenset({"moderator"}),
    "close": frozenset({"moderator", "platform"}),
    "view": frozenset({"buyer", "seller", "moderator"}),
    # A replayed command answers with the case again, whoever sent it.
    "view_outcome": frozenset({"buyer", "seller", "moderator", "platform"}),
    "history": frozenset({"moderator"}),
    "as_of": frozenset({"moderator"}),
    "publish_policy": frozenset({"analyst"}),
    "sweep": frozenset({"platform"}),
    "simulate": frozenset({"analyst"}),
}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _in_turn(
    method: Callable[Concatenate[DisputeDesk, _P], _R],
) -> Callable[Concatenate[DisputeDesk, _P], _R]:
    """A writing method: on a one-writer store it waits for the commands before it."""

    def taking_turns(self: DisputeDesk, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._turns:
            return method(self, *args, **kwargs)

    return cast("Callable[Concatenate[DisputeDesk, _P], _R]", wraps(method)(taking_turns))


def _back_off(attempt: int) -> None:
    """Lost an optimistic-concurrency race: wait a little, growing, with jitter."""
    time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))


class Forbidden(DomainError):
    code = "forbidden"


class PolicyAlreadyPublished(TransitionRefused):
    code = "policy-already-published"


class NoPolicyInForce(InvalidInput):
    code = "no-policy-in-force"


def _project(aggregate: Any, domain_events: Any) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event runtime-protocol
    ``isinstance`` assertion, which costs more than applying the event."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class _Actions(NamedTuple):
    """A role's next actions, and on which side of each instant they may change at
    (:meth:`Dispute.next_actions_turn_at`) the time was when they were computed."""

    turns: tuple[datetime, ...]
    sides: tuple[bool, ...]
    names: list[str]


class _Read:
    """A dispute as last read from the store, never changed after, shared by readers;
    and its fixed case views (by whether the viewer sees internal events)."""

    __slots__ = ("actions", "dispute", "stamp", "views")

    def __init__(self, dispute: Dispute, stamp: Hashable | None) -> None:
        self.dispute = dispute
        self.views: dict[bool, dict[str, Any]] = {}
        self.actions: dict[str, _Actions] = {}
        # The commit counter's value before the store last confirmed this state.
        self.stamp = stamp


class DisputeDesk(Application[UUID]):
    """Every dispute is an event-sourced aggregate; every method speaks plain values."""

    name = "disputedesk"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock,
        default_policy: Policy,
        commits: CommitCounter | None = None,
        serial_commands: bool = False,
    ) -> None:
        """``serial_commands``: for a store that admits one writer at a time (SQLite).

        Commands then take turns in this process, first come, first served
        (:class:`~application.turns.Turns`). Run side by side in threads
        they would only queue for the write lock at the end, after contending
        for the GIL all along: at 32 threads each command cost nearly twice
        the CPU (``python -m bench.http.threads``).
        """
        super().__init__(env)
        self.clock = clock
        self._commits = commits
        self._turns: AbstractContextManager[Any] = Turns() if serial_commands else nullcontext()
        self._batch = threading.local()
        self.policies = PolicyVersions()
        self._reads: dict[UUID, _Read] = {}
        self._reads_lock = threading.Lock()
        self._ensure_policy(default_policy)

    def close(self) -> None:
        if self._commits is not None:
            self._commits.close()
        super().close()

    # ---- policies -----------------------------------------------------------

    def _ledger(self) -> PolicyLedger | None:
        try:
            ledger: object = self.repository.get(LEDGER_ID)
        except AggregateNotFoundError:
            return None
        assert isinstance(ledger, PolicyLedger)
        return ledger

    def _refresh_policies(self) -> PolicyLedger | None:
        ledger = self._ledger()
        if ledger is not None and ledger.version != self.policies.ledger_version:
            self.policies.load(ledger)
        return ledger

    def _policies_changed(self) -> bool:
        """A cheap look for versions published since we last read the ledger.

        Inside a batch the ledger is read once, at the batch's first order.
        """
        if self._pending() is not None and getattr(self._batch, "policies_read", False):
            return False
        self._batch.policies_read = True
        newer = self.recorder.select_events(
            LEDGER_ID, gt=self.policies.ledger_version or None, limit=1
        )
        return bool(newer)

    def _ensure_policy(self, policy: Policy) -> None:
        """Publish the configured policy unless that version is already on record."""
        for _ in range(MAX_ATTEMPTS):
            ledger = self._refresh_policies()
            known = self.policies.get(policy.version)
            if known is not None:
                if known.to_document() != policy.to_document():
                    log.warning(
                        "policy.version_differs",
                        version=policy.version,
                        detail="the configured file differs from the published version; "
                        "the published version stays in force (publish a new version instead)",
                    )
                return
            now = self.clock.now()
            ledger = ledger or PolicyLedger.start(now)
            ledger.publish(policy, "platform", "configuration", now)
            try:
                self.save(ledger)
            except IntegrityError:
                continue
            self.policies.load(ledger)
            log.info("policy.published", version=policy.version, actor_id="configuration")
            return

    @_in_turn
    def publish_policy(
        self,
        document: Mapping[str, Any],
        actor: Actor,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        """Publish a new version. A request that already published it (its retry)
        gets the document again."""
        self._require("publish_policy", actor)
        policy = Policy.from_document(document)
        now = self.clock.now()
        for attempt in range(MAX_ATTEMPTS):
            ledger = self._refresh_policies() or PolicyLedger.start(now)
            if request is not None and ledger.requests.outcome(request) is not None:
                return policy.to_document()
            if self.policies.get(policy.version) is not None:
                raise PolicyAlreadyPublished(
                    f"policy version {policy.version!r} is already published; "
                    "publish a new version",
                    field="version",
                )
            if policy.effective_from < now:
                raise PolicyError(
                    [
                        "effective_from: a new version may not take effect in the past "
                        f"({policy.effective_from.isoformat()} < {now.isoformat()})"
                    ]
                )
            ledger.publish(policy, actor.role, actor.id, now, request)
            try:
                self.save(ledger)
            except IntegrityError:
                _back_off(attempt)
                continue
            self.policies.load(ledger)
            log.info("policy.published", version=policy.version, actor_id=actor.id)
            return policy.to_document()
        raise Contention("the policy ledger kept changing; retry shortly")

    def policy(self, version: str) -> Policy | None:
        found = self.policies.get(version)
        if found is None:
            self._refresh_policies()
            found = self.policies.get(version)
        return found

    def current_policy(self) -> Policy:
        self._refresh_policies()
        policy = self.policies.in_force(self.clock.now())
        if policy is None:
            policy = self.policies.all()[0]
        return policy

    def policy_for(self, d: Dispute) -> Policy:
        policy = self.policy(d.policy_version)
        if policy is None:  # pragma: no cover - the ledger never loses a version
            raise RuntimeError(f"policy version {d.policy_version} is not on record")
        return policy

    # ---- plumbing -------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the commands of this thread and save them in one transaction.

        Much faster for bulk loads (the demo); a command that fails inside the
        batch raises at once and leaves the earlier commands of the batch pending.
        Nothing is saved if the block raises.
        """
        if getattr(self._batch, "pending", None) is not None:
            raise RuntimeError("batches do not nest")
        self._batch.pending = {}
        self._batch.policies_read = False
        try:
            yield
            pending: dict[UUID, Dispute] = self._batch.pending
            if pending:
                with self._turns:
                    self.save(*pending.values())
        finally:
            self._batch.pending = None

    def _pending(self) -> dict[UUID, Dispute] | None:
        pending: dict[UUID, Dispute] | None = getattr(self._batch, "pending", None)
        return pending

    def _save_dispute(self, d: Dispute, first_new: int = 0, *, confirm: bool = True) -> list[Any]:
        """Save now, or hold it in the current batch. Returns the events recorded.

        ``first_new``: how many of the dispute's pending events were there before
        this command (earlier commands of the same batch). ``confirm``: on a
        conflict, check whether these very events are on record (a commit lost in
        transit). Not for derived events: two sweepers derive identical ones, and
        the one that lost the race must not report them as its own.

        ``self.last_position`` (per thread) is then the notification-log position
        of the last event written, which read models report as their progress.
        """
        pending = self._pending()
        if pending is not None:
            events = list(d.pending_events[first_new:])
            pending[d.id] = d
            self._batch.position = None
            return events
        events = list(d.collect_events())
        try:
            recordings = self.save(*events)
        except IntegrityError:
            if not confirm or not self._already_recorded(events):
                raise
            self._batch.position = None
            log.info("dispute.commit_confirmed", dispute_id=str(d.id), events=len(events))
        else:
            self._batch.position = max((r.notification.id for r in recordings), default=None)
        return events

    def _already_recorded(self, events: list[Any]) -> bool:
        """Whether these very events are the ones on record.

        When the connection drops during COMMIT, the database may have committed
        while the client saw an error; the library's retry then meets its own
        rows as a conflict. Re-running the command would record it twice.
        """
        if not events:
            return False
        first, last = events[0], events[-1]
        stored = list(
            self.events.get(
                first.originator_id,
                gt=first.originator_version - 1,
                lte=last.originator_version,
            )
        )
        return stored == events

    def _with_position(self, view: dict[str, Any]) -> dict[str, Any]:
        view["position"] = getattr(self._batch, "position", None)
        return view

    def _require(self, command: str, actor: Actor) -> None:
        if actor.role not in COMMAND_ROLES[command]:
            raise Forbidden(f"the {actor.role} role may not {command.replace('_', ' ')}")

    def _load(self, dispute_id: UUID, actor: Actor, version: int | None = None) -> Dispute:
        """Load a dispute the actor may see; someone else's case is 'not found'."""
        pending = self._pending()
        if pending is not None and dispute_id in pending and version is None:
            d = pending[dispute_id]
        else:
            d = self._stored(dispute_id, version=version)
        self._check_visible(d, actor)
        return d

    def _stored(self, dispute_id: UUID, **get: Any) -> Dispute:
        """The dispute from the event store (``get``: the repository's options)."""
        try:
            d = self.repository.get(dispute_id, projector_func=_project, **get)
        except AggregateNotFoundError:
            raise DisputeNotFound(f"no dispute {dispute_id}") from None
        if not isinstance(d, Dispute):
            raise DisputeNotFound(f"no dispute {dispute_id}")
        return d

    @_in_turn
    def _command(
        self,
        command: str,
        dispute_id: UUID,
        actor: Actor,
        act: Callable[[Dispute, Policy, datetime], object],
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        """Load, record what fell due, act, save; retry when another writer won.

        Each attempt starts from the store: the dispute it changes is this call's
        alone. A request already carried out (its stamp is in the events) is not
        run again: its outcome is returned, marked ``replayed``.
        """
        self._require(command, actor)
        for attempt in range(MAX_ATTEMPTS):
            d = self._load(dispute_id, actor)
            if request is not None:
                done = d.carried_out(request)
                if done is not None:
                    return self._replayed(d, done, actor)
            if expected_version is not None and d.version != expected_version:
                raise ConcurrentModification(
                    f"the dispute is at version {d.version}, not {expected_version}"
                )
            now = self.clock.now()
            policy = self.policy_for(d)
            first_new = len(d.pending_events)
            d.record_due(policy, now)
            with d.serving(request):
                act(d, policy, now)
            try:
                events = self._save_dispute(d, first_new)
            except IntegrityError:
                if expected_version is not None:
                    raise ConcurrentModification(
                        "the dispute changed while this command ran"
                    ) from None
                _back_off(attempt)
                continue
            for event in events:
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
            return self._with_position(case_view(d, actor, policy, now))
        raise Contention("the dispute kept changing; retry shortly")

    def _replayed(self, d: Dispute, version: int, actor: Actor) -> dict[str, Any]:
        """The case as a request already carried out left it (``next_actions`` as of now)."""
        at = d if version == d.version else self._stored(d.id, version=version)
        view = case_view(at, actor, self.policy_for(at), self.clock.now())
        view["position"] = None
        view["replayed"] = True
        log.info("dispute.request_replayed", dispute_id=str(d.id), version=version,
                 actor_role=actor.role, actor_id=actor.id)
        return view

    def case_as_answered(
        self, dispute_id: UUID, actor: Actor, version: int | None = None
    ) -> dict[str, Any]:
        """The case as a command of ``actor`` answers it (at ``version``, or now), with
        ``next_actions`` as of now: what a replayed command returns. Unlike :meth:`case`
        open to every role that runs commands on cases (the platform included)."""
        self._require("view_outcome", actor)
        d = self._load(dispute_id, actor, version=version)
        return case_view(d, actor, self.policy_for(d), self.clock.now())

    # ---- commands -------------------------------------------------------------

    @_in_turn
    def place_order(
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
        request: RequestStamp | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Open the case for an order. Returns (case view, created?).

        A request that already opened it (its retry) answers as it did: created.
        """
        self._require("place_order", actor)
        now = self.clock.now()
        check_instant(placed_at, now, "placed_at")
        dispute_id = dispute_id_for(order_id.strip())

        def again(existing: Dispute) -> tuple[dict[str, Any], bool]:
            if request is not None:
                done = existing.carried_out(request)
                if done is not None:
                    return self._replayed(existing, done, actor), True
            existing.check_same_order(buyer_id=buyer_id, seller_id=seller_id, region=region,
                                      category=category, amount=amount, placed_at=placed_at)
            return case_view(existing, actor, self.policy_for(existing), now), False

        existing = self._existing(dispute_id)
        if existing is not None:
            return again(existing)
        if self._policies_changed():
            self._refresh_policies()
        policy = self.policies.in_force(placed_at)
        if policy is None:
            raise NoPolicyInForce(
                f"no policy was in force at placed_at {placed_at.isoformat()}", field="placed_at"
            )
        d = Dispute.place(
            order_id=order_id,
            buyer_id=buyer_id,
            seller_id=seller_id,
            region=region,
            category=category,
            amount=amount,
            placed_at=placed_at,
            policy=policy,
            actor=actor,
            now=now,
            request=request,
        )
        with d.serving(request):
            d.record_due(policy, now)
        try:
            self._save_dispute(d)
        except IntegrityError:
            existing = self._existing(dispute_id)
            assert existing is not None
            return again(existing)
        view = self._with_position(case_view(d, actor, policy, now))
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

    def _existing(self, dispute_id: UUID) -> Dispute | None:
        pending = self._pending()
        if pending is not None and dispute_id in pending:
            return pending[dispute_id]
        try:
            d: object = self.repository.get(dispute_id, projector_func=_project)
        except AggregateNotFoundError:
            return None
        assert isinstance(d, Dispute)
        return d

    def ship(
        self,
        dispute_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        shipped_at: datetime,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "ship",
            dispute_id,
            actor,
            lambda d, p, now: d.ship(carrier, tracking_number, shipped_at, actor, now),
            expected_version,
            request,
        )

    def deliver(
        self,
        dispute_id: UUID,
        *,
        delivered_at: datetime,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "deliver",
            dispute_id,
            actor,
            lambda d, p, now: d.deliver(delivered_at, actor, now),
            expected_version,
            request,
        )

    def contact_seller(
        self,
        dispute_id: UUID,
        *,
        message: str,
        channel: str,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "contact_seller",
            dispute_id,
            actor,
            lambda d, p, now: d.contact_seller(message, channel, actor, now),
            expected_version,
            request,
        )

    def respond(
        self,
        dispute_id: UUID,
        *,
        message: str,
        promised_ship_date: date | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "respond",
            dispute_id,
            actor,
            lambda d, p, now: d.respond(message, promised_ship_date, p, actor, now),
            expected_version,
            request,
        )

    def add_evidence(
        self,
        dispute_id: UUID,
        *,
        kind: str,
        description: str,
        reference: str | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "add_evidence",
            dispute_id,
            actor,
            lambda d, p, now: d.add_evidence(kind, description, reference, actor, now),
            expected_version,
            request,
        )

    def request_intervention(
        self,
        dispute_id: UUID,
        *,
        reason: str,
        statement: str,
        evidence_ids: list[str] | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "request_intervention",
            dispute_id,
            actor,
            lambda d, p, now: d.request_intervention(
                reason, statement, list(evidence_ids or []), actor, now
            ),
            expected_version,
            request,
        )

    def rule(
        self,
        dispute_id: UUID,
        *,
        outcome: str,
        reason_code: str,
        refund_amount: Money | None = None,
        new_ship_by: datetime | None = None,
        note: str | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "rule",
            dispute_id,
            actor,
            lambda d, p, now: d.rule(
                outcome, reason_code, refund_amount, new_ship_by, note, actor, now
            ),
            expected_version,
            request,
        )

    def request_refund(
        self,
        dispute_id: UUID,
        *,
        reason: str,
        amount: Money | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "request_refund",
            dispute_id,
            actor,
            lambda d, p, now: d.request_refund(amount, reason, actor, now),
            expected_version,
            request,
        )

    def decide_refund(
        self,
        dispute_id: UUID,
        *,
        approve: bool,
        reason: str | None = None,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "decide_refund",
            dispute_id,
            actor,
            lambda d, p, now: d.decide_refund(approve, reason, actor, now),
            expected_version,
            request,
        )

    def issue_refund(
        self,
        dispute_id: UUID,
        *,
        amount: Money,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "issue_refund",
            dispute_id,
            actor,
            lambda d, p, now: d.issue_refund(amount, actor, now),
            expected_version,
            request,
        )

    def return_goods(
        self,
        dispute_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "return_goods",
            dispute_id,
            actor,
            lambda d, p, now: d.return_goods(carrier, tracking_number, actor, now),
            expected_version,
            request,
        )

    def confirm_return_receipt(
        self, dispute_id: UUID, *, actor: Actor, expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "confirm_return_receipt",
            dispute_id,
            actor,
            lambda d, p, now: d.confirm_return_receipt(actor, now),
            expected_version,
            request,
        )

    def review(
        self,
        dispute_id: UUID,
        *,
        rating: int,
        comment: str,
        actor: Actor,
        expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "review",
            dispute_id,
            actor,
            lambda d, p, now: d.review(rating, comment, p, actor, now),
            expected_version,
            request,
        )

    def add_note(
        self, dispute_id: UUID, *, text: str, actor: Actor, expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "add_note",
            dispute_id,
            actor,
            lambda d, p, now: d.add_note(text, actor, now),
            expected_version,
            request,
        )

    def close_case(
        self, dispute_id: UUID, *, reason: str, actor: Actor, expected_version: int | None = None,
        request: RequestStamp | None = None,
    ) -> dict[str, Any]:
        return self._command(
            "close",
            dispute_id,
            actor,
            lambda d, p, now: d.close(reason, actor, now),
            expected_version,
            request,
        )

    @_in_turn
    def record_due(self, dispute_id: UUID, now: datetime | None = None) -> list[dict[str, Any]]:
        """Record the derived events of one dispute that are due by ``now``."""
        for attempt in range(MAX_ATTEMPTS):
            d = self._existing(dispute_id)
            if d is None:
                raise DisputeNotFound(f"no dispute {dispute_id}")
            clock_now = self.clock.now()
            until = min(now or clock_now, clock_now)
            first_new = len(d.pending_events)
            d.record_due(self.policy_for(d), until, clock_now)
            if len(d.pending_events) == first_new:
                return []
            try:
                events = self._save_dispute(d, first_new, confirm=False)
            except IntegrityError:
                _back_off(attempt)
                continue
            rows = []
            for event in events:
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

    # ---- queries --------------------------------------------------------------

    def case(self, dispute_id: UUID, actor: Actor) -> dict[str, Any]:
        """The case view. Nested values may be shared with other reads: do not change them."""
        self._require("view", actor)
        if self._pending() is not None:  # a batch's unsaved changes are this thread's only
            d = self._load(dispute_id, actor)
            return case_view(d, actor, self.policy_for(d), self.clock.now())
        read = self._read(dispute_id)
        self._check_visible(read.dispute, actor)
        return self._view_of(read, actor, self.policy_for(read.dispute))

    def case_in_memory(self, dispute_id: UUID, actor: Actor) -> dict[str, Any] | None:
        """The case view if the state kept from an earlier read is known to be
        current without any I/O (the commit counter reads memory and has not
        moved); else None, and :meth:`case` will ask the store.

        Never blocks, so an event loop may call it and leave only the other
        reads to a worker thread. Refuses exactly as :meth:`case` does.
        """
        self._require("view", actor)
        stamp = self._commits.peek() if self._commits is not None else None
        read = self._reads.get(dispute_id)
        if stamp is None or read is None or read.stamp != stamp or self._pending() is not None:
            return None
        self._check_visible(read.dispute, actor)
        policy = self.policies.get(read.dispute.policy_version)
        return None if policy is None else self._view_of(read, actor, policy)

    def _view_of(self, read: _Read, actor: Actor, policy: Policy) -> dict[str, Any]:
        sees_internal = actor.role in STAFF_ROLES
        fixed = read.views.get(sees_internal)
        if fixed is None:
            fixed = read.views[sees_internal] = fixed_case_view(read.dispute, sees_internal, policy)
        return with_next_actions(fixed, self._actions_of(read, actor.role, policy))

    def _actions_of(self, read: _Read, role: str, policy: Policy) -> list[str]:
        """``next_actions``, computed again only once the time crossed an instant where
        they may change (they cost more than the rest of a read kept in memory)."""
        now = self.clock.now()
        kept = read.actions.get(role)
        if kept is not None and kept.sides == tuple(now > turn for turn in kept.turns):
            return kept.names
        turns = read.dispute.next_actions_turn_at(role, policy)
        names = read.dispute.next_actions(role, policy, now)
        read.actions[role] = _Actions(turns, tuple(now > turn for turn in turns), names)
        return names

    def _read(self, dispute_id: UUID) -> _Read:
        """The dispute as it is in the store now, for reading only.

        The last state read is kept. While the commit counter (when there is
        one) has not moved since the store confirmed it, it is current; else
        the store is asked for events after it (one indexed query, usually
        empty), so a write by any process is seen at once. New events are
        applied to a copy: readers in other threads may be using the kept one.
        """
        stamp = self._commits.stamp() if self._commits is not None else None
        read = self._reads.get(dispute_id)
        if read is None:
            d = self._stored(dispute_id)
        else:
            if stamp is not None and read.stamp == stamp:
                return read
            newer = list(self.events.get(dispute_id, gt=read.dispute.version))
            if not newer:
                read.stamp = stamp
                return read
            d = _project(copy.deepcopy(read.dispute), newer)
        fresh = _Read(d, stamp)
        with self._reads_lock:
            if len(self._reads) >= READ_CACHE_SIZE and dispute_id not in self._reads:
                del self._reads[next(iter(self._reads))]
            self._reads[dispute_id] = fresh
        return fresh

    def case_for_order(self, order_id: str, actor: Actor) -> dict[str, Any]:
        """The case of an order as ``actor``'s commands see it (the platform included)."""
        return self.case_as_answered(dispute_id_for(order_id), actor)

    def history(self, dispute_id: UUID, actor: Actor) -> list[dict[str, Any]]:
        self._require("history", actor)
        # One read of the events: they give the dispute (its currency) and the rows.
        events = cast(list[Dispute.Event], list(self.events.get(dispute_id)))
        found = _project(None, events) if events else None
        if isinstance(found, Dispute):
            self._check_visible(found, actor)
            d = found
        else:  # not stored: a batch's pending dispute, or not found
            d = self._load(dispute_id, actor)
            events = []
        currency = d.amount.currency
        return [history_row(event, currency) for event in events]

    @staticmethod
    def _check_visible(d: Dispute, actor: Actor) -> None:
        """Buyers and sellers see only their own cases; another's is 'not found'."""
        if (actor.role == "buyer" and d.buyer_id != actor.id) or (
            actor.role == "seller" and d.seller_id != actor.id
        ):
            raise DisputeNotFound(f"no dispute {d.id}")

    def as_of(
        self,
        dispute_id: UUID,
        actor: Actor,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The case as it was at a version, or at an instant (what was recorded by then)."""
        self._require("as_of", actor)
        if (version is None) == (at is None):
            raise InvalidInput("name either a version or an instant", field="as_of")
        current = self._load(dispute_id, actor)
        if at is not None:
            if at.tzinfo is None:
                raise InvalidInput("as_of must carry a UTC offset", field="as_of")
            version = 0
            for event in self.events.get(dispute_id):
                if cast(Dispute.Event, event).timestamp > at:
                    break
                version = event.originator_version
            if version == 0:
                raise DisputeNotFound(f"dispute {dispute_id} did not exist at {at.isoformat()}")
        assert version is not None
        if version < 1 or version > current.version:
            raise InvalidInput(f"version must be between 1 and {current.version}", field="as_of")
        d = self._load(dispute_id, actor, version=version)
        moment = at or d.modified_on
        view = case_view(d, actor, self.policy_for(d), moment)
        view["as_of"] = {"version": version, "at": at.isoformat() if at else None}
        return view

    def has_disputes(self) -> bool:
        """Whether any order was ever recorded (the policy ledger alone does not count)."""
        return bool(
            self.recorder.select_notifications(
                start=1, limit=1, topics=[Dispute.OrderPlaced.TOPIC]
            )
        )

    def is_staff(self, actor: Actor) -> bool:
        return actor.role in STAFF_ROLES
