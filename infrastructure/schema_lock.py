"""Serialise event-store table creation across processes.

eventsourcing creates its PostgreSQL tables and indexes when an application is
constructed. Two processes starting at once (``serve`` and a ``project`` worker,
or two sweepers) can then collide in the catalogue ("tuple concurrently
updated"). Holding a session advisory lock while the application is built makes
the second process wait for the first instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from infrastructure.database_url import DatabaseURL, psycopg_conninfo

SCHEMA_LOCK_NAME = "disputedesk:event-store:setup"


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit PostgreSQL advisory-lock key for a lock name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def schema_lock_key() -> int:
    return advisory_lock_key(SCHEMA_LOCK_NAME)


@contextmanager
def event_store_setup_lock(url: DatabaseURL) -> Iterator[None]:
    """Hold the setup lock on PostgreSQL; SQLite needs none (its writer lock suffices)."""
    if not url.is_postgres:
        yield
        return
    with psycopg.connect(psycopg_conninfo(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (schema_lock_key(),))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (schema_lock_key(),))
