"""Evidence files' bytes in PostgreSQL: the table ``evidence_blob_chunks``.

A blob is rows ``(blob_id, seq, data)`` of up to :data:`BLOCK` bytes each, written one
by one in a single transaction committed at the end: a blob is whole or absent (a
write cut short rolls back). It is read back through a server-side cursor, a few
rows at a time. The column is stored uncompressed (``STORAGE EXTERNAL``): images and
PDFs are compressed already.

Transfers use connections of their own, not the event store's pool: an upload holds
one for as long as its client takes to send the file. At most
:data:`MAX_TRANSFERS` run at once per process; one more waits up to
:data:`SLOT_WAIT` seconds, then hears "retry shortly" (503).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg

from application.evidence_files import BlobMissing, Measured, StoredBlob
from domain.errors import Contention

__all__ = ["BLOCK", "MAX_TRANSFERS", "TABLE", "PostgresBlobStore"]

TABLE = "evidence_blob_chunks"
#: The most bytes one row holds.
BLOCK = 256 * 1024
#: Rows a download's cursor fetches at a time.
ROWS_PER_FETCH = 2
MAX_TRANSFERS = 8
SLOT_WAIT = 5.0


class PostgresBlobStore:
    """Blobs in the database of ``conninfo`` (a libpq connection string)."""

    def __init__(self, conninfo: str, *, max_transfers: int = MAX_TRANSFERS) -> None:
        self._conninfo = conninfo
        self._slots = threading.BoundedSemaphore(max_transfers)
        with self._connection() as conn:
            # Several processes may start at once: one creates the table, the others wait.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
            row = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
            if row is None or row[0] is None:
                conn.execute(
                    f"CREATE TABLE {TABLE} (blob_id text NOT NULL, seq integer NOT NULL, "
                    "data bytea NOT NULL, PRIMARY KEY (blob_id, seq))"
                )
                conn.execute(f"ALTER TABLE {TABLE} ALTER COLUMN data SET STORAGE EXTERNAL")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of its own, in a transaction: committed when the block ends,
        rolled back if it raises."""
        if not self._slots.acquire(timeout=SLOT_WAIT):
            raise Contention("too many evidence files are moving at once; retry shortly")
        try:
            with psycopg.connect(self._conninfo, prepare_threshold=None) as conn:
                yield conn
        finally:
            self._slots.release()

    def write(self, chunks: Iterable[bytes], limit: int) -> StoredBlob:
        blob_id = uuid.uuid4().hex
        measured = Measured(chunks, limit)
        with self._connection() as conn:
            for seq, block in enumerate(_blocks(measured)):
                conn.execute(
                    f"INSERT INTO {TABLE} (blob_id, seq, data) VALUES (%s, %s, %s)",
                    (blob_id, seq, block),
                )
        return measured.stored(blob_id)

    def open(self, blob_id: str) -> Iterator[bytes]:
        stack = ExitStack()
        try:
            conn = stack.enter_context(self._connection())
            found = conn.execute(
                f"SELECT 1 FROM {TABLE} WHERE blob_id = %s AND seq = 0", (blob_id,)
            ).fetchone()
            if found is None:
                raise BlobMissing(blob_id)
        except BaseException:
            stack.close()
            raise
        return _rows(stack, conn, blob_id)

    def delete(self, blob_id: str) -> None:
        with self._connection() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE blob_id = %s", (blob_id,))


def _blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` regrouped into blocks of :data:`BLOCK` bytes (the last one shorter)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= BLOCK:
            yield bytes(pending[:BLOCK])
            del pending[:BLOCK]
    if pending:
        yield bytes(pending)


def _rows(stack: ExitStack, conn: psycopg.Connection[Any], blob_id: str) -> Iterator[bytes]:
    with stack:
        cursor = conn.cursor(name=f"blob_{blob_id}")
        cursor.itersize = ROWS_PER_FETCH
        cursor.execute(
            f"SELECT data FROM {TABLE} WHERE blob_id = %s ORDER BY seq", (blob_id,)
        )
        for (data,) in cursor:
            yield bytes(data)
