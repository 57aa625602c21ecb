"""A cap on the event streams one caller holds open at once (the API's SSE routes and
the console's live pages together): one more is 429, until one of them closes.

Counted per process: under ``serve --workers N`` a caller may hold up to N times
the cap, as each worker counts its own streams. A stream's place is given back
when its client disconnects (the stream's generator ends), and, should it never
have started, when it is collected.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.response import ServerSentEventMessage

from domain.dispute import Actor
from interface.http.errors import PROBLEM_BASE, LimitReached, Problem, problem_spec
from interface.http.openapi_problem_examples import EXAMPLE_REQUEST_ID

__all__ = ["STREAM_CAP_RESPONSE", "StreamCap"]

#: What a client refused a stream waits before trying again (s).
RETRY_AFTER_SECONDS = 5


def _too_many(most: int | str) -> str:
    return f"too many open event streams: at most {most} per caller; close one first"


#: The OpenAPI entry of a stream refused by the cap.
STREAM_CAP_RESPONSE: dict[int, ResponseSpec] = {429: problem_spec(
    429,
    "The caller holds as many event streams open as allowed (`too-many-streams`, "
    "`DISPUTEDESK_MAX_STREAMS`), or sends requests faster than its role's rate "
    "(`too-many-requests`); see `Retry-After`.",
    example=Example(summary="One stream too many", value=msgspec.to_builtins(Problem(
        type=PROBLEM_BASE + "too-many-streams", title="Too Many Requests", status=429,
        detail=_too_many(10), instance="/v1/moderation/queue/stream",
        request_id=EXAMPLE_REQUEST_ID,
    ))),
)}


class StreamCap:
    """Open streams per caller, at most ``most`` each (0: no cap)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def open_for(self, actor: Actor) -> int:
        with self._lock:
            return self._open[_key(actor)]

    def hold(self, actor: Actor, messages: AsyncIterator[ServerSentEventMessage]
             ) -> AsyncIterator[ServerSentEventMessage]:
        """``messages``, holding one of ``actor``'s places while they flow; 429 when the
        caller holds every place already."""
        key = _key(actor)
        with self._lock:
            if self.most and self._open[key] >= self.most:
                raise LimitReached(
                    _too_many(self.most),
                    status_code=429,
                    code="too-many-streams",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            self._open[key] += 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                self._open[key] -= 1
                if self._open[key] <= 0:
                    del self._open[key]

        held = _held(messages, release)
        weakref.finalize(held, release)
        return held


def _key(actor: Actor) -> str:
    return f"{actor.role}:{actor.id}"


async def _held(messages: AsyncIterator[ServerSentEventMessage], release: Callable[[], None]
                ) -> AsyncIterator[ServerSentEventMessage]:
    try:
        async for message in messages:
            yield message
    finally:
        release()
