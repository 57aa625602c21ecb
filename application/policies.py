"""The policy ledger as the application uses it: which versions exist, which is
in force when, and publishing a new one (the ledger guards its own rules; a
version taking effect in the past is told which recorded orders it would govern,
from :mod:`application.placed_orders`)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from application.placed_orders import LoggedOrders, PlacedOrders
from application.policy_ledger import LEDGER_ID, PolicyLedger, PolicyVersions
from application.ports import Clock
from application.retries import MAX_ATTEMPTS, back_off
from domain.dispute import Actor, Dispute
from domain.errors import Contention
from domain.policy import Policy
from domain.requests import RequestStamp

log = structlog.get_logger("disputedesk.application")


@dataclass(frozen=True)
class PublishedVersion:
    """A version as the ledger recorded it: when it takes effect, when and by whom
    it was published (``sequence``: its place in the ledger, the order published)."""

    version: str
    effective_from: datetime
    published_at: datetime
    actor_role: str
    actor_id: str
    sequence: int


def published_versions(app: Application[UUID]) -> list[PublishedVersion]:
    """Every published version, earliest ``effective_from`` first; of equals, in the
    order published (the last of them is the one in force)."""
    found = [
        PublishedVersion(event.version, event.effective_from, event.timestamp,
                         event.actor_role, event.actor_id, event.originator_version)
        for event in app.events.get(LEDGER_ID)
        if isinstance(event, PolicyLedger.PolicyPublished)
    ]
    return sorted(found, key=lambda published: (published.effective_from, published.sequence))


class PolicyBook:
    """Published policy versions, read from the ledger when it has moved.

    ``orders``: where publishing learns which recorded orders a version would
    govern (default: the event store itself).
    """

    def __init__(
        self,
        app: Application[UUID],
        clock: Clock,
        turns: AbstractContextManager[Any],
        orders: PlacedOrders | None = None,
    ) -> None:
        self._app = app
        self._clock = clock
        self._turns = turns
        self._orders = orders or LoggedOrders(app)
        self.versions = PolicyVersions()

    def _ledger(self) -> PolicyLedger | None:
        try:
            ledger: object = self._app.repository.get(LEDGER_ID)
        except AggregateNotFoundError:
            return None
        assert isinstance(ledger, PolicyLedger)
        return ledger

    def refresh(self) -> PolicyLedger | None:
        """Read the ledger, and the versions published since we last did."""
        ledger = self._ledger()
        if ledger is not None and ledger.version != self.versions.ledger_version:
            self.versions.load(ledger)
        return ledger

    def refresh_if_changed(self) -> None:
        """Refresh after a cheap look for versions published since we last read."""
        newer = self._app.recorder.select_events(
            LEDGER_ID, gt=self.versions.ledger_version or None, limit=1
        )
        if newer:
            self.refresh()

    def ensure(self, policy: Policy) -> None:
        """Publish the configured policy unless that version is already on record."""
        for _ in range(MAX_ATTEMPTS):
            ledger = self.refresh()
            known = self.versions.get(policy.version)
            if known is not None:
                if known.to_document() != policy.to_document():
                    log.warning(
                        "policy.version_differs",
                        version=policy.version,
                        detail="the configured file differs from the published version; "
                        "the published version stays in force (publish a new version instead)",
                    )
                return
            now = self._clock.now()
            ledger = ledger or PolicyLedger.start(now)
            ledger.adopt_configured(policy, now)
            try:
                self._app.save(ledger)
            except IntegrityError:
                continue
            self.versions.load(ledger)
            log.info("policy.published", version=policy.version, actor_id="configuration")
            return

    def publish(
        self, document: Mapping[str, Any], actor: Actor, request: RequestStamp | None = None
    ) -> dict[str, Any]:
        """Publish a new version. A request that already published it (its retry)
        gets the document again."""
        policy = Policy.from_document(document)
        now = self._clock.now()
        with self._turns:
            for attempt in range(MAX_ATTEMPTS):
                ledger = self.refresh() or PolicyLedger.start(now)
                if request is not None and ledger.requests.outcome(request) is not None:
                    return policy.to_document()
                span = ledger.span_to_check(policy.effective_from, now)
                placed = None if span is None else self._orders.placed_within(span)
                ledger.publish(policy, actor.role, actor.id, now, request, placed=placed)
                try:
                    self._app.save(ledger)
                except IntegrityError:
                    back_off(attempt)
                    continue
                self.versions.load(ledger)
                log.info("policy.published", version=policy.version, actor_id=actor.id)
                return policy.to_document()
        raise Contention("the policy ledger kept changing; retry shortly")

    def get(self, version: str) -> Policy | None:
        found = self.versions.get(version)
        if found is None:
            self.refresh()
            found = self.versions.get(version)
        return found

    def current(self) -> Policy:
        self.refresh()
        policy = self.versions.in_force(self._clock.now())
        return policy if policy is not None else self.versions.all()[0]

    def of(self, d: Dispute) -> Policy:
        """The version a dispute follows (the one in force when its order was placed)."""
        policy = self.get(d.policy_version)
        if policy is None:  # pragma: no cover - the ledger never loses a version
            raise RuntimeError(f"policy version {d.policy_version} is not on record")
        return policy
