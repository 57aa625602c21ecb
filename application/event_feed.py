"""The public events in log order: the pull feed and the streams read them here.

:class:`EventFeed` reads the application's notification log from a position in
bounded chunks, keeps the public events (:mod:`application.public_events`) the
caller may see, and says where it stopped. A caller that continues from that
position never misses or repeats an event:

- it stops after ``limit`` matches or after scanning ``max_scan`` notifications,
  and the position is always the last notification *scanned*, never one beyond;
- it never needs to wait for a hole in the ids: on both stores the library
  commits notifications in id order (SQLite has one writer; on PostgreSQL
  each insert holds the events table's lock until it commits), so a hole is
  an insert that rolled back and stays a hole.

The moderators' queue stream also carries claims taken and released
(:mod:`application.queue_events`), which are not public: nothing else reads them.

The parties of a dispute (order, buyer, seller, currency) come from its own
``OrderPlaced`` in the event store, never from a read model that may lag; they
never change, so they are kept in memory once read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application

from application.access import require
from application.event_decoder import FastDecoder
from application.public_events import JSON, PUBLIC_TYPES, Parties, parties_of, public_event
from application.queue_events import QUEUE_TYPES, queue_event
from domain.dispute import Actor, Dispute
from domain.dispute.access import COMMAND_ROLES
from domain.errors import DisputeNotFound

__all__ = ["CHUNK", "MAX_SCAN", "EventFeed", "FeedPage", "Notification"]

#: Notifications read per query.
CHUNK = 250
#: At most this many notifications scanned per call; then the caller continues.
MAX_SCAN = 2000
#: Disputes whose parties are kept in memory.
KEEP_PARTIES = 50_000


class Notification(Protocol):
    """A row of the notification log (eventsourcing's ``Notification`` has these)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[JSON]
    #: The last notification scanned (the position to continue after).
    position: int
    #: Whether the scan reached the end of the log as it was when read.
    at_head: bool


class EventFeed:
    """Public events of one application's log; see the module."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._decode = FastDecoder(app.mapper)
        self._parties: OrderedDict[str, Parties] = OrderedDict()
        self._lock = threading.Lock()

    # ---- what callers ask ---------------------------------------------------------

    def head(self) -> int:
        """The id of the last notification in the log (0 when empty)."""
        return self._app.recorder.max_notification_id() or 0

    def feed(
        self, actor: Actor, after: int, limit: int, types: Collection[str] | None = None,
        *, max_scan: int = MAX_SCAN,
    ) -> FeedPage:
        """``GET /v1/events``: every dispute for the platform, own disputes for parties."""
        require(COMMAND_ROLES, "events_feed", actor)
        topics = _topics(types)
        if actor.role == "buyer":
            return self._scan(after, limit, max_scan, topics,
                              lambda e: e["buyer_id"] == actor.id)
        if actor.role == "seller":
            return self._scan(after, limit, max_scan, topics,
                              lambda e: e["seller_id"] == actor.id)
        return self._scan(after, limit, max_scan, topics, None)

    def check_case_stream(self, actor: Actor, dispute_id: UUID) -> None:
        """Refuse a stream of one case as its view would: another's case is not found."""
        require(COMMAND_ROLES, "stream_case", actor)
        parties = self.parties(dispute_id)
        if (
            parties is None
            or (actor.role == "buyer" and parties.buyer_id != actor.id)
            or (actor.role == "seller" and parties.seller_id != actor.id)
        ):
            raise DisputeNotFound(f"no dispute {dispute_id}")

    def case_events(self, actor: Actor, dispute_id: UUID, after: int, limit: int = 500
                    ) -> FeedPage:
        """The public events of one case after ``after`` (its stream)."""
        self.check_case_stream(actor, dispute_id)
        wanted = str(dispute_id)
        return self._scan(after, limit, MAX_SCAN, None, lambda e: e["dispute_id"] == wanted,
                          originator=dispute_id)

    def queue_events(self, actor: Actor, after: int, limit: int = 500) -> FeedPage:
        """The public events of every case and the claims taken and released (the
        moderators' queue stream)."""
        require(COMMAND_ROLES, "stream_queue", actor)
        return self._scan(after, limit, MAX_SCAN, None, None, claims=True)

    def log_events(self, after: int, limit: int = 500) -> FeedPage:
        """Every public event after ``after``: what the webhook fan-out reads (no caller)."""
        return self._scan(after, limit, MAX_SCAN, None, None)

    # ---- the parties of a case ------------------------------------------------------

    def parties(self, dispute_id: UUID) -> Parties | None:
        key = str(dispute_id)
        with self._lock:
            known = self._parties.get(key)
        if known is not None:
            return known
        stored = self._app.recorder.select_events(dispute_id, lte=1, limit=1)
        if not stored:
            return None
        placed = self._decode(stored[0])
        if not isinstance(placed, Dispute.OrderPlaced):
            return None
        return self._keep(parties_of(placed))

    def _keep(self, parties: Parties) -> Parties:
        with self._lock:
            self._parties[parties.dispute_id] = parties
            self._parties.move_to_end(parties.dispute_id)
            while len(self._parties) > KEEP_PARTIES:
                self._parties.popitem(last=False)
        return parties

    # ---- the scan -----------------------------------------------------------------

    def _scan(
        self,
        after: int,
        limit: int,
        max_scan: int,
        topics: frozenset[str] | None,
        keep: Callable[[JSON], bool] | None,
        *,
        originator: UUID | None = None,
        claims: bool = False,
    ) -> FeedPage:
        """``claims``: the claim events too (the queue stream's alone)."""
        position, scanned = after, 0
        found: list[JSON] = []
        while len(found) < limit and scanned < max_scan:
            want = min(CHUNK, max_scan - scanned)
            rows: Sequence[Notification] = self._app.recorder.select_notifications(
                position + 1, want
            )
            for row in rows:
                position = row.id
                scanned += 1
                event = self._public(row, topics, originator, claims)
                if event is not None and (keep is None or keep(event)):
                    found.append(event)
                    if len(found) >= limit:
                        return FeedPage(found, position, at_head=False)
            if len(rows) < want:
                return FeedPage(found, position, at_head=True)
        return FeedPage(found, position, at_head=False)

    def _public(
        self, row: Notification, topics: frozenset[str] | None, originator: UUID | None,
        claims: bool = False,
    ) -> JSON | None:
        topic = row.topic
        claim = claims and topic in QUEUE_TYPES
        public = topic in PUBLIC_TYPES and (topics is None or topic in topics)
        if not (claim or public):
            return None
        raw_id = row.originator_id
        if originator is not None and (
            raw_id != originator and str(raw_id) != str(originator)
        ):
            return None
        event: Any = self._decode.decode(raw_id, row.originator_version, topic, row.state)
        if isinstance(event, Dispute.OrderPlaced):
            parties: Parties | None = self._keep(parties_of(event))
        else:
            parties = self.parties(event.originator_id)
        if parties is None:  # a dispute without its OrderPlaced: nothing to tell
            return None
        if claim:
            return queue_event(row.id, topic, event, parties)
        return public_event(row.id, topic, event, parties)


def _topics(types: Collection[str] | None) -> frozenset[str] | None:
    """The stored topics of the public ``types`` asked for (None: all)."""
    if types is None:
        return None
    wanted = set(types)
    return frozenset(topic for topic, kind in PUBLIC_TYPES.items() if kind in wanted)
