"""The interfaces the projections depend on; infrastructure implements them.

- ``EventSource``: the application's notification log, decoded, and its policies.
- ``ReadModelStore``: the writer's side of a read-model store (one connection,
  one writer): versions, lanes, batches written atomically with their position,
  and named locks so that only one worker writes a lane.
- ``ReadModelReader``: the query side (thread-safe, many readers).

A *lane* is a set of read-model versions that advance together, in the same
transactions, from one position of the notification log, with one table of
aggregate states. The ``live`` lane maintains the versions being served; a
rebuild fills a new version in a lane of its own and then hands it over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.projections.records import (
    BatchWrite,
    DisputeQuery,
    DisputeRow,
    DueCase,
    MetricsFigures,
    QueuePage,
    QueueQuery,
    Reading,
    SellerFigures,
    SellerProfile,
    SellerQuery,
    SellerSummary,
    StateRow,
    VersionInfo,
)
from domain.policy import Policy


class Stored(Protocol):
    """An event as the store holds it (a notification, or a stored event)."""

    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


class LogEntry(Stored, Protocol):
    """One notification of the log (eventsourcing's ``Notification`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...


class NotificationLog(Protocol):
    """A faster way to read the log than the recorder's, where there is one."""

    def select(self, start: int, limit: int, stop: int | None = None) -> Sequence[LogEntry]: ...


class EventSource(Protocol):
    """The notification log of the event-sourced application."""

    @property
    def application_name(self) -> str: ...

    def select_notifications(
        self, start: int, limit: int, stop: int | None = None
    ) -> Sequence[LogEntry]:
        """Notifications with ``start <= id (<= stop)``, in order, at most ``limit``."""
        ...

    def max_notification_id(self) -> int: ...

    def decode(
        self, originator_id: UUID, originator_version: int, topic: str, state: bytes
    ) -> object:
        """The domain event of a stored event given by its columns."""
        ...

    def events_of(self, dispute_id: UUID, *, after: int, upto: int) -> Sequence[StoredEvent]:
        """One dispute's stored events with ``after < version <= upto``, in order."""
        ...

    def policy(self, version: str) -> Policy: ...


class ReadModelStore(Protocol):
    """One writer's connection to the read-model store."""

    def setup(self, initial: Iterable[tuple[str, int]]) -> None:
        """Create the bookkeeping tables; give each (name, schema) a first version
        in the live lane if it has none. Idempotent and safe to race."""
        ...

    def versions(self) -> list[VersionInfo]: ...

    def lane_position(self, lane: str) -> int:
        """The position a lane has reached (0: nothing yet)."""
        ...

    def load_states(self, lane: str, dispute_ids: Sequence[str]) -> list[StateRow]: ...

    def write(self, batch: BatchWrite) -> None:
        """Write the batch and move the lane to ``batch.position`` in ONE transaction.

        Raises ``PositionConflict`` (writing nothing) if the lane is not at
        ``batch.expected_position``.
        """
        ...

    def set_status(self, name: str, version: int, status: str) -> None: ...

    def new_lane(self) -> str:
        """Create an empty lane (state table, position 0) and return its name."""
        ...

    def begin_build(self, name: str, version: int, schema: int, lane: str) -> None:
        """Create a new version's tables (no secondary indexes yet) in ``lane``."""
        ...

    def finish_build(self, name: str, version: int) -> None:
        """Create the version's indexes and mark it ready to be handed over."""
        ...

    def switch(
        self,
        lane: str,
        *,
        retire: Sequence[tuple[str, int]],
        merge_into: str | None = None,
        position: int | None = None,
    ) -> None:
        """In ONE transaction: the ready versions of ``lane`` become current, the
        versions they replace are retired. With ``merge_into`` (both lanes must be
        at ``position``) they join that lane and ``lane``'s position is removed."""
        ...

    def drop_lane(self, lane: str) -> None: ...

    def drop_version(self, name: str, version: int) -> None: ...

    def try_lock(self, name: str) -> bool:
        """Take a named exclusive lock held by this connection/process; False if taken."""
        ...

    def unlock(self, name: str) -> None: ...

    def inflight_writers(self) -> frozenset[str]:
        """The transactions now writing to the event store's table, if the store can
        tell (PostgreSQL); empty when commits cannot come out of id order (SQLite)."""
        ...

    @property
    def notifies(self) -> bool:
        """Whether ``wait_for_events`` wakes up when events are recorded (else: poll)."""
        ...

    def wait_for_events(self, timeout: float, stop: threading.Event) -> None:
        """Sleep until new events may have been recorded, at most ``timeout`` seconds,
        and not long after ``stop`` is set."""
        ...

    @property
    def overlap_writes(self) -> bool:
        """Whether a long catch-up should write each batch through a ``clone`` in a
        thread while it folds the next: worth it when the database works in a
        process of its own (PostgreSQL), not when its work holds this process's
        interpreter lock row by row (SQLite)."""
        ...

    def clone(self) -> ReadModelStore:
        """Another connection to the same store (for a writer thread); no locks held."""
        ...

    def close(self) -> None: ...


class ReadModelReader(Protocol):
    """Queries of the current versions; each reads one consistent snapshot."""

    def positions(self) -> dict[str, int]:
        """The position of each served read model."""
        ...

    def position(self) -> int: ...

    def list_disputes(self, query: DisputeQuery) -> Reading[list[DisputeRow]]: ...

    def moderation_queue(self, query: QueueQuery) -> Reading[QueuePage]:
        """A page of the queue (``query.limit`` rows) and its counts, from one snapshot."""
        ...

    def seller_figures(self, seller_id: str, now: int) -> Reading[SellerFigures | None]:
        """A seller's scorecard figures as of ``now``; None when no order names it."""
        ...

    def seller_profile(
        self, seller_id: str, now: int, *, reviews: int, hidden: bool
    ) -> Reading[SellerProfile | None]:
        """A seller's page: its figures, name, markets, return costs and its ``reviews``
        newest reviews (``hidden``: hidden ones too); None when no order names it."""
        ...

    def sellers(self, query: SellerQuery) -> Reading[list[SellerSummary]]:
        """A page of the seller search, in the order of ``query.sort``."""
        ...

    def metrics(self) -> Reading[MetricsFigures]: ...

    def due(
        self, until: int, limit: int, after: tuple[int, str] | None = None
    ) -> Reading[list[DueCase]]:
        """Due by ``until`` (micros), ordered by (instant, id), after that pair if given."""
        ...

    def versions(self) -> list[VersionInfo]: ...

    def close(self) -> None: ...
