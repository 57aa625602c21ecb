"""The exceptions that mean "the database cannot be reached right now".

Interfaces answer these with "retry shortly" (HTTP 503) rather than a failure.
"""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool
from eventsourcing import persistence

STORE_OUTAGES: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    persistence.OperationalError,
    persistence.InterfaceError,
    sqlite3.OperationalError,
)
