"""Policies are event-sourced: a ledger aggregate records each published version.

A published version never changes and never edits the past: an order's
deadlines follow the version in force when it was placed.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.policy import Policy
from domain.requests import RequestMemory, RequestStamp

LEDGER_ID: UUID = uuid5(NAMESPACE_URL, "https://disputedesk.invalid/policy-ledger")


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

    def publish(
        self,
        policy: Policy,
        actor_role: str,
        actor_id: str,
        now: datetime,
        request: RequestStamp | None = None,
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


class PolicyVersions:
    """The published versions, parsed once each, and which one is in force when."""

    def __init__(self) -> None:
        self._by_version: dict[str, Policy] = {}
        self._ordered: list[Policy] = []
        self.ledger_version = 0

    def load(self, ledger: PolicyLedger) -> None:
        for version, document in ledger.documents.items():
            if version not in self._by_version:
                self._by_version[version] = Policy.from_document(document)
        self._ordered = sorted(self._by_version.values(), key=lambda p: p.effective_from)
        self.ledger_version = ledger.version

    def get(self, version: str) -> Policy | None:
        return self._by_version.get(version)

    def in_force(self, at: datetime) -> Policy | None:
        current = None
        for policy in self._ordered:
            if policy.effective_from <= at:
                current = policy
        return current

    def all(self) -> list[Policy]:
        return list(self._ordered)
