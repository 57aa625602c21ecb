"""The published policy versions as the application reads them.

The ledger aggregate itself is domain (:mod:`domain.policy_ledger`); it is
re-exported here for the modules that import it from this place.
"""

from __future__ import annotations

from datetime import datetime

from domain.policy import Policy
from domain.policy_ledger import (
    LEDGER_ID,
    PolicyAlreadyPublished,
    PolicyLedger,
    recorded_policy,
)

__all__ = ["LEDGER_ID", "PolicyAlreadyPublished", "PolicyLedger", "PolicyVersions"]


class PolicyVersions:
    """The published versions, parsed once each, and which one is in force when."""

    def __init__(self) -> None:
        self._by_version: dict[str, Policy] = {}
        self._ordered: list[Policy] = []
        self.ledger_version = 0

    def load(self, ledger: PolicyLedger) -> None:
        for version, document in ledger.documents.items():
            if version not in self._by_version:
                self._by_version[version] = recorded_policy(document)
        # A stable sort: of versions with the same effective_from, the one
        # published later comes later, and is the one in force.
        self._ordered = sorted(self._by_version.values(), key=lambda p: p.effective_from)
        self.ledger_version = ledger.version

    def get(self, version: str) -> Policy | None:
        return self._by_version.get(version)

    def in_force(self, at: datetime) -> Policy | None:
        """The latest effective_from at or before ``at``; of equals, the last published."""
        current = None
        for policy in self._ordered:
            if policy.effective_from <= at:
                current = policy
        return current

    def all(self) -> list[Policy]:
        return list(self._ordered)
