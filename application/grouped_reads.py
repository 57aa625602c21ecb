"""Commands that arrive together ask the store what changed in one query, not one each.

A command starts from the dispute this process kept from its last save and
asks the store for the events recorded since (another worker may have written
them). Under load every command paid a round trip and a query of its own for
that. Here the first command to ask leads: it sends one query for its own
dispute and every dispute asked about while the previous query ran, and hands
each caller its events. A query is sent only after each of its callers asked,
so every caller sees every commit made before it asked, as with a query of its
own. Nobody waits for a group to fill: an idle store answers each at once.

A caller the leader did not take within ``PATIENCE`` seconds (a query that
hangs), or whose group's query failed, is told to ask alone (None), and does
what it did without this (docs/decisions.md,
"Group commit").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog

from application.group_commit import MAX_GROUP, PATIENCE

__all__ = ["GroupedReads"]

log = structlog.get_logger("disputedesk.application")

#: Each dispute's events after the version given for it (none: an empty list or no key).
Query = Callable[[Mapping[UUID, int]], Mapping[UUID, Sequence[Any]]]


@dataclass(eq=False)
class _Ask:
    dispute_id: UUID
    after: int
    answer: list[Any] | None = None  # None once done: ask alone
    done: bool = False


class GroupedReads:
    """Answers concurrent "events of this dispute after version N" in shared queries."""

    def __init__(self, query: Query, max_group: int = MAX_GROUP,
                 patience: float = PATIENCE) -> None:
        self._query = query
        self._max_group = max_group
        self._patience = patience
        self._changed = threading.Condition()
        self._waiting: list[_Ask] = []
        self._leading = False
        #: Queries that answered more than one caller (for tests and metrics).
        self.groups = 0

    def newer(self, dispute_id: UUID, after: int) -> list[Any] | None:
        """The dispute's events after version ``after`` as the store holds them now,
        or None: ask the store alone."""
        mine = _Ask(dispute_id, after)
        with self._changed:
            self._waiting.append(mine)
            given_up_at = time.monotonic() + self._patience
            while not mine.done:
                if not self._leading:
                    self._lead()
                    continue
                left = given_up_at - time.monotonic()
                if left <= 0 and mine in self._waiting:  # the query in flight is slow
                    self._waiting.remove(mine)
                    log.warning("grouped_reads.alone", waited_s=self._patience,
                                detail="the shared query is slow; asking alone")
                    return None
                self._changed.wait(max(left, 0.05))
        return mine.answer

    def _lead(self) -> None:
        """Send the waiting callers' query (the condition held on entry and exit)."""
        self._leading = True
        group, self._waiting = self._waiting[:self._max_group], self._waiting[self._max_group:]
        after: dict[UUID, int] = {}
        for ask in group:  # one dispute asked twice: the earlier version covers both
            after[ask.dispute_id] = min(ask.after, after.get(ask.dispute_id, ask.after))
        found: Mapping[UUID, Sequence[Any]] | None = None
        self._changed.release()
        try:
            found = self._query(after)
        except Exception as error:  # each caller then asks alone, and meets the error itself
            log.warning("grouped_reads.failed", error=str(error), callers=len(group))
        finally:  # even an interrupt answers every caller of the group
            self._changed.acquire()
            self._leading = False
            for ask in group:
                if found is not None:
                    ask.answer = [e for e in found.get(ask.dispute_id, ())
                                  if e.originator_version > ask.after]
                ask.done = True
            if len(group) > 1 and found is not None:
                self.groups += 1
            self._changed.notify_all()
