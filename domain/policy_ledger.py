"""Policies are event-sourced: a ledger aggregate records each published version.

A published version never changes and never edits the past: an order's
deadlines follow the version in force when it was placed. The ledger keeps
those two rules itself (:meth:`PolicyLedger.publish`), and a recorded version
reads as it meant when it was published (:func:`recorded_policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import TransitionRefused
from domain.policy import RECORDED_RULE_DEFAULTS, Policy, PolicyError
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

    def publish(
        self,
        policy: Policy,
        actor_role: str,
        actor_id: str,
        now: datetime,
        request: RequestStamp | None = None,
    ) -> None:
        """Publish a new version, to take effect now or later, never in the past."""
        if self.has_published(policy.version):
            raise PolicyAlreadyPublished(
                f"policy version {policy.version!r} is already published; publish a new version",
                field="version",
            )
        if policy.effective_from < now:
            raise PolicyError(
                [
                    "effective_from: a new version may not take effect in the past "
                    f"({policy.effective_from.isoformat()} < {now.isoformat()})"
                ]
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
