"""Start the projections inside a process (``serve``) or as a worker (``project``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from application.disputes import DisputeDesk
from application.projections.engine import DEFAULT_BATCH_SIZE
from application.projections.ports import ReadModelStore
from application.projections.source import ApplicationSource
from application.projections.worker import Worker, start_worker
from infrastructure.log_reader import log_reader_for
from infrastructure.settings import Settings
from infrastructure.stores import open_store

_running: dict[int, Callable[[], None]] = {}
_guard = threading.Lock()


def event_table_of(app: DisputeDesk) -> tuple[str | None, str | None]:
    """(NOTIFY channel, ``schema.table``) of a PostgreSQL event store; (None, None) else."""
    recorder = app.recorder
    channel: str | None = getattr(recorder, "channel_name", None)
    table: str | None = getattr(recorder, "events_table_name", None)
    schema: str | None = getattr(getattr(recorder, "datastore", None), "schema", None)
    if channel is None or table is None:
        return None, None
    return channel, f"{schema or 'public'}.{table}"


def store_opener(app: DisputeDesk, settings: Settings) -> Callable[[], ReadModelStore]:
    """Opens a writer's store connection (listening for new events on PostgreSQL)."""
    url = settings.database
    channel, events_table = event_table_of(app)

    def opener() -> ReadModelStore:
        return open_store(
            url, application_name=app.name, channel=channel, events_table=events_table
        )

    return opener


def projection_source(app: DisputeDesk) -> ApplicationSource:
    """The application's log as the projections read it (rows read the fast way)."""
    return ApplicationSource(app, log_reader_for(app))


def make_worker(
    app: DisputeDesk,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    poll_interval: float = 0.2,
    name: str = "projections",
) -> Worker:
    return Worker(
        projection_source(app),
        store_opener(app, settings),
        batch_size=batch_size,
        poll_interval=poll_interval,
        name=name,
    )


def start_projections(
    app: DisputeDesk, settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Callable[[], None]:
    """Follow the event log in a background thread of this process.

    Returns a function that stops the thread (call it at shutdown). Idempotent
    per application object: a second call while it runs returns a function that
    does nothing. If another process (``disputedesk project``) is the active
    worker, this one waits as a standby.
    """
    key = id(app)
    with _guard:
        if key in _running:
            return _nothing
        stop_worker = start_worker(
            projection_source(app),
            store_opener(app, settings),
            batch_size=batch_size,
            poll_interval=0.2,
            name="serve",
        )

        def stop() -> None:
            with _guard:
                if _running.get(key) is stop:
                    del _running[key]
            stop_worker()

        _running[key] = stop
        return stop


def _nothing() -> None:
    return None
