"""Tell, without a query, whether anything was committed to the SQLite event store.

In WAL mode every commit, by any connection of any process, rewrites the
header of the WAL index, which SQLite keeps in the ``-shm`` file beside the
database and every connection maps into memory (its layout is part of SQLite's
documented file formats: "WAL-mode File Format", section "The WAL-Index
Header"; it holds a change counter, the last valid frame and the WAL's salts).
A commit returns only after that header is written, so a copy of it taken
afterwards differs from one taken before. Reading it from our own read-only
mapping is a memory copy under the GIL: about 0.1 µs, where ``PRAGMA
data_version`` costs about 4 µs and, like every SQLite call, releases the GIL.
Under load each such release in a worker thread means waiting for the event
loop to hand the GIL back: one query per case read halved the requests a
server answered (see ``docs/decisions.md``, "Serving").

When the header cannot be mapped (not WAL mode, an unexpected layout), the
counter falls back to ``PRAGMA data_version`` on a connection of its own,
which changes whenever another connection commits. Our connection stays open
for the counter's life: SQLite never truncates or deletes the ``-shm`` file of
a database that a connection still has open.
"""

from __future__ import annotations

import mmap
import sqlite3
import struct
import threading
from collections.abc import Hashable
from pathlib import Path

from infrastructure.private_files import private_sqlite_file

__all__ = ["SQLiteCommitCounter"]

#: One copy of the header (the first of the two the index begins with).
WAL_INDEX_HEADER_SIZE = 48
#: ``iVersion`` of every WAL index since SQLite 3.7.0.
WAL_INDEX_VERSION = 3007000


class SQLiteCommitCounter:
    def __init__(self, path: str | Path, lock_timeout: float = 5.0) -> None:
        self._path = Path(path)
        private_sqlite_file(self._path)  # the first to open it: a new store is made private
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=lock_timeout
        )
        self._lock = threading.Lock()
        self._header: mmap.mmap | None = None

    @property
    def reads_memory(self) -> bool:
        """Whether stamps come from the mapped WAL index (no query)."""
        return self._header is not None

    def peek(self) -> Hashable | None:
        """The stamp when it is read from memory; None when only a query could tell."""
        header = self._header
        if header is None:
            return None
        try:
            return header[:WAL_INDEX_HEADER_SIZE]
        except ValueError:  # closed meanwhile
            return None

    def stamp(self) -> Hashable | None:
        """Equal stamps: nothing was committed in between. None: cannot tell."""
        if self._header is not None:
            return self.peek()
        with self._lock:
            try:
                (version,) = self._conn.execute("PRAGMA data_version").fetchone()
                if self._header is None:
                    self._header = self._map_wal_index()
            except sqlite3.Error:
                return None  # closed, or the file is unreadable: the caller asks the store
        return int(version) if self._header is None else self.peek()

    def _map_wal_index(self) -> mmap.mmap | None:
        """The WAL index's header, mapped read-only; None unless the store is in WAL mode.

        Called after a read on our connection, which opened the index if there is one.
        """
        (mode,) = self._conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            return None
        try:
            with open(f"{self._path}-shm", "rb") as shm:
                header = mmap.mmap(shm.fileno(), WAL_INDEX_HEADER_SIZE, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        version, _, _, is_init = struct.unpack_from("=IIIB", header)
        if version != WAL_INDEX_VERSION or not is_init:
            header.close()
            return None
        return header

    def close(self) -> None:
        with self._lock:
            header, self._header = self._header, None
            if header is not None:
                header.close()
            self._conn.close()
