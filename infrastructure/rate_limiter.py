"""Request rates counted with the ``limits`` library: in Redis when one is configured
(shared by every worker and host), else in this process's memory.

A rate store that is down or slow must not cost the API its answers: every call
to Redis is bounded (:data:`REDIS_TIMEOUT`), and when one fails the request is let
through (fail open), a warning is logged and counted, and Redis is left alone for
:data:`PAUSE_SECONDS` before it is asked again, so that a hanging Redis adds its
timeout to one request in a while rather than to every request.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import limits
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import CollectorRegistry, Counter

from infrastructure.limit_settings import LimitSettings
from infrastructure.logging import get_logger

__all__ = ["PAUSE_SECONDS", "REDIS_TIMEOUT", "RateLimiter", "Refusal", "rate_limit_backend"]

#: The longest one call to Redis may take (s), connecting included.
REDIS_TIMEOUT = 0.25
#: After Redis failed, requests pass uncounted this long (s) before it is tried again.
PAUSE_SECONDS = 5.0

log = get_logger("disputedesk.limits")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request over its rate: the rate, and when to try again."""

    rate: str
    limit: int
    retry_after: int


class RateLimiter:
    """Counts each caller's requests against its rate; says when one is over it."""

    def __init__(self, settings: LimitSettings, registry: CollectorRegistry | None = None
                 ) -> None:
        self.settings = settings
        self._items = {name: limits.parse(rate) for name, rate in settings.rates}
        self._storage: Storage = _storage(settings)
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        self._paused_until = 0.0
        self.fail_open = Counter(
            "disputedesk_rate_limit_fail_open",
            "Requests let through uncounted because the rate store (Redis) failed",
            registry=registry,
        )

    @property
    def shared(self) -> bool:
        """Rates are counted in Redis, across workers and hosts."""
        return self.settings.redis_url is not None

    def describe(self) -> str:
        return rate_limit_backend(self.settings)

    async def check(self, name: str, key: str) -> Refusal | None:
        """Count one request of ``key`` (a caller) against the rate of ``name`` (a role or
        ``anonymous``); a :class:`Refusal` when it is over."""
        item = self._items.get(name)
        if item is None or time.monotonic() < self._paused_until:
            return None
        try:
            async with asyncio.timeout(2 * REDIS_TIMEOUT):
                if await self._strategy.hit(item, name, key):
                    return None
                stats = await self._strategy.get_window_stats(item, name, key)
        except Exception as error:  # any failure of the store: fail open
            self._failed(error)
            return None
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Refusal(self.settings.rate_of(name) or str(item), item.amount, retry_after)

    def _failed(self, error: Exception) -> None:
        self.fail_open.inc()
        if time.monotonic() < self._paused_until:
            return
        self._paused_until = time.monotonic() + PAUSE_SECONDS
        log.warning(
            "rate_limit.store_unavailable",
            error_type=type(error).__name__,
            error=str(error)[:200],
            detail=f"the rate store did not answer: requests pass uncounted for "
            f"{PAUSE_SECONDS:g}s, then it is tried again",
        )


def rate_limit_backend(settings: LimitSettings) -> str:
    """Where request rates are counted, in a phrase (``serve`` prints it)."""
    if not settings.rate_limited:
        return "off (DISPUTEDESK_RATE_LIMITS=off)"
    if settings.redis_url is not None:
        return f"shared through Redis at {settings.redis_redacted()}"
    return "per process (set DISPUTEDESK_REDIS_URL to share them across workers and hosts)"


def _storage(settings: LimitSettings) -> Storage:
    if settings.redis_url is None:
        return MemoryStorage()
    return RedisStorage(
        "async+" + settings.redis_url,
        implementation="redispy",
        key_prefix=settings.redis_prefix,
        wrap_exceptions=True,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )
