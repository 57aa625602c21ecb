"""Policies are event-sourced: a ledger aggregate records each published version.

A published version never changes and never edits the past: an order's
deadlines follow the version in force when it was placed. The ledger keeps
those two rules itself (:meth:`PolicyLedger.publish`), and a recorded version
reads as it meant when it was published (:func:`recorded_policy`).

A version may take effect in the past (a platform bringing its history from
before its first version) as long as no recorded order would then be judged by
it: the span of placing times it would govern (:meth:`PolicyLedger.span_governed`)
must hold no recorded order. The application looks the orders up
(:class:`OrdersPlaced`) and the ledger decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.dispute.inputs import FUTURE_TOLERANCE
from domain.errors import TransitionRefused
from domain.policy import RECORDED_RULE_DEFAULTS, Policy
from domain.requests import RequestMemory, RequestStamp

LEDGER_ID: UUID = uuid5(NAMESPACE_URL, "https://disputedesk.invalid/policy-ledger")


def recorded_policy(document: Mapping[str, Any]) -> Policy:
    """A recorded version, as it meant when it was published.

    Every version recorded since a rule key existed names it (``to_document``
    writes each key); one that leaves a key out was published before it existed
    and takes the value it had then (``RECORDED_RULE_DEFAULTS``), not the
    default a new document takes today.
    """
    defaults = document.get("defaults")
    if isinstance(defaults, Mapping) and not RECORDED_RULE_DEFAULTS.keys() <= defaults.keys():
        document = {**document, "defaults": {**RECORDED_RULE_DEFAULTS, **defaults}}
    return Policy.from_document(document)


class PolicyAlreadyPublished(TransitionRefused):
    code = "policy-already-published"


@dataclass(frozen=True)
class Span:
    """The placing times a version governs: ``start`` up to, not including, ``end``
    (None: no later version yet)."""

    start: datetime
    end: datetime | None

    def __contains__(self, at: object) -> bool:
        return (
            isinstance(at, datetime) and self.start <= at and (self.end is None or at < self.end)
        )

    def describe(self) -> str:
        end = "on" if self.end is None else f"to {self.end.isoformat()}"
        return f"from {self.start.isoformat()} {end}"


@dataclass(frozen=True)
class OrdersPlaced:
    """The recorded orders placed within ``span``: the first few ids (earliest
    placed first) and how many there are in all."""

    span: Span
    order_ids: tuple[str, ...]
    count: int


class PolicyWouldRejudgeOrders(TransitionRefused):
    """A version taking effect in the past would govern orders already recorded
    under another version."""

    code = "policy-would-rejudge-orders"

    def __init__(self, detail: str, *, order_ids: tuple[str, ...], count: int) -> None:
        super().__init__(detail, field="effective_from")
        self.order_ids = order_ids
        self.count = count


class PolicyLedger(Aggregate):
    TOPIC = "disputedesk:PolicyLedger"

    class Created(Aggregate.Created):
        TOPIC = "disputedesk:PolicyLedger.Started"

        def apply(self, ledger: PolicyLedger) -> None:
            ledger.documents = {}
            ledger.requests = RequestMemory()

    class PolicyPublished(Aggregate.Event):
        TOPIC = "disputedesk:PolicyPublished"
        version: str
        effective_from: datetime
        document: dict[str, Any]
        actor_role: str
        actor_id: str
        #: The publishing request (:class:`RequestStamp`, encoded), when it had a key.
        request: str | None = field(default=None, kw_only=True)

        def apply(self, ledger: PolicyLedger) -> None:
            ledger.documents[self.version] = self.document
            if self.request is not None:
                ledger.requests.remember(self.request, self.originator_version, self.timestamp)

    if TYPE_CHECKING:
        documents: dict[str, dict[str, Any]]
        requests: RequestMemory

    @classmethod
    def start(cls, now: datetime) -> PolicyLedger:
        return cls._create(cls.Created, id=LEDGER_ID, timestamp=now)

    def has_published(self, version: str) -> bool:
        return version in self.documents

    def span_governed(self, effective_from: datetime) -> Span:
        """The placing times a version taking effect at ``effective_from`` would govern
        if published now: an order is judged by the version with the latest
        ``effective_from`` at or before its ``placed_at``, and of equals by the one
        published last, so the new version would govern from its ``effective_from``
        up to the next later ``effective_from`` on record."""
        later = [
            start
            for start in (recorded_policy(doc).effective_from for doc in self.documents.values())
            if start > effective_from
        ]
        return Span(effective_from, min(later, default=None))

    def span_to_check(self, effective_from: datetime, now: datetime) -> Span | None:
        """The span whose recorded orders :meth:`publish` must be told of; None when no
        order can have been placed in it (it starts after any placing time accepted
        by ``now``)."""
        if effective_from > now + FUTURE_TOLERANCE:
            return None
        return self.span_governed(effective_from)

    def publish(
        self,
        policy: Policy,
        actor_role: str,
        actor_id: str,
        now: datetime,
        request: RequestStamp | None = None,
        *,
        placed: OrdersPlaced | None = None,
    ) -> None:
        """Publish a new version, to take effect at its ``effective_from``, past or
        future, unless it would judge an order already recorded under another one.

        ``placed``: the recorded orders placed in :meth:`span_to_check` (required
        whenever that is not None).
        """
        if self.has_published(policy.version):
            raise PolicyAlreadyPublished(
                f"policy version {policy.version!r} is already published; publish a new version",
                field="version",
            )
        span = self.span_to_check(policy.effective_from, now)
        if span is not None:
            if placed is None or placed.span != span:
                raise ValueError(f"publishing needs the recorded orders placed {span.describe()}")
            if placed.count:
                more = ", ..." if placed.count > len(placed.order_ids) else ""
                raise PolicyWouldRejudgeOrders(
                    f"effective_from {policy.effective_from.isoformat()} would judge "
                    f"{placed.count} recorded order(s) placed {span.describe()} by version "
                    f"{policy.version!r}, not by the version they were recorded under: "
                    f"{', '.join(placed.order_ids)}{more}; choose an effective_from no "
                    "recorded order falls under",
                    order_ids=placed.order_ids,
                    count=placed.count,
                )
        self._record(policy, actor_role, actor_id, now, request)

    def adopt_configured(self, policy: Policy, now: datetime) -> None:
        """Record the version the deployment is configured with, however old its
        ``effective_from`` (it is how the first version gets on record)."""
        if self.has_published(policy.version):
            raise PolicyAlreadyPublished(
                f"policy version {policy.version!r} is already published", field="version"
            )
        self._record(policy, "platform", "configuration", now, None)

    def _record(
        self,
        policy: Policy,
        actor_role: str,
        actor_id: str,
        now: datetime,
        request: RequestStamp | None,
    ) -> None:
        self.trigger_event(
            self.PolicyPublished,
            timestamp=now,
            version=policy.version,
            effective_from=policy.effective_from,
            document=policy.to_document(),
            actor_role=actor_role,
            actor_id=actor_id,
            request=request.encode() if request is not None else None,
        )
