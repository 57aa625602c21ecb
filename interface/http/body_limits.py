"""How large a request body may be, per route, in one table: 413 past it.

A body whose ``Content-Length`` says it is too large is refused before a byte of
it is read; a body sent without one (chunked) is counted as it is read and
refused once it runs over. Routes that size their own body (evidence uploads,
by the case's policy, as they stream in) are left to do so.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from interface.http.errors import LimitReached

__all__ = ["BODY_LIMITS", "DEFAULT_BODY_LIMIT", "BodyLimitMiddleware", "body_limit_of"]

KIB = 1024
MIB = 1024 * KIB
#: A JSON command: a message, a ruling, an order.
DEFAULT_BODY_LIMIT = 64 * KIB
#: (a route's path template, or the start of one; the most bytes its body may hold;
#: None: the route reads and sizes its body itself). The first match wins.
BODY_LIMITS: tuple[tuple[str, int | None], ...] = (
    ("/v1/orders/batch", MIB),  # up to 1,000 orders (as much as a key may store)
    # A JSON body up to 1 MiB, an upload up to the policy's file limit (evidence.py).
    ("/v1/disputes/{dispute_id}/evidence", None),
    ("/v1/policies", 1 * MIB),  # a policy document
    ("/v1/simulations", 1 * MIB),  # a policy to try, with its cases
)


def body_limit_of(template: str) -> int | None:
    """The most bytes a body sent to the route ``template`` may hold (None: its own)."""
    for prefix, limit in BODY_LIMITS:
        if template == prefix or template.startswith(prefix.rstrip("/") + "/"):
            return limit
    return DEFAULT_BODY_LIMIT


def too_large(limit: int) -> LimitReached:
    return LimitReached(
        f"the request body may hold at most {limit:,} bytes on this route",
        status_code=413,
        code="payload-too-large",
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """A plain ASGI middleware (Litestar builds it with ``app=``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        limit = body_limit_of(str(scope.get("path_template") or scope.get("path", "")))
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise too_large(limit)
        received = 0

        async def counted() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, receive if declared is not None else counted, send)
