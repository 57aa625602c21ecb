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
    """Follow the event log in a background thread of this process; returns ``stop``.

    If another process (``disputedesk project``) is the active worker, this one
    waits as a standby. Each call starts a worker: the caller that owns the
    process's workers (:class:`Projections`) calls it once.
    """
    return start_worker(
        projection_source(app),
        store_opener(app, settings),
        batch_size=batch_size,
        poll_interval=0.2,
        name="serve",
    )


class Projections:
    """This process's projection worker, owned by whoever composes the process.

    :meth:`start` is idempotent (a second call while it runs does nothing) and
    :meth:`stop` ends it; nothing is kept anywhere but in this object.
    """

    def __init__(
        self, app: DisputeDesk, settings: Settings, *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self._app = app
        self._settings = settings
        self._batch_size = batch_size
        self._stop: Callable[[], None] | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = start_projections(
                    self._app, self._settings, batch_size=self._batch_size
                )

    def stop(self) -> None:
        with self._lock:
            stop, self._stop = self._stop, None
        if stop is not None:
            stop()
