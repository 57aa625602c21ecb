"""Small interfaces the application depends on; infrastructure implements them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent


class Clock(Protocol):
    """The only way anything reads the time."""

    def now(self) -> datetime: ...


class CommitCounter(Protocol):
    """Changes whenever anything is committed to the event store, by any process.

    Two equal stamps: nothing was committed in between. ``stamp()`` is None
    when it cannot tell; then nothing may be assumed.
    """

    def stamp(self) -> Hashable | None: ...

    def peek(self) -> Hashable | None:
        """The stamp if it can be had without I/O (never blocks); else None."""

    def same_for(self, dispute_id: UUID, earlier: Hashable, now: Hashable) -> bool:
        """Whether nothing was committed to ``dispute_id`` from stamp ``earlier`` to
        stamp ``now`` (both this counter's, never blocks). A counter that cannot tell
        cases apart answers ``earlier == now``."""

    def close(self) -> None: ...


class DueIndex(Protocol):
    """Where the sweeper learns which disputes have a derived event due.

    Kept current with the events (a read model); the sweeper never loads every
    aggregate to find out.
    """

    def due(
        self, now: datetime, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> list[tuple[datetime, UUID]]:
        """(due instant, dispute id) of disputes due at or before ``now``.

        Ordered by (due instant, id); ``after`` continues from the last pair of
        the previous page.
        """
        ...


class StoredSince(Protocol):
    """Many disputes' stored events, each after a version given for it, in one query."""

    def after(self, versions: Mapping[UUID, int]) -> Mapping[UUID, Sequence[StoredEvent]]:
        """Each dispute's events with a version above ``versions[id]``, in version order
        (a dispute with none may be left out)."""
        ...
