"""Process settings for a server that runs for a long time.

A server builds most of its heap at start-up (routes, schemas, the policy,
calendars, the store's connections) and keeps it for its whole life. Python's
full garbage collections walk every tracked object each time: with that heap
they paused every thread and set the 99th percentile latency of every route.
Freezing the start-up heap takes it out of those walks; nothing that was
garbage at start-up is kept, as a collection runs first.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Run once the app has started: collect, then exempt what is left from the GC."""
    gc.collect()
    gc.freeze()
