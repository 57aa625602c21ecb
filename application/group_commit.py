"""Saves that arrive together in one process are committed together: one transaction.

On PostgreSQL every save takes the events table's lock through its commit, so
concurrent commands queue behind one commit (and one fsync) each. Here the
first thread to save leads: it commits what is waiting, its own save and every
save that arrived while the previous group committed, in one transaction;
the others wait for their part of the outcome. Nobody waits for a group to
fill: an idle store commits each save at once, a busy one in groups as large
as the wait made them.

Each save still holds its own dispute's events, checked by the store's unique
(dispute, version) key. Two saves of one dispute never share a group. When a
group conflicts, one of its saves lost a race the others did not run: each
save of the group is then tried once alone, so a conflict fails only its own
save, and the others commit on that one retry (docs/decisions.md, "Group commit").

A leader whose commit hangs (a database that stops answering) holds only its
own group: a save that waited ``PATIENCE`` seconds without being taken into a
group leaves the queue and commits alone, as it would without group commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError

__all__ = ["MAX_GROUP", "PATIENCE", "GroupCommit"]

log = structlog.get_logger("disputedesk.application")

#: The most saves one transaction commits.
MAX_GROUP = 256
#: How long (s) a save waits for a leader before it commits alone.
PATIENCE = 0.5

#: Saves events in one transaction; returns the recordings (``Application.save``).
SaveEvents = Callable[..., Sequence[Any]]


@dataclass(eq=False)
class _Save:
    """One caller's save: its events, and once its group committed, its outcome."""

    events: Sequence[Any]
    recordings: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False

    @property
    def originator(self) -> Any:
        return self.events[0].originator_id


class GroupCommit:
    """Commits the saves of concurrent threads in groups (see the module docstring)."""

    def __init__(self, save_events: SaveEvents, max_group: int = MAX_GROUP,
                 patience: float = PATIENCE) -> None:
        self._save_events = save_events
        self._max_group = max_group
        self._patience = patience
        self._changed = threading.Condition()
        self._waiting: list[_Save] = []
        self._leading = False
        #: How many transactions committed groups of more than one save (for tests, metrics).
        self.groups = 0

    def save(self, events: Sequence[Any]) -> list[Any]:
        """Save ``events`` (one dispute's), together with whatever else is being saved.

        Returns their recordings; raises what saving them alone would have raised
        (``IntegrityError`` when another writer recorded that version first).
        """
        if not events:
            return list(self._save_events())
        mine = _Save(events)
        with self._changed:
            self._waiting.append(mine)
            while True:
                waited_until = time.monotonic() + self._patience
                while self._leading and not mine.done:
                    left = waited_until - time.monotonic()
                    if left <= 0 and mine in self._waiting:  # the leader is stuck: go alone
                        self._waiting.remove(mine)
                        self._changed.release()
                        log.warning("group_commit.alone", waited_s=self._patience,
                                    detail="the group being committed is slow; saving alone")
                        try:
                            self._commit([mine])
                        finally:
                            self._changed.acquire()
                        break
                    self._changed.wait(max(left, 0.05))
                if mine.done:
                    break
                self._leading = True
                group = self._take()
                try:
                    self._changed.release()
                    try:
                        self._commit(group)
                    finally:
                        self._changed.acquire()
                finally:
                    self._leading = False
                    self._changed.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.recordings

    def _take(self) -> list[_Save]:
        """The next group: the waiting saves in arrival order, one per dispute, at most
        ``max_group``; the rest wait for the next one."""
        group: list[_Save] = []
        seen: set[Any] = set()
        rest: list[_Save] = []
        for waiting in self._waiting:
            if len(group) < self._max_group and waiting.originator not in seen:
                seen.add(waiting.originator)
                group.append(waiting)
            else:
                rest.append(waiting)
        self._waiting = rest
        return group

    def _commit(self, group: list[_Save]) -> None:
        try:
            self._commit_group(group)
        finally:  # never leave a saver waiting for an outcome that will not come
            for save in group:
                if not save.done:
                    save.error = save.error or RuntimeError("the group commit ended unanswered")
                    save.done = True

    def _commit_group(self, group: list[_Save]) -> None:
        if len(group) > 1:
            try:
                recordings = self._save_events(*(e for save in group for e in save.events))
            except IntegrityError:
                pass  # one of them lost a race: each alone, once
            except BaseException as error:
                for save in group:
                    save.error, save.done = error, True
                raise_if_fatal(error)
                return
            else:
                self.groups += 1
                _share(group, recordings)
                return
        for save in group:
            try:
                save.recordings = list(self._save_events(*save.events))
            except BaseException as error:
                save.error = error
                raise_if_fatal(error)
            finally:
                save.done = True


def _share(group: list[_Save], recordings: Sequence[Any]) -> None:
    """Each save's recordings, found by its events (the store returns them in order)."""
    owner = {id(event): save for save in group for event in save.events}
    for recording in recordings:
        owner[id(recording.domain_event)].recordings.append(recording)
    for save in group:
        save.done = True


def raise_if_fatal(error: BaseException) -> None:
    """An interrupt or exit stops the leader too; everything else is its savers' to handle."""
    if not isinstance(error, Exception):
        raise error
