"""Events out: the public event feed and the live streams (server-sent events).

The catalogue of public types lives in :mod:`application.public_events`; the
reading, in :mod:`application.event_feed`. Each public event's ``id`` is its
place in the log, so a feed cursor and SSE's ``Last-Event-ID`` resume from it.

The streams poll the feed every ``POLL_SECONDS`` in a worker thread (each poll
borrows a pooled connection and returns it), send a comment line when nothing
was sent for ``KEEPALIVE_SECONDS``, and end when the client disconnects. They
have no request deadline (``opt={"deadline": None}``). One caller holds at most a
few open at once (:mod:`interface.http.stream_caps`).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Router
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from msgspec import Meta, Struct

from application.disputes import DisputeDesk
from application.event_feed import EventFeed, FeedPage
from application.public_events import CONTRACT_TYPES, EMITTED_TYPES
from domain.dispute import Actor
from interface.http.deadline import DEADLINE_OPT
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.pagination import DEFAULT_LIMIT, Limit, decode_cursor, encode_cursor
from interface.http.routes import get
from interface.http.stream_caps import STREAM_CAP_RESPONSE, StreamCap

#: How often a stream looks for new events (s): a new event reaches a client within it.
POLL_SECONDS = 0.4
#: A comment line after this long without a message keeps proxies from closing (s).
KEEPALIVE_SECONDS = 15.0
#: What a browser waits before reconnecting (ms).
RETRY_MS = 1000

Rfc3339 = Annotated[str, Meta(description="RFC 3339 instant in UTC (`Z`)")]


class PublicEvent(Struct):
    id: Annotated[str, Meta(description="The event's place in the log: resume after it "
                                        "(`after=` on the feed, `Last-Event-ID` on a stream)")]
    type: Annotated[str, Meta(description="A public event type, e.g. `dispute.shipped`")]
    created_at: Annotated[Rfc3339, Meta(description="When the event was recorded")]
    dispute_id: str
    order_id: str
    buyer_id: str
    seller_id: str
    data: Annotated[
        dict[str, Any],
        Meta(description="`occurred_at` (when it happened in the world) and the type's "
             "facts: amounts as money objects, statuses. Never an internal note."),
    ]


class EventsPage(Struct):
    data: list[PublicEvent]
    next_cursor: Annotated[
        str | None,
        Meta(description="Ask again with `after=` this for more; null once the page reached "
             "the head of the log"),
    ]
    resume_cursor: Annotated[
        str,
        Meta(description="Always set: where this page stopped. At the head, store it and "
             "poll later with `after=` it to get only newer events"),
    ]


_EVENT_ID = re.compile(r"^[0-9]{1,18}$")

After = Annotated[
    str | None,
    QueryParameter(
        name="after",
        required=False,
        max_length=1000,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="A `next_cursor` or `resume_cursor` of an earlier page, or an event's "
        "`id`: only events after it. Omit it to start at the beginning of the log.",
    ),
]
Types = Annotated[
    str | None,
    QueryParameter(
        name="types",
        required=False,
        max_length=2000,
        pattern=r"^[a-z0-9_.,]*$",
        description="Comma-separated public event types (e.g. "
        "`dispute.shipped,dispute.ruled`); only those. An unknown type is 400.",
    ),
]
LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        required=False,
        pattern=r"^[0-9]{1,18}$",
        description="The `id` of the last event received: the stream resumes right after it, "
        "without a gap. Without it the stream starts with the events recorded from now on.",
    ),
]

_CAP_NOTE = ("A caller holds a few streams open at once (`DISPUTEDESK_MAX_STREAMS`, the "
             "console's live pages included); one more is 429 (`too-many-streams`) until one "
             "closes. ")
_TYPES_TEXT = ", ".join(f"`{kind}`" for kind in sorted(EMITTED_TYPES))
_STREAM_RESPONSE = {
    200: ResponseSpec(
        data_container=str,
        media_type="text/event-stream",
        description="Server-sent events: `id:` the event's id, `event:` its type, `data:` the "
        "public event as JSON (the same object as in `GET /v1/events`); a comment line "
        f"every {KEEPALIVE_SECONDS:g} s keeps the connection open.",
        generate_examples=False,
        examples=[Example(
            summary="One event, then a keep-alive comment",
            value='id: 42\nevent: dispute.shipped\ndata: {"id": "42", "type": '
            '"dispute.shipped", ...}\n\n: keep-alive\n\n',
        )],
    ),
}


def _position(after: str | None) -> int:
    """The log position ``after`` names (an event id or a cursor); 0 for the start."""
    if after is None or after == "":
        return 0
    if _EVENT_ID.match(after):
        return int(after)
    position = decode_cursor(after)
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise ValidationException(
            "after is not a cursor this API returned",
            extra=[{"key": "after", "message": "not a cursor of the event feed"}],
        )
    return position


def _types(types: str | None) -> frozenset[str] | None:
    if types is None or types == "":
        return None
    names = frozenset(name.strip() for name in types.split(",") if name.strip())
    unknown = sorted(names - CONTRACT_TYPES)
    if unknown:
        raise ValidationException(
            f"unknown event types: {', '.join(unknown)}",
            extra=[{"key": "types", "message": f"unknown event type {name!r}"}
                   for name in unknown],
        )
    return names


def _message(event: dict[str, Any]) -> ServerSentEventMessage:
    return ServerSentEventMessage(
        data=msgspec.json.encode(event).decode(), event=event["type"], id=event["id"]
    )


async def _messages(read: Callable[[int], FeedPage], after: int
                    ) -> AsyncIterator[ServerSentEventMessage]:
    """The stream: catch up from ``after``, then poll; ends when the client goes."""
    yield ServerSentEventMessage(data=None, comment="connected", retry=RETRY_MS)
    position = after
    last_sent = time.monotonic()
    while True:
        page = await sync_to_thread(read, position)
        position = page.position
        for event in page.events:
            yield _message(event)
        if page.events:
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
            yield ServerSentEventMessage(data=None, comment="keep-alive")
            last_sent = time.monotonic()
        if page.at_head:
            await asyncio.sleep(POLL_SECONDS)
        else:
            await asyncio.sleep(0)  # more to catch up on: read on at once


class EventsController(Controller):
    path = "/v1"
    tags = ["events"]

    def __init__(self, owner: Router) -> None:
        super().__init__(owner)
        self._feed: EventFeed | None = None
        self._lock = threading.Lock()

    def feed_of(self, desk: DisputeDesk) -> EventFeed:
        with self._lock:
            if self._feed is None:
                self._feed = EventFeed(desk)
            return self._feed

    @get(
        "/events",
        operation_id="listEvents",
        guards=[requires("events_feed")],
        sync_to_thread=True,
        summary="The public event feed",
        description="Public events (" + _TYPES_TEXT + ") in log order, oldest first. Paged: "
        "`limit` events at most, continue with `after=` the `next_cursor`. A page may hold "
        "fewer events than `limit` (even none) and still have a `next_cursor`: each request "
        "scans a bounded part of the log. `next_cursor` is null only at the head of the log; "
        "then poll later with `after=` the `resume_cursor`. A client that stores the cursor "
        "it continues from never misses an event and never gets one twice or out of order. "
        "The platform sees every dispute; a buyer or seller only their own. `types=` keeps "
        "only the types named (any public type of the catalogue; an unknown one is 400). "
        + roles_note("events_feed"),
        responses=problem_responses(400, 401, 403),
    )
    def list_events(
        self,
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        after: After = None,
        types: Types = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> EventsPage:
        position, wanted = _position(after), _types(types)
        page = self.feed_of(desk).feed(request.user, position, limit, wanted)
        resume = encode_cursor(page.position)
        return EventsPage(
            data=[PublicEvent(**event) for event in page.events],
            next_cursor=None if page.at_head else resume,
            resume_cursor=resume,
        )

    @get(
        "/disputes/{dispute_id:uuid}/events/stream",
        operation_id="streamDisputeEvents",
        tags=["disputes"],
        guards=[requires("stream_case")],
        opt={DEADLINE_OPT: None},
        summary="Live public events of one case (server-sent events)",
        description="A `text/event-stream` of the case's public events as they are recorded "
        "(each within about a second). Send `Last-Event-ID` to resume after an event "
        "without a gap (browsers do so when they reconnect). Buyers and sellers only for "
        "their own cases (another's is 404). " + _CAP_NOTE + roles_note("stream_case"),
        responses={**_STREAM_RESPONSE, **problem_responses(400, 401, 403, 404),
                   **STREAM_CAP_RESPONSE},
    )
    async def stream_case(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        stream_cap: NamedDependency[StreamCap],
        request: Request[Actor, Any, Any],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        feed, actor = self.feed_of(desk), request.user
        await sync_to_thread(feed.check_case_stream, actor, dispute_id)
        start = int(last_event_id) if last_event_id else await sync_to_thread(feed.head)
        return ServerSentEvent(stream_cap.hold(
            actor, _messages(lambda after: feed.case_events(actor, dispute_id, after), start)
        ))

    @get(
        "/moderation/queue/stream",
        operation_id="streamQueue",
        tags=["moderation"],
        guards=[requires("stream_queue")],
        opt={DEADLINE_OPT: None},
        summary="Live public events of every case, and claims (server-sent events)",
        description="A `text/event-stream` of every case's public events as they are "
        "recorded (each within about a second), named as they are, and of moderators' claims, "
        "which change the queue's `claimed_by` but are never public events: "
        "`dispute.claimed` (`data`: `moderator_id`, `expires_at`, `taken_from`) and "
        "`dispute.claim_released` (`moderator_id`), in the same shape. Refetch "
        "`GET /v1/moderation/queue` when one matters to the view. Send `Last-Event-ID` to "
        "resume after an event without a gap. " + _CAP_NOTE + roles_note("stream_queue"),
        responses={**_STREAM_RESPONSE, **problem_responses(400, 401, 403),
                   **STREAM_CAP_RESPONSE},
    )
    async def stream_queue(
        self,
        desk: NamedDependency[DisputeDesk],
        stream_cap: NamedDependency[StreamCap],
        request: Request[Actor, Any, Any],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        feed, actor = self.feed_of(desk), request.user
        start = int(last_event_id) if last_event_id else await sync_to_thread(feed.head)
        return ServerSentEvent(stream_cap.hold(
            actor, _messages(lambda after: feed.queue_events(actor, after), start)
        ))
