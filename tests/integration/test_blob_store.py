"""The blob stores of evidence files, on disk (SQLite) and in PostgreSQL: bytes in and out
a chunk at a time, measured on the way, and nothing left of a write that failed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from application.evidence_files import BlobMissing, BlobStore, BlobTooLarge
from infrastructure.blob_store import INCOMING, DiskBlobStore, blob_directory, open_blob_store
from infrastructure.database_url import parse_database_url
from infrastructure.postgres_blobs import BLOCK, TABLE

DATA = os.urandom(3 * BLOCK + 1234)


def chunks(data: bytes, size: int = 50_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def held(store: BlobStore, database_url: str) -> int:
    """Blobs (and writes in progress) the store holds."""
    url = parse_database_url(database_url)
    if url.sqlite_path is not None:
        return sum(1 for p in blob_directory(url.sqlite_path).rglob("*") if p.is_file())
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(DISTINCT blob_id) FROM {TABLE}").fetchone()
    return int(row[0]) if row else 0


def test_a_blob_goes_in_and_comes_out_a_chunk_at_a_time(database_url: str) -> None:
    store = open_blob_store(parse_database_url(database_url))
    blob = store.write(chunks(DATA), limit=len(DATA))
    assert blob.sha256 == hashlib.sha256(DATA).hexdigest()
    assert blob.size == len(DATA) and blob.head == DATA[:8192]
    parts = list(store.open(blob.blob_id))
    assert b"".join(parts) == DATA and max(len(p) for p in parts) <= BLOCK
    store.delete(blob.blob_id)
    store.delete(blob.blob_id)  # twice: nothing happens
    with pytest.raises(BlobMissing):
        store.open(blob.blob_id)
    assert held(store, database_url) == 0


def test_a_write_past_its_limit_or_cut_short_leaves_nothing(database_url: str) -> None:
    store = open_blob_store(parse_database_url(database_url))
    with pytest.raises(BlobTooLarge):
        store.write(chunks(DATA), limit=len(DATA) - 1)

    def broken() -> Iterator[bytes]:
        yield DATA[:BLOCK + 10]
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        store.write(broken(), limit=len(DATA))
    assert held(store, database_url) == 0


def test_a_download_closed_early_lets_its_blob_go(database_url: str) -> None:
    store = open_blob_store(parse_database_url(database_url))
    blob = store.write(chunks(DATA), limit=len(DATA))
    for _ in range(12):  # more than the PostgreSQL store's connections at once
        reading = store.open(blob.blob_id)
        assert next(reading)
        reading.close()  # type: ignore[attr-defined]
    store.delete(blob.blob_id)


def test_only_blob_ids_name_files(tmp_path: Path) -> None:
    store = DiskBlobStore(blob_directory(tmp_path / "events.db"))
    for name in ("../events.db", INCOMING, "not-hex"):
        with pytest.raises(BlobMissing):
            store.open(name)
        store.delete(name)
