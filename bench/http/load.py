"""A bounded load generator: N connections, each sending requests until a deadline.

``stagger`` opens the connections that many seconds apart instead of all at
once: a server whose workers share one listening socket (``serve --workers
N``) otherwise may accept a burst of new connections in whichever worker woke
first, and the run then measures one worker. ``measuring`` is called once, as
the measured window opens (after ``warmup``), for a caller that reads
counters (CPU time) over that window only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    json: Any = None


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    error_kinds: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "error_kinds": dict(self.error_kinds),
        }


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _run(
    make_request: Callable[[int], Request], connections: int, warmup: float, duration: float,
    stagger: float = 0.0, measuring: Callable[[], None] | None = None,
) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    error_kinds: dict[str, int] = {}
    errors = 0
    counter = itertools.count()
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration

        async def worker(index: int) -> None:
            nonlocal errors
            await asyncio.sleep(index * stagger)
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                request = make_request(next(counter))
                try:
                    async with session.request(
                        request.method, request.url, headers=request.headers, json=request.json
                    ) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status = -1
                    kind = type(error).__name__
                    error_kinds[kind] = error_kinds.get(kind, 0) + 1
                done = time.perf_counter()
                if sent >= measure_from and done <= stop_at:
                    latencies.append(done - sent)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status < 0 or status >= 500:
                        errors += 1

        if measuring is not None:
            asyncio.get_running_loop().call_later(warmup, measuring)
        await asyncio.gather(*(worker(i) for i in range(connections)))
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        seconds=duration,
        rps=len(latencies) / duration,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        statuses=statuses,
        error_kinds=error_kinds,
    )


def run_load(
    make_request: Callable[[int], Request],
    *,
    connections: int = 32,
    warmup: float = 1.0,
    duration: float = 5.0,
    stagger: float = 0.0,
    measuring: Callable[[], None] | None = None,
) -> LoadResult:
    run = _run(make_request, connections, warmup, duration, stagger, measuring)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with litestar[standard]
        return asyncio.run(run)
    return uvloop.run(run)
