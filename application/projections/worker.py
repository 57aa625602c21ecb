"""The projection worker: follow the notification log forever, as the one active
runner or as a standby.

It holds the ``runner`` lock while active (a PostgreSQL advisory lock, or a
file lock on SQLite); a second worker waits as a standby and takes over when
the first stops or dies. Whoever runs a worker decides whether it may wait:
``run(standby=False)`` gives up at once, returning ``Outcome.OTHER_ACTIVE``,
when another worker holds the lock (``disputedesk project --once``).

Any failure (a lost connection, a terminated backend, a locked database) is
logged, the store is reopened and the worker carries on from the stored
position after a short back-off: it never stalls silently.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

import structlog

from application.projections.engine import DEFAULT_BATCH_SIZE, DEFAULT_CACHE_SIZE
from application.projections.ports import EventSource, ReadModelStore
from application.projections.runner import RUNNER_LOCK, Projector

log = structlog.get_logger("disputedesk.projections")

MAX_BACKOFF = 10.0


class Outcome(enum.Enum):
    """How ``Worker.run`` ended."""

    STOPPED = "stopped"  # ``stop`` was set
    CAUGHT_UP = "caught_up"  # ``once``: the views reached the head of the log
    OTHER_ACTIVE = "other_active"  # ``standby=False``: another worker holds the lock


class Worker:
    def __init__(
        self,
        source: EventSource,
        open_store: Callable[[], ReadModelStore],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        poll_interval: float = 0.2,
        standby_interval: float = 1.0,
        name: str = "projections",
    ) -> None:
        self.source = source
        self.open_store = open_store
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.log = log.bind(worker=name)
        self.active = threading.Event()

    def run(
        self, stop: threading.Event, *, once: bool = False, standby: bool = True
    ) -> Outcome:
        """Follow until ``stop`` is set (``once``: until caught up with the head).

        ``standby``: while another worker holds the runner lock, wait for it to
        stop and then take over (the default); if False, return
        ``Outcome.OTHER_ACTIVE`` instead, without projecting anything.
        """
        store: ReadModelStore | None = None
        projector: Projector | None = None
        backoff = 0.5
        standby_logged = False
        try:
            while not stop.is_set():
                try:
                    if store is None:
                        store = self.open_store()
                    if projector is None:
                        if not store.try_lock(RUNNER_LOCK):
                            if not standby:
                                return Outcome.OTHER_ACTIVE
                            if not standby_logged:
                                self.log.info("projections.standby",
                                              detail="another worker is active")
                                standby_logged = True
                            stop.wait(self.standby_interval)
                            continue
                        projector = Projector(
                            self.source, store,
                            batch_size=self.batch_size, cache_size=self.cache_size,
                        )
                        self.active.set()
                        standby_logged = False
                        self.log.info("projections.active", positions=projector.positions())
                    projector.handover()
                    n = projector.step()
                    if n >= self.batch_size:
                        n += projector.catch_up()  # far behind: race to the head
                    backoff = 0.5
                    if n == 0:
                        if once:
                            return Outcome.CAUGHT_UP
                        if store.notifies:
                            store.wait_for_events(self.poll_interval, stop)
                        else:
                            stop.wait(self.poll_interval)
                except Exception as error:  # any failure: log, reopen, go on
                    self.log.warning(
                        "projections.failed",
                        error=f"{type(error).__name__}: {error}".strip(),
                        retry_in=backoff,
                        exc_info=not _is_connection_error(error),
                    )
                    self.active.clear()
                    projector = None
                    if store is not None:
                        _close_quietly(store)
                        store = None
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    if store is None and not stop.is_set():
                        self.log.info("projections.reconnecting")
            return Outcome.STOPPED
        finally:
            self.active.clear()
            if store is not None:
                _close_quietly(store)


def _is_connection_error(error: BaseException) -> bool:
    name = type(error).__name__
    return name in {"OperationalError", "InterfaceError", "StoreUnavailable"}


def _close_quietly(store: ReadModelStore) -> None:
    try:
        store.close()
    except Exception:  # the connection may already be gone
        log.debug("projections.close_failed", exc_info=True)


def start_worker(
    source: EventSource,
    open_store: Callable[[], ReadModelStore],
    **options: object,
) -> Callable[[], None]:
    """Run a ``Worker`` in a daemon thread; returns a function that stops it."""
    stop = threading.Event()
    worker = Worker(source, open_store, **options)  # type: ignore[arg-type]
    thread = threading.Thread(
        target=worker.run, args=(stop,), name="disputedesk-projections", daemon=True
    )
    thread.start()

    def stop_worker() -> None:
        stop.set()
        thread.join(timeout=30)

    return stop_worker
