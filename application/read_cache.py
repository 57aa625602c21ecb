"""What case reads keep between requests, so that a read of an unchanged case
costs no query and no rebuilding (figures in docs/decisions.md, "Serving").

Switching it off (``DisputeDesk(read_cache=False)``) changes no answer, only
the cost: every read then replays the dispute from the store.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Hashable
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from application.case_view import STAFF_ROLES, fixed_case_view, with_claim, with_next_actions
from application.dispute_store import Disputes, project
from application.ports import CommitCounter
from domain.dispute import Actor, Dispute
from domain.policy import Policy

#: Disputes whose last read state (and fixed case views) the cache keeps.
READ_CACHE_SIZE = 4096


class _Actions(NamedTuple):
    """A role's next actions, and on which side of each instant they may change at
    (:meth:`Dispute.next_actions_turn_at`) the time was when they were computed."""

    turns: tuple[datetime, ...]
    sides: tuple[bool, ...]
    names: list[str]


class KeptRead:
    """A dispute as last read from the store, never changed after, shared by readers;
    and its fixed case views (by whether the viewer sees internal events)."""

    __slots__ = ("actions", "dispute", "stamp", "views")

    def __init__(self, dispute: Dispute, stamp: Hashable | None) -> None:
        self.dispute = dispute
        self.views: dict[bool, dict[str, Any]] = {}
        self.actions: dict[str, _Actions] = {}
        # The commit counter's value before the store last confirmed this state.
        self.stamp = stamp


class ReadCache:
    """The last state read of up to ``size`` disputes, kept current with the store."""

    def __init__(
        self, disputes: Disputes, commits: CommitCounter | None, size: int = READ_CACHE_SIZE
    ) -> None:
        self._disputes = disputes
        self._commits = commits
        self._size = size
        self._kept: dict[UUID, KeptRead] = {}
        self._lock = threading.Lock()

    def read(self, dispute_id: UUID, min_version: int = 0) -> KeptRead:
        """The dispute as it is in the store now, for reading only.

        While the commit counter (when there is one) has not moved since the
        store confirmed the kept state, it is current; else the store is asked
        for events after it (one indexed query, usually empty), so a write by
        any process is seen as soon as the counter tells (SQLite: at once;
        PostgreSQL: another process's once its notification arrives). A kept
        state older than ``min_version`` always asks the store. New events are
        applied to a copy: readers in other threads may be using the kept one.
        """
        stamp = self._commits.stamp() if self._commits is not None else None
        kept = self._kept.get(dispute_id)
        if kept is None:
            d = self._disputes.get(dispute_id)
        else:
            if self._unchanged(dispute_id, kept, stamp) and kept.dispute.version >= min_version:
                return kept
            newer = self._disputes.events(dispute_id, gt=kept.dispute.version)
            if not newer:
                kept.stamp = stamp
                return kept
            d = project(copy.deepcopy(kept.dispute), newer)
        fresh = KeptRead(d, stamp)
        with self._lock:
            if len(self._kept) >= self._size and dispute_id not in self._kept:
                del self._kept[next(iter(self._kept))]
            self._kept[dispute_id] = fresh
        return fresh

    def current_in_memory(self, dispute_id: UUID, min_version: int = 0) -> KeptRead | None:
        """The kept state if it is known current without any I/O (and at
        ``min_version`` at least); else None."""
        stamp = self._commits.peek() if self._commits is not None else None
        kept = self._kept.get(dispute_id)
        if (kept is None or not self._unchanged(dispute_id, kept, stamp)
                or kept.dispute.version < min_version):
            return None
        return kept

    def _unchanged(self, dispute_id: UUID, kept: KeptRead, stamp: Hashable | None) -> bool:
        """Nothing committed to the dispute since the store confirmed ``kept``, as far as
        the commit counter can tell (stamps it gave; None: it could not)."""
        return (self._commits is not None and stamp is not None and kept.stamp is not None
                and self._commits.same_for(dispute_id, kept.stamp, stamp))

    def view(self, kept: KeptRead, actor: Actor, policy: Policy, now: datetime) -> dict[str, Any]:
        """The case view of the kept state: what ``case_view`` gives, from what is kept."""
        sees_internal = actor.role in STAFF_ROLES
        fixed = kept.views.get(sees_internal)
        if fixed is None:
            fixed = kept.views[sees_internal] = fixed_case_view(kept.dispute, sees_internal, policy)
        view = with_next_actions(fixed, self._actions_of(kept, actor.role, policy, now))
        return with_claim(view, kept.dispute, actor.role, now)  # live or not: as of ``now``

    @staticmethod
    def _actions_of(kept: KeptRead, role: str, policy: Policy, now: datetime) -> list[str]:
        """``next_actions``, computed again only once the time crossed an instant where
        they may change (they cost more than the rest of a read kept in memory)."""
        known = kept.actions.get(role)
        if known is not None and known.sides == tuple(now > turn for turn in known.turns):
            return known.names
        turns = kept.dispute.next_actions_turn_at(role, policy)
        names = kept.dispute.next_actions(role, policy, now)
        kept.actions[role] = _Actions(turns, tuple(now > turn for turn in turns), names)
        return names
