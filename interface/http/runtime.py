"""Process settings for a server that runs for a long time.

A server builds most of its heap at start-up (routes, schemas, the policy,
calendars, the store's connections) and keeps it for its whole life. Python's
full garbage collections walk every tracked object each time: with that heap
they paused every thread and set the 99th percentile latency of every route.
Freezing the start-up heap takes it out of those walks; nothing that was
garbage at start-up is kept, as a collection runs first.

Blocking handlers (commands, reads that ask the store) run in the event
loop's default thread pool. Its size bounds how many commands of a process
can share one commit (``application.group_commit``): Python's default, CPUs
+ 4, lets 6 in at a time on 2 cores. ``DISPUTEDESK_THREADS`` sets it; more
threads make larger groups under write-heavy traffic and cost the event loop
its turns under mixed traffic (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from infrastructure.logging import get_logger

#: The names of the pool's threads (in thread dumps and profiles).
THREAD_PREFIX = "disputedesk-handler"

log = get_logger("disputedesk.http")


def freeze_startup_heap() -> None:
    """Run once the app has started: collect, then exempt what is left from the GC."""
    gc.collect()
    gc.freeze()


def default_threads() -> int:
    """The size Python gives the loop's default pool (``ThreadPoolExecutor``'s default)."""
    return min(32, (os.cpu_count() or 1) + 4)


def thread_pool(size: int | None) -> Callable[[], None]:
    """A start-up hook giving the event loop a default thread pool of ``size`` threads
    (None: leave Python's default)."""

    def use_pool() -> None:
        if size is not None:
            asyncio.get_running_loop().set_default_executor(
                ThreadPoolExecutor(max_workers=size, thread_name_prefix=THREAD_PREFIX))
        log.info("http.threads", threads=size or default_threads(),
                 setting="DISPUTEDESK_THREADS" if size else "default", pid=os.getpid())

    return use_pool
