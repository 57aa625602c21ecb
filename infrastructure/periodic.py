"""Run a small job every so often in a background thread, until told to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable

from infrastructure.logging import get_logger

log = get_logger("disputedesk.periodic")


def every(interval: float, job: Callable[[], object], name: str) -> Callable[[], None]:
    """Run ``job`` every ``interval`` seconds (first after one interval); returns ``stop``.

    A failing run (the database away for a moment) is logged and tried again at
    the next tick: the loop never dies silently.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                job()
            except Exception as error:  # keep going whatever one run met
                log.warning("periodic.failed", job=name, error=str(error),
                            error_type=type(error).__name__)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()

    def stop_running() -> None:
        stop.set()
        thread.join(timeout=5)

    return stop_running
