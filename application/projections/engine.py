"""The catch-up engine: pull the notification log in batches, fold each batch
into the read models of a lane, write the rows and the new position in one
transaction.

Exactly once: the position moves only with the rows it produced, and the store
refuses a batch whose starting position is no longer the lane's (a second
writer, or a stale cache). Resumable: after a crash the lane restarts from the
stored position with states read back from the store. Rebuild-identical: each
read model's changes depend only on a dispute's facts before and after the
batch, so the tables do not depend on how the log was cut into batches.

Dispute state is never re-derived here: each dispute's aggregate is rebuilt by
applying its events (``event.mutate``) to its last state, which comes from a
bounded in-memory LRU or, on a miss, from the lane's state row (the dispute's
own events, see ``history``), never from the event store. Memory stays flat in
the number of events.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.utils import get_topic

from application.projections.errors import StateMissing
from application.projections.facts import DisputeFacts, facts_of, response_micros
from application.projections.history import frame_all, unframe
from application.projections.model import ReadModel, Touch
from application.projections.ports import EventSource, LogEntry, ReadModelStore
from application.projections.records import BatchWrite, StateRow
from application.projections.tuning import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CACHE_SIZE,
    GC_EVERY_BATCHES,
    Entry,
    Progress,
    StateCache,
    overlapping_writer,
    young_gc_only,
)
from domain.dispute import EVENT_TYPES, Dispute, new_dispute

log = structlog.get_logger("disputedesk.projections")

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CACHE_SIZE",
    "DISPUTE_TOPICS",
    "CatchUp",
    "Entry",
    "Progress",
    "StateCache",
    "overlapping_writer",
]

DISPUTE_TOPICS = frozenset(get_topic(cls) for cls in EVENT_TYPES.values())


def _dispute_uuid(originator_id: object) -> UUID:
    """A dispute's id however the log gave it (SQLite keeps a UUID as 32 hex digits).

    Its canonical text is the dispute's key in the lane.
    """
    if isinstance(originator_id, UUID):
        return originator_id
    return UUID(str(originator_id))


class CatchUp:
    """Moves one lane (a set of read-model versions) along the notification log."""

    def __init__(
        self,
        source: EventSource,
        store: ReadModelStore,
        lane: str,
        models: Sequence[tuple[ReadModel, int]],
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.source = source
        self.store = store
        self.lane = lane
        self.models = list(models)
        self.cache = StateCache(cache_size)
        self.position = store.lane_position(lane)
        self._held_writers: frozenset[str] | None = None  # see _settle_holes

    def reload(self) -> None:
        """Forget everything held in memory and re-read the lane's position."""
        self.cache.clear()
        self.position = self.store.lane_position(self.lane)

    # ---- one batch -------------------------------------------------------------

    def step(self, batch_size: int = DEFAULT_BATCH_SIZE, stop: int | None = None) -> int:
        """Process the next batch (up to ``stop`` if given). Returns notifications read.

        With ``stop``, a short batch moves the position to ``stop`` itself (ids
        up to it that are missing were never committed), so that two lanes run
        to the same ``stop`` end at the same position.
        """
        try:
            batch, n = self._next_batch(batch_size, stop)
            if batch is not None:
                self.store.write(batch)
        except BaseException:
            # Aggregates in the cache may have moved past what was committed.
            self.cache.clear()
            raise
        if batch is not None:
            self.position = batch.position
        return n

    def _next_batch(self, batch_size: int, stop: int | None) -> tuple[BatchWrite | None, int]:
        """Read and fold the next batch into what to write (cache updated, nothing written)."""
        start = self.position + 1
        if stop is not None and start > stop:
            return None, 0
        notifications = self.source.select_notifications(start, batch_size, stop)
        # The range this batch would cover: to its last id, or to ``stop`` if it is short.
        end = notifications[-1].id if notifications else self.position
        if stop is not None and len(notifications) < batch_size:
            end = stop
        if end - self.position != len(notifications):  # ids missing in (position, end]
            notifications, end = self._settle_holes(start, batch_size, notifications, end)
        if end == self.position:
            return None, 0
        return self._fold(notifications, end), len(notifications)

    def _settle_holes(
        self, start: int, batch_size: int, notifications: Sequence[LogEntry], end: int
    ) -> tuple[Sequence[LogEntry], int]:
        """Never move past an id that a transaction still in flight may commit.

        A hole in the ids is an insert that rolled back, or one that has not
        committed yet (with the eventsourcing PostgreSQL recorder's database
        functions, inserts do not take its table lock, so commits can come out
        of id order). Every id assigned so far belongs to a transaction that
        then held a write lock on the events table: once the writers seen when
        the hole was noticed are gone, the hole is settled (filled, or never
        will be) and one more read of the same range sees the final content.
        Until then the batch stops before the first hole.
        """
        writers = self.store.inflight_writers()
        held = writers if self._held_writers is None else self._held_writers & writers
        if not held:
            self._held_writers = None
            settled = self.source.select_notifications(start, batch_size, end)
            if len(settled) == batch_size:  # late ids filled the batch before ``end``
                end = settled[-1].id
            return settled, end
        self._held_writers = held
        prefix: list[LogEntry] = []
        for notification in notifications:
            if notification.id != self.position + 1 + len(prefix):
                break
            prefix.append(notification)
        return prefix, prefix[-1].id if prefix else self.position

    def _fold(self, notifications: Sequence[LogEntry], position: int) -> BatchWrite:
        # Grouped by the dispute's id as the log gives it: text (SQLite) as it is,
        # a UUID (PostgreSQL) by its integer, which hashes and compares in C.
        grouped: dict[object, list[LogEntry]] = {}
        for notification in notifications:
            if notification.topic in DISPUTE_TOPICS:  # not the policy ledger
                raw_id: object = notification.originator_id
                if type(raw_id) is UUID:
                    raw_id = raw_id.int
                items = grouped.get(raw_id)
                if items is None:
                    grouped[raw_id] = [notification]
                else:
                    items.append(notification)

        cache = self.cache
        entries = [(raw_id, items, cache.get(raw_id)) for raw_id, items in grouped.items()]
        # Disputes not in memory: their ids converted once, their states read at once.
        ids = {
            raw_id: _dispute_uuid(items[0].originator_id)
            for raw_id, items, entry in entries
            if entry is None
        }
        keys = {raw_id: str(dispute_id) for raw_id, dispute_id in ids.items()}
        loaded = (
            {row.dispute_id: row for row in self.store.load_states(self.lane, list(keys.values()))}
            if keys
            else {}
        )

        # Room for the new entries, taken from the least recent (this batch's are the most).
        cache.trim(room=len(ids))

        touched: list[Touch] = []
        states: list[StateRow] = []
        policy = self.source.policy
        for raw_id, items, entry in entries:
            aggregate: Dispute | None = None
            before: DisputeFacts | None = None
            if entry is not None:
                aggregate, before = entry
                dispute_id: UUID = aggregate.id
                key = before.dispute_id
            else:
                dispute_id, key = ids[raw_id], keys[raw_id]
                row = loaded.get(key)
                if row is not None:
                    aggregate = self._replay(key, row.events)
                    before = facts_of(aggregate, policy(aggregate.policy_version), key)
            aggregate, applied, responses = self._apply(key, dispute_id, aggregate, items)
            after = facts_of(aggregate, policy(aggregate.policy_version), key, before)
            last = items[-1].id
            touched.append(Touch(before, after, last, responses, items[0].id))
            if applied:
                states.append(StateRow(key, aggregate.version, last, frame_all(applied)))
            cache.put(raw_id, (aggregate, after))
        cache.trim()

        changes = [model.changes(version, touched) for model, version in self.models]
        tracking = Tracking(self.source.application_name, position)
        return BatchWrite(self.lane, self.position, tracking, states, changes)

    def _apply(
        self, key: str, dispute_id: UUID, aggregate: Dispute | None, notifications: list[LogEntry]
    ) -> tuple[Dispute, list[LogEntry | StoredEvent], list[tuple[int, int]]]:
        """Apply a dispute's events of this batch; collect seller response times."""
        applied: list[LogEntry | StoredEvent] = []
        responses: list[tuple[int, int]] = []
        decode = self.source.decode
        version = 0 if aggregate is None else aggregate.version
        for notification in notifications:
            next_version = notification.originator_version
            if next_version <= version:
                continue  # already applied (defensive: never with a consistent lane)
            events: Sequence[LogEntry | StoredEvent] = (
                (notification,)
                if next_version == version + 1
                else (*self._late_events(key, version, next_version - 1), notification)
            )
            for stored in events:
                # The dispute's id converted once, not once per event.
                event: Any = decode(
                    dispute_id, stored.originator_version, stored.topic, stored.state
                )
                if aggregate is None:
                    created: Any = (
                        new_dispute(event)
                        if isinstance(event, Dispute.OrderPlaced)
                        else event.mutate(None)
                    )
                    aggregate = created
                else:
                    micros = response_micros(event, aggregate)
                    if micros is not None:
                        responses.append((event.originator_version, micros))
                    event.mutate(aggregate)
                applied.append(stored)
            version = next_version
        if aggregate is None:
            raise StateMissing(f"lane {self.lane}: no events and no state for dispute {key}")
        return aggregate, applied, responses

    def _late_events(self, key: str, version: int, upto: int) -> list[StoredEvent]:
        """Events the log delivered out of order: committed after later ids were read.

        The eventsourcing PostgreSQL recorder prevents this with a table lock
        (not taken when its database functions insert the events). The aggregate
        is completed from the event store, so the lane carries on exactly; a
        dispute whose late event was its last shows it with its next event.
        """
        found = list(self.source.events_of(UUID(key), after=version, upto=upto))
        if [e.originator_version for e in found] != list(range(version + 1, upto + 1)):
            raise StateMissing(
                f"lane {self.lane}: events {version + 1}..{upto} of dispute {key} are missing"
            )
        log.warning(
            "projections.late_events",
            lane=self.lane,
            dispute_id=key,
            versions=f"{version + 1}..{upto}",
            detail="the notification log delivered events out of order; is the PostgreSQL "
            "event store inserting without its table lock (POSTGRES_ENABLE_DB_FUNCTIONS)?",
        )
        return found

    def _replay(self, key: str, history: bytes) -> Dispute:
        """Rebuild a dispute from the events its state row holds."""
        originator_id = UUID(key)
        decode = self.source.decode
        aggregate: Any = None
        for version, topic, state in unframe(history):
            event: Any = decode(originator_id, version, topic, state)
            aggregate = event.mutate(aggregate)
        if not isinstance(aggregate, Dispute):
            raise StateMissing(f"lane {self.lane}: the state row of dispute {key} is empty")
        return aggregate

    # ---- many batches -------------------------------------------------------------

    def run(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        stop: int | None = None,
        until_caught_up: bool = True,
        on_batch: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        writer: ReadModelStore | None = None,
        release: bool = False,
    ) -> int:
        """Batches until the log is exhausted (or ``stop`` reached). Returns notifications read.

        ``until_caught_up`` ends the run at the first batch shorter than
        ``batch_size`` (near the head; a follower picks up the rest).

        ``writer``: a second connection to the store. Batch k is then written by
        a writer thread while batch k+1 is read and folded (the database works
        while Python folds). Still one batch in flight at most, in order: batch
        k+1 is handed over only once batch k committed, and a dispute it touches
        that batch k touched too is still in the cache (sized for it).

        ``release``: the caller is done with this engine; its cached aggregates
        are dropped before the garbage collector is back on, which spares a
        full collection over them (most of a second after tens of thousands of disputes).
        """
        started = time.monotonic()
        total = batches = 0
        if writer is not None:
            # Disputes of the batch in flight must still be cached when the next is folded.
            self.cache.capacity = max(self.cache.capacity, batch_size + 1)
        with young_gc_only(), ThreadPoolExecutor(1, thread_name_prefix="rm-writer") as pool:
            in_flight: tuple[Future[None], BatchWrite] | None = None
            try:
                while should_stop is None or not should_stop():
                    batch, n = self._next_batch(batch_size, stop)
                    if in_flight is not None:
                        in_flight[0].result()
                        in_flight = None
                    if batch is not None:
                        if writer is None:
                            self.store.write(batch)
                        else:
                            in_flight = (pool.submit(writer.write, batch), batch)
                        self.position = batch.position  # the next batch starts there
                        total += n
                        batches += 1
                        if batches % GC_EVERY_BATCHES == 0:
                            gc.collect(1)  # the young generations only
                        if on_batch is not None:
                            on_batch(Progress(batch.position, total, time.monotonic() - started))
                    if n == 0 or (stop is not None and self.position >= stop):
                        break
                    if until_caught_up and n < batch_size:
                        break
                if in_flight is not None:
                    in_flight[0].result()
                    in_flight = None
                if release:
                    self.cache.clear()
            except BaseException:
                if in_flight is not None:
                    with contextlib.suppress(BaseException):
                        in_flight[0].result()
                self.reload()  # what was committed is the truth
                raise
        return total
