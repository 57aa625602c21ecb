"""Evidence files' bytes, kept beside the events: the blob stores.

SQLite: files in a directory next to the database (``var/disputedesk.db`` keeps them
in ``var/disputedesk-evidence/``), each written to a temporary file, flushed to disk
and renamed into place, so a blob is whole or absent. PostgreSQL: rows of the table
``evidence_blob_chunks`` in the events' database (:mod:`infrastructure.postgres_blobs`).

Both stream: a blob goes in and comes out a chunk at a time, never whole in memory.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from application.evidence_files import BlobMissing, BlobStore, Measured, StoredBlob
from infrastructure.database_url import DatabaseURL, psycopg_conninfo
from infrastructure.postgres_blobs import PostgresBlobStore
from infrastructure.private_files import PRIVATE_FILE_MODE, private_directory

__all__ = [
    "DiskBlobStore", "LazyBlobStore", "PostgresBlobStore", "blob_directory", "open_blob_store"
]

#: How many bytes a download reads at a time.
READ_CHUNK = 64 * 1024
#: Where writes in progress are; a name no blob id can take.
INCOMING = ".incoming"
#: A write left in ``INCOMING`` longer than this was cut short by a crash: removed.
ABANDONED_AFTER = 24 * 3600.0
_BLOB_ID = re.compile(r"^[0-9a-f]{32}$")


def blob_directory(database: Path) -> Path:
    """Where the evidence files of the SQLite database ``database`` are kept."""
    return database.with_name(f"{database.stem}-evidence")


class DiskBlobStore:
    """One file per blob under ``root``, in subdirectories by the id's first two digits."""

    def __init__(self, root: Path) -> None:
        self.root = private_directory(root)
        self._incoming = private_directory(root / INCOMING)
        self._remove_abandoned()

    def write(self, chunks: Iterable[bytes], limit: int) -> StoredBlob:
        blob_id = uuid.uuid4().hex
        measured = Measured(chunks, limit)
        partial = self._incoming / f"{blob_id}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in measured:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            final = self._path(blob_id)
            private_directory(final.parent)
            os.replace(partial, final)
            _fsync_directory(final.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return measured.stored(blob_id)

    def open(self, blob_id: str) -> Iterator[bytes]:
        try:
            source = open(self._path(blob_id), "rb")  # noqa: SIM115 - closed by _read
        except (FileNotFoundError, NotADirectoryError):
            raise BlobMissing(blob_id) from None
        return _read(source)

    def delete(self, blob_id: str) -> None:
        try:
            self._path(blob_id).unlink(missing_ok=True)
        except BlobMissing:
            return

    def _path(self, blob_id: str) -> Path:
        if not _BLOB_ID.match(blob_id):
            raise BlobMissing(blob_id)
        return self.root / blob_id[:2] / blob_id

    def _remove_abandoned(self) -> None:
        horizon = time.time() - ABANDONED_AFTER
        for leftover in self._incoming.glob("*.part"):
            try:
                if leftover.stat().st_mtime < horizon:
                    leftover.unlink()
            except FileNotFoundError:
                continue


def _read(source: BinaryIO) -> Iterator[bytes]:
    with source:
        while chunk := source.read(READ_CHUNK):
            yield chunk


def _fsync_directory(path: Path) -> None:
    """Make a rename in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_blob_store(url: DatabaseURL) -> BlobStore:
    """The blob store beside the events' database that ``url`` names."""
    if url.is_sqlite:
        assert url.sqlite_path is not None
        return DiskBlobStore(blob_directory(url.sqlite_path))
    return PostgresBlobStore(psycopg_conninfo(url))


class LazyBlobStore:
    """The blob store beside ``url``'s events, opened (its directory or table made) at
    its first use: a process that never touches evidence files never makes them."""

    def __init__(self, url: DatabaseURL) -> None:
        self._url = url
        self._store: BlobStore | None = None
        self._opening = threading.Lock()

    def _opened(self) -> BlobStore:
        store = self._store
        if store is None:
            with self._opening:
                if self._store is None:
                    self._store = open_blob_store(self._url)
                store = self._store
        return store

    def write(self, chunks: Iterable[bytes], limit: int) -> StoredBlob:
        return self._opened().write(chunks, limit)

    def open(self, blob_id: str) -> Iterator[bytes]:
        return self._opened().open(blob_id)

    def delete(self, blob_id: str) -> None:
        self._opened().delete(blob_id)
