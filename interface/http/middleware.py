"""Request ids, one log line per request, and a last net for exceptions.

Runs outside the authentication middleware, so refused requests (401) are
logged and carry ``X-Request-ID`` like any other.
"""

from __future__ import annotations

import random
import time
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.dispute import Actor, dispute_id_for
from infrastructure.logging import get_logger
from interface.http.errors import render_exception

REQUEST_ID_HEADER = "x-request-id"
_MAX_ID_LENGTH = 128
# Request ids need to be unique, not secret: os.urandom (uuid4) costs ~90 us a call here.
_ids = random.Random()

log = get_logger("disputedesk.http")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= _MAX_ID_LENGTH and text.isascii() and text.isprintable():
                return text
            return None
    return None


def request_id_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        request_id = _incoming_request_id(scope) or f"{_ids.getrandbits(128):032x}"
        state["request_id"] = request_id
    return request_id


async def add_request_id(message: Message, scope: Scope) -> None:
    """``before_send`` hook: every response, routed or not, carries ``X-Request-ID``.

    Async because Litestar would run a sync hook in a worker thread, once per message.
    """
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        if REQUEST_ID_HEADER not in headers:
            headers[REQUEST_ID_HEADER] = request_id_of(scope)


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


class RequestContextMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            try:
                await next_app(scope, receive, send_wrapper)
            except Exception as error:
                if response_started:
                    raise
                request: Request[Any, Any, Any] = Request(scope, receive)
                response = render_exception(request, error)
                asgi_response = response.to_asgi_response(app=None, request=request)
                await asgi_response(scope, receive, send_wrapper)
        finally:
            actor = scope.get("user")
            log.info(
                "http.request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                role=actor.role if isinstance(actor, Actor) else None,
                sub=actor.id if isinstance(actor, Actor) else None,
                dispute_id=_dispute_id(scope),
            )
            structlog.contextvars.reset_contextvars(**tokens)
