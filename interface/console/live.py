"""Live pages: a server-sent event each time what a page shows may have changed.

The queue page listens for any new event in the log (claims included, which
the public streams leave out); a case page for a new version of its case. The
browser then fetches the page again and swaps the parts that changed. They count
towards the caller's cap on open streams (:mod:`interface.http.stream_caps`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from uuid import UUID

from litestar import Controller, get
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from domain.dispute import Actor
from interface.console import session
from interface.http.deadline import DEADLINE_OPT
from interface.http.stream_caps import StreamCap

#: How often a live page's source is looked at (s).
POLL_SECONDS = 1.0
#: A comment this often keeps proxies from closing an idle stream (s).
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 3000


async def _changes(read: Callable[[], int], query: str | None
                   ) -> AsyncIterator[ServerSentEventMessage]:
    """``changed`` events; with ``query``, each names the query parameter (and value) the
    page is fetched again with, so that it is read at least that far."""
    yield ServerSentEventMessage(data=None, comment="connected", retry=RETRY_MS)
    last = await sync_to_thread(read)
    quiet = 0.0
    while True:
        await asyncio.sleep(POLL_SECONDS)
        now = await sync_to_thread(read)
        if now != last:
            last, quiet = now, 0.0
            data = json.dumps({query: now} if query else {})
            yield ServerSentEventMessage(data=data, event="changed")
        else:
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ServerSentEventMessage(data=None, comment="keep-alive")


class LivePages(Controller):
    path = "/live"
    opt = {DEADLINE_OPT: None}  # streams run until the page closes

    @get("/queue")
    async def queue(self, user: NamedDependency[Actor], desk: NamedDependency[DisputeDesk],
                    stream_cap: NamedDependency[StreamCap]) -> ServerSentEvent:
        session.require(user, "moderation_queue")
        feed = EventFeed(desk)
        # The queue is a read model: read it again once it has caught up with the log.
        return ServerSentEvent(stream_cap.hold(user, _changes(feed.head, "min_position")))

    @get("/cases/{dispute_id:uuid}")
    async def case(self, dispute_id: FromPath[UUID], user: NamedDependency[Actor],
                   desk: NamedDependency[DisputeDesk], stream_cap: NamedDependency[StreamCap]
                   ) -> ServerSentEvent:
        session.require(user, "history")
        feed = EventFeed(desk)
        state = {"head": -1, "version": -1}

        def version() -> int:
            head = feed.head()
            if head != state["head"]:  # a new event somewhere: is it this case's?
                state["head"], state["version"] = head, desk.dispute(dispute_id).version
            return state["version"]

        await sync_to_thread(desk.case, dispute_id, user)  # 404 before the stream starts
        return ServerSentEvent(stream_cap.hold(user, _changes(version, None)))
