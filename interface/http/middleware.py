"""Request ids, one access log line per request, request metrics, a last net for exceptions.

Runs outside the authentication middleware, so refused requests (401) are
logged, counted and carry ``X-Request-ID`` like any other. The ``http.request``
line is the access log (uvicorn's own is off, :mod:`infrastructure.logging`);
probes and scrapes (routes with the ``QUIET`` option) write it at debug.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.dispute import Actor, dispute_id_for
from infrastructure.logging import hot_logger
from interface.http.errors import render_exception
from interface.http.metrics import QUIET
from interface.http.query_redaction import redacted_query
from interface.http.request_ids import REQUEST_ID_HEADER, request_id_of

_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_TAGGED = "request_id_sent"  # in the scope's state: the response carries X-Request-ID
#: The route label of a request no route answered (404, 405): never the raw path.
UNMATCHED = "unmatched"

log = hot_logger("disputedesk.http")

#: Told of each answered request: (method, route template, status, seconds or None).
RequestObserver = Callable[[str, str, int, float | None], None]


def _ignore(method: str, route: str, status: int, seconds: float | None) -> None:
    return None


def request_id_sender(
    observe: RequestObserver = _ignore,
) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: every response, routed or not, carries ``X-Request-ID``.

    Routed responses already carry it (:class:`RequestContextMiddleware` adds it
    and says so in the scope's state); this covers what never reaches a route
    (404, 405), and logs and counts them. Async because Litestar would run a sync
    hook in a worker thread, once per message.
    """

    async def add_request_id(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start" and not scope.get("state", {}).get(_TAGGED):
            headers = message.get("headers")
            if headers is None or not _has_request_id(headers):
                _append_request_id(message, request_id_of(scope))
            if scope["type"] == ScopeType.HTTP:  # no route ran, so no middleware logged it
                status = message["status"]
                _log_request(scope, status, None, request_id=request_id_of(scope))
                observe(str(scope.get("method")), UNMATCHED, status, None)

    return add_request_id


add_request_id = request_id_sender()


def _has_request_id(headers: Any) -> bool:
    return any(name.lower() == _HEADER_BYTES for name, _ in headers)


def _append_request_id(message: Any, request_id: str) -> None:
    headers = message.get("headers")
    header = (_HEADER_BYTES, request_id.encode("latin-1"))
    if isinstance(headers, list):
        headers.append(header)
    else:
        message["headers"] = [*(headers or ()), header]


def _dispute_id(scope: Scope) -> str | None:
    state = scope.get("state", {})
    if isinstance(state.get("dispute_id"), str):
        return str(state["dispute_id"])
    params = scope.get("path_params") or {}
    if "dispute_id" in params:
        return str(params["dispute_id"])
    if "order_id" in params:
        return str(dispute_id_for(str(params["order_id"]).strip()))
    return None


class RequestContextMiddleware:
    """Request id, one log line per HTTP request, and a last net for exceptions.

    A plain ASGI middleware (Litestar builds it with ``app=``): it runs on every
    request, so it skips the per-call checks of Litestar's middleware base class.
    """

    def __init__(self, app: ASGIApp, observe: RequestObserver = _ignore) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = message.get("headers")
                if headers is None or not _has_request_id(headers):
                    _append_request_id(message, request_id)
                scope["state"][_TAGGED] = True
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as error:
                if response_started:
                    raise
                request: Request[Any, Any, Any] = Request(scope, receive)
                response = render_exception(request, error)
                asgi_response = response.to_asgi_response(app=None, request=request)
                await asgi_response(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            _log_request(scope, status, round(seconds * 1000, 3))
            structlog.contextvars.reset_contextvars(**tokens)
            route = scope.get("path_template") or UNMATCHED
            self.observe(str(scope.get("method")), route, status, seconds)


def _log_request(scope: Scope, status: int, duration_ms: float | None, **extra: str) -> None:
    """The one ``http.request`` line of a request (no duration where no route timed it)."""
    actor = scope.get("user")
    is_actor = isinstance(actor, Actor)
    handler = scope.get("route_handler")
    quiet = handler is not None and bool(getattr(handler, "opt", {}).get(QUIET))
    query = redacted_query(scope.get("query_string", b""))
    if query is not None:
        extra = {**extra, "query": query}
    (log.debug if quiet else log.info)(
        "http.request",
        method=scope.get("method"),
        path=scope.get("path"),
        route=scope.get("path_template"),
        status=status,
        pid=os.getpid(),  # which worker answered (``serve --workers N``)
        duration_ms=duration_ms,
        role=actor.role if is_actor else None,
        sub=actor.id if is_actor else None,
        dispute_id=_dispute_id(scope),
        **extra,
    )
