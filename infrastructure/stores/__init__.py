"""Read-model stores for SQLite and PostgreSQL, chosen by the database URL.

- SQLite: a separate file next to the events file (``var/disputedesk.db`` ->
  ``var/disputedesk-views.db``), WAL mode.
- PostgreSQL: the events' database, tables prefixed ``rm_``.
"""

from __future__ import annotations

from application.projections.catalog import initial_versions
from application.projections.ports import ReadModelReader, ReadModelStore
from infrastructure.database_url import DatabaseURL, psycopg_conninfo
from infrastructure.stores.postgres import PostgresReader, PostgresStore
from infrastructure.stores.sqlite import SQLiteReader, SQLiteStore, views_path

__all__ = ["open_reader", "open_store", "views_path"]

APPLICATION_NAME = "disputedesk"


def open_store(
    url: DatabaseURL,
    *,
    application_name: str = APPLICATION_NAME,
    channel: str | None = None,
    events_table: str | None = None,
) -> ReadModelStore:
    """A writer's connection to the read-model store, its tables set up.

    PostgreSQL only: ``channel`` is the channel the event store NOTIFYs on (the
    eventsourcing recorder's ``channel_name``), to wake up on new events;
    ``events_table`` its events table (``schema.table``), to tell a hole in the
    notification ids that a transaction may still fill from one that is final.
    """
    store: SQLiteStore | PostgresStore
    if url.is_sqlite:
        assert url.sqlite_path is not None
        store = SQLiteStore(views_path(url.sqlite_path), application_name)
    else:
        store = PostgresStore(
            psycopg_conninfo(url), application_name, channel=channel, events_table=events_table
        )
    try:
        store.setup(initial_versions())
    except BaseException:
        store.close()
        raise
    return store


def open_reader(url: DatabaseURL) -> ReadModelReader:
    """The query side (thread-safe). Sets the store up first if it is new."""
    open_store(url).close()
    if url.is_sqlite:
        assert url.sqlite_path is not None
        return SQLiteReader(views_path(url.sqlite_path))
    return PostgresReader(psycopg_conninfo(url))
