"""Per-caller request rates: a request over its role's rate is 429 with ``Retry-After``.

Runs after the bearer check, so a request is counted against the caller its
token names (role and id); a request that needs no token (the console, which
signs in by its session) is counted by the client's address. Probes, ``/metrics``
and the OpenAPI pages are never limited. Where the rates are counted and what
happens when Redis fails: :mod:`infrastructure.rate_limiter`.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.dispute import Actor
from infrastructure.limit_settings import ANONYMOUS
from infrastructure.rate_limiter import RateLimiter, Refusal
from interface.http.errors import LimitReached
from interface.http.metrics import QUIET

__all__ = ["RateLimitMiddleware", "caller_of"]

#: Paths never limited besides the ``QUIET`` routes (probes, ``/metrics``): the API docs.
UNLIMITED_PREFIXES = ("/schema",)


def caller_of(scope: Scope) -> tuple[str, str]:
    """(the rate's name, the caller's key): the role and the token's subject, else
    ``anonymous`` and the client's address."""
    actor = scope.get("user")
    if isinstance(actor, Actor):
        return actor.role, f"{actor.role}:{actor.id}"
    client = scope.get("client")
    return ANONYMOUS, f"address:{client[0] if client else 'unknown'}"


def _unlimited(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    if handler is not None and getattr(handler, "opt", {}).get(QUIET):
        return True
    return str(scope.get("path", "")).startswith(UNLIMITED_PREFIXES)


def refused(refusal: Refusal) -> LimitReached:
    """The 429 of a request over its rate, with ``Retry-After`` and ``RateLimit-*``."""
    return LimitReached(
        f"too many requests: at most {refusal.rate} for this caller; retry after "
        f"{refusal.retry_after}s",
        status_code=429,
        code="too-many-requests",
        headers={
            "Retry-After": str(refusal.retry_after),
            "RateLimit-Limit": str(refusal.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(refusal.retry_after),
        },
    )


class RateLimitMiddleware:
    """A plain ASGI middleware (Litestar builds it with ``app=``), inside the bearer check."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and not _unlimited(scope):
            refusal = await self.limiter.check(*caller_of(scope))
            if refusal is not None:
                raise refused(refusal)
        await self.app(scope, receive, send)
