"""The commit counter, and this process's own commits counted the moment they return.

A store's counter may learn of a commit a little after it returns (PostgreSQL
delivers the commit's notification to our listener asynchronously). A read
right after this process's own write must still see it: the stamp here also
moves with every commit this process made (``DisputeDesk.save``), and
remembers which cases each touched.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from uuid import UUID

from application.case_changes import CaseChanges
from application.ports import CommitCounter

__all__ = ["OwnCommits"]


class OwnCommits:
    """A :class:`CommitCounter` whose stamps also change with this process's commits."""

    def __init__(self, store: CommitCounter) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._own = 0
        self._cases = CaseChanges()

    def committed(self, cases: Iterable[UUID] | None = None) -> None:
        """This process just committed to the store (call after the commit returned),
        to ``cases`` (None: it cannot say which)."""
        with self._lock:
            self._own += 1
            self._cases.touched(None if cases is None else map(str, cases), self._own)

    def stamp(self) -> Hashable | None:
        own = self._own  # read before the store's stamp: a commit in between changes the next
        store = self._store.stamp()
        return None if store is None else (store, own)

    def peek(self) -> Hashable | None:
        own = self._own
        store = self._store.peek()
        return None if store is None else (store, own)

    def same_for(self, dispute_id: UUID, earlier: Hashable, now: Hashable) -> bool:
        if not (isinstance(earlier, tuple) and isinstance(now, tuple)):
            return False
        (earlier_store, earlier_own), (now_store, _) = earlier, now
        with self._lock:
            if self._cases.touched_after(str(dispute_id), earlier_own):
                return False
        return self._store.same_for(dispute_id, earlier_store, now_store)

    def close(self) -> None:
        self._store.close()
