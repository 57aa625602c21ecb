"""Disputes as the event store holds them: load, find, save; and a batch of them.

:class:`Disputes` saves at once. :class:`UnitOfWork` holds what its commands
changed and saves it all in one transaction when the batch ends
(``DisputeDesk.batch()``); it is a value a batch owns, so nothing about a
batch lives in the application or in a thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple, cast
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from application.event_decoder import FastDecoder
from application.group_commit import GroupCommit
from application.grouped_reads import GroupedReads
from application.ports import StoredSince
from domain.dispute import Dispute
from domain.errors import DisputeNotFound

log = structlog.get_logger("disputedesk.application")


def project(aggregate: Any, domain_events: Any) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event runtime-protocol
    ``isinstance`` assertion, which costs more than applying the event."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class Saved(NamedTuple):
    """The events a save recorded, and the notification-log position of the last one
    (None when not known: held in a batch, or a commit confirmed after the fact)."""

    events: list[Any]
    position: int | None


class Disputes:
    """The disputes of one application's event store.

    ``keep``: how many disputes, as this process last saved them, are kept so
    that the next command on one starts from it plus the events recorded since
    (one indexed query, usually empty, shared by the commands that ask together
    once :meth:`share_reads` was given a store) instead of replaying its whole history
    (0: none). A command takes a kept dispute out and gives it back only once
    saved, so no two threads ever hold one; a command that fails drops it, and
    the next replays the dispute from the store.
    """

    def __init__(self, app: Application[UUID], keep: int = 0,
                 group: GroupCommit | None = None) -> None:
        self.app = app
        self._keep = keep
        # Saves of concurrent commands committed together (None: each in its own transaction).
        self._save_events = group.save if group is not None else lambda events: app.save(*events)
        self._kept: OrderedDict[UUID, Dispute] = OrderedDict()
        self._kept_lock = threading.Lock()
        self._reads: GroupedReads | None = None

    def share_reads(self, stored: StoredSince) -> None:
        """Concurrent commands ask ``stored`` what changed since their kept disputes in
        shared queries (:mod:`application.grouped_reads`); same answers, fewer queries."""
        decode = FastDecoder(self.app.mapper)  # used by one leader at a time

        def query(after: Mapping[UUID, int]) -> dict[UUID, list[Any]]:
            return {dispute_id: [decode(e) for e in events]
                    for dispute_id, events in stored.after(after).items()}

        self._reads = GroupedReads(query)

    def for_command(self, dispute_id: UUID) -> Dispute:
        """The dispute as it is now, the caller's own to change: the one kept from this
        process's last save of it, taken out (no other thread can have it), plus the
        events recorded since; else replayed from the store."""
        with self._kept_lock:
            d = self._kept.pop(dispute_id, None)
        if d is None:
            return self.get(dispute_id)
        newer = self._newer(dispute_id, d.version)
        return cast(Dispute, project(d, newer)) if newer else d

    def _newer(self, dispute_id: UUID, version: int) -> list[Any]:
        """The dispute's events after ``version``: in a shared query where there is one."""
        if self._reads is not None:
            found = self._reads.newer(dispute_id, version)
            if found is not None:
                return found
        return self.events(dispute_id, gt=version)

    def kept(self, d: Dispute) -> None:
        """``d`` was just saved (or read and left unchanged) and its caller is done with
        it: keep it for the next command, which takes it over."""
        if not self._keep or d.pending_events:
            return
        with self._kept_lock:
            self._kept[d.id] = d
            self._kept.move_to_end(d.id)
            while len(self._kept) > self._keep:
                self._kept.popitem(last=False)

    def get(self, dispute_id: UUID, version: int | None = None) -> Dispute:
        """The dispute (at ``version``, or now); :class:`DisputeNotFound` if there is none."""
        found = self._stored(dispute_id, version)
        if found is None:
            raise DisputeNotFound(f"no dispute {dispute_id}")
        return found

    def find(self, dispute_id: UUID) -> Dispute | None:
        return self._stored(dispute_id, None)

    def _stored(self, dispute_id: UUID, version: int | None) -> Dispute | None:
        try:
            d: object = self.app.repository.get(dispute_id, version=version, projector_func=project)
        except AggregateNotFoundError:
            return None
        return d if isinstance(d, Dispute) else None

    def events(self, dispute_id: UUID, **options: Any) -> list[Dispute.Event]:
        """The stored events of a dispute (``options``: ``gt``, ``lte``, ...)."""
        return cast(list[Dispute.Event], list(self.app.events.get(dispute_id, **options)))

    def looks_for_policies(self) -> bool:
        """Whether a new order should look for newly published policy versions."""
        return True

    def save(self, d: Dispute, first_new: int = 0, *, confirm: bool = True) -> Saved:
        """Save the dispute's new events.

        ``first_new``: how many of its pending events were there before this
        command (earlier commands of the same batch). ``confirm``: on a
        conflict, check whether these very events are on record (a commit lost
        in transit). Not for derived events: two sweepers derive identical
        ones, and the one that lost the race must not report them as its own.
        """
        events = list(d.collect_events())
        try:
            recordings = self._save_events(events)
        except IntegrityError:
            if not confirm or not self._already_recorded(events):
                raise
            log.info("dispute.commit_confirmed", dispute_id=str(d.id), events=len(events))
            return Saved(events, None)
        return Saved(events, max((r.notification.id for r in recordings), default=None))

    def _already_recorded(self, events: list[Any]) -> bool:
        """Whether these very events are the ones on record.

        When the connection drops during COMMIT, the database may have committed
        while the client saw an error; the library's retry then meets its own
        rows as a conflict. Re-running the command would record it twice.
        """
        if not events:
            return False
        first, last = events[0], events[-1]
        stored = self.events(
            first.originator_id, gt=first.originator_version - 1, lte=last.originator_version
        )
        return stored == events


class UnitOfWork(Disputes):
    """A batch: the disputes its commands changed, saved together by :meth:`commit`.

    Its commands see their own unsaved changes; a dispute it has not touched is
    read from the store. New policy versions are looked for once, at its first order.
    """

    def __init__(self, app: Application[UUID]) -> None:
        super().__init__(app)
        self.pending: dict[UUID, Dispute] = {}
        self._policies_looked = False

    def get(self, dispute_id: UUID, version: int | None = None) -> Dispute:
        if version is None and dispute_id in self.pending:
            return self.pending[dispute_id]
        return super().get(dispute_id, version)

    def for_command(self, dispute_id: UUID) -> Dispute:
        return self.get(dispute_id)

    def kept(self, d: Dispute) -> None:
        """A batch's disputes are saved at its end, not kept."""

    def find(self, dispute_id: UUID) -> Dispute | None:
        return self.pending.get(dispute_id) or super().find(dispute_id)

    def looks_for_policies(self) -> bool:
        looks, self._policies_looked = not self._policies_looked, True
        return looks

    def save(self, d: Dispute, first_new: int = 0, *, confirm: bool = True) -> Saved:
        self.pending[d.id] = d
        return Saved(list(d.pending_events[first_new:]), None)

    def commit(self) -> None:
        if self.pending:
            self.app.save(*self.pending.values())
