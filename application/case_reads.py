"""Reading a case: as it is now, as it was recorded (``as_of``) or as it happened in the
world (``as_happened``), and its history.

The access table is the application service's to apply; these reads check
only that a buyer or seller sees their own case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.access import check_visible
from application.case_view import case_view, history_row, message_view
from application.dispute_store import Disputes, project
from application.policies import PolicyBook
from application.ports import Clock
from application.read_cache import ReadCache
from application.times import rfc3339, rfc3339_or_none
from domain.dispute import Actor, Dispute, check_instant
from domain.dispute.business_time import as_happened, happened_by
from domain.dispute.conversation import messages_of
from domain.errors import DisputeNotFound, InvalidInput


class VersionNotRecorded(InvalidInput):
    """``min_version`` beyond the case's last version: no command ever returned it."""

    code = "version-not-recorded"


class CaseReads:
    """Case reads over ``disputes``; ``cache`` (optional) only makes them cheaper.

    A batch reads without it: the batch's unsaved changes are its own.
    """

    def __init__(
        self, disputes: Disputes, policies: PolicyBook, clock: Clock, cache: ReadCache | None
    ) -> None:
        self._disputes = disputes
        self._policies = policies
        self._clock = clock
        self._cache = cache

    def case(self, dispute_id: UUID, actor: Actor, min_version: int = 0) -> dict[str, Any]:
        """The case now; ``min_version``: a version the caller knows was recorded (its own
        command's), which the answer is never older than."""
        if self._cache is None:
            view = self.as_answered(dispute_id, actor)
        else:
            kept = self._cache.read(dispute_id, min_version)
            check_visible(kept.dispute, actor)
            view = self._cache.view(kept, actor, self._policies.of(kept.dispute),
                                    self._clock.now())
        if view["version"] < min_version:
            raise VersionNotRecorded(
                f"the case is at version {view['version']}; version {min_version} was never "
                "recorded", field="min_version")
        return view

    def case_in_memory(self, dispute_id: UUID, actor: Actor,
                       min_version: int = 0) -> dict[str, Any] | None:
        """The case if the kept state is known current without I/O; else None."""
        cache = self._cache
        kept = cache.current_in_memory(dispute_id, min_version) if cache is not None else None
        if cache is None or kept is None:
            return None
        check_visible(kept.dispute, actor)
        policy = self._policies.versions.get(kept.dispute.policy_version)
        return None if policy is None else cache.view(kept, actor, policy, self._clock.now())

    def as_answered(
        self, dispute_id: UUID, actor: Actor, version: int | None = None
    ) -> dict[str, Any]:
        """The case (at ``version``, or now) with ``next_actions`` as of now."""
        d = self.visible(dispute_id, actor, version)
        return case_view(d, actor, self._policies.of(d), self._clock.now())

    def visible(self, dispute_id: UUID, actor: Actor, version: int | None = None) -> Dispute:
        """A dispute the actor may see; someone else's case is 'not found'."""
        d = self._disputes.get(dispute_id, version)
        check_visible(d, actor)
        return d

    def history(self, dispute_id: UUID, actor: Actor) -> list[dict[str, Any]]:
        d, events = self._events(dispute_id, actor)
        currency = d.amount.currency
        return [history_row(event, currency) for event in events]

    def messages(self, dispute_id: UUID, actor: Actor) -> list[dict[str, Any]]:
        """The conversation between buyer and seller, oldest first (never a note)."""
        return [message_view(m) for m in messages_of(self._events(dispute_id, actor)[1])]

    def _events(self, dispute_id: UUID, actor: Actor) -> tuple[Dispute, list[Dispute.Event]]:
        """A dispute the actor may see and its stored events, from one read of them."""
        events = self._disputes.events(dispute_id)
        found = project(None, events) if events else None
        if isinstance(found, Dispute):
            check_visible(found, actor)
            return found, events
        # Not stored: a batch's pending dispute, or not found.
        return self.visible(dispute_id, actor), []

    def as_of(
        self, dispute_id: UUID, actor: Actor, version: int | None, at: datetime | None
    ) -> dict[str, Any]:
        """The case as it was at a version, or at an instant (what was recorded by then)."""
        if (version is None) == (at is None):
            raise InvalidInput("name either a version or an instant", field="as_of")
        current = self.visible(dispute_id, actor)
        if at is not None:
            if at.tzinfo is None:
                raise InvalidInput("as_of must carry a UTC offset", field="as_of")
            version = 0
            for event in self._disputes.events(dispute_id):
                if event.timestamp > at:
                    break
                version = event.originator_version
            if version == 0:
                raise DisputeNotFound(f"dispute {dispute_id} did not exist at {at.isoformat()}")
        assert version is not None
        if version < 1 or version > current.version:
            raise InvalidInput(f"version must be between 1 and {current.version}", field="as_of")
        d = self.visible(dispute_id, actor, version)
        moment = at or d.modified_on
        view = case_view(d, actor, self._policies.of(d), moment)
        view["as_of"] = {"version": version, "at": rfc3339_or_none(at)}
        return view

    def as_happened(self, dispute_id: UUID, actor: Actor, at: datetime) -> dict[str, Any]:
        """The case as it was in the world at ``at``: the events that had happened by then
        (business time), whenever they were recorded. ``version`` stays the record's: the
        answer changes only when the record does, so it is the ETag."""
        check_instant(at, self._clock.now(), "as_happened")
        current, events = self._events(dispute_id, actor)
        happened = happened_by(events, at)
        d = as_happened(happened)
        if d is None:
            raise DisputeNotFound(f"dispute {dispute_id} was not placed by {at.isoformat()}")
        view = case_view(d, actor, self._policies.of(d), at)
        view["version"] = current.version
        view["as_happened"] = {
            "at": rfc3339(at),
            "events": len(happened),
            "recorded_later": sum(1 for event in happened if event.timestamp > at),
        }
        return view
