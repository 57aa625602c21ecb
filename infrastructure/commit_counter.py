"""Tell, without a query, whether anything was committed to the SQLite event store.

In WAL mode every commit, by any connection of any process, rewrites the
header of the WAL index, which SQLite keeps in the ``-shm`` file beside the
database (its layout is in SQLite's "WAL-mode File Format", section "The
WAL-Index Header": a version, an "initialised" flag, a change counter, the
last valid frame and the WAL's salts, written twice in a row). A commit
returns only after that header is written, so a copy of it taken afterwards
differs from one taken before. Reading it is one ``os.pread`` of 96 bytes,
several times cheaper than ``PRAGMA data_version``, which, like every SQLite
call, also takes SQLite's locks (why that matters: ``docs/decisions.md``,
"Serving").

That layout belongs to SQLite's VFS, not to its public interface, so it is
only trusted while it looks as expected: both copies of the header equal,
the known version, the "initialised" flag set. Whenever it does not (a short
or unreadable file, another layout, a header being rewritten), the answer of
that call comes from ``PRAGMA data_version`` on a connection of our own, as it
does outside WAL mode. The file is read, never mapped: a mapping of a file
someone truncated kills the process with SIGBUS, a read just comes back short.
(SQLite's own connections do map it: a ``-shm`` truncated under a process that
uses the store kills that process inside SQLite, whatever this module does.)
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from collections.abc import Hashable
from pathlib import Path
from uuid import UUID

from infrastructure.private_files import private_sqlite_file

__all__ = ["SQLiteCommitCounter"]

#: One copy of the header; the index begins with two.
WAL_INDEX_HEADER_SIZE = 48
#: ``iVersion`` of every WAL index since SQLite 3.7.0.
WAL_INDEX_VERSION = 3007000
_VERSION = struct.pack("=I", WAL_INDEX_VERSION)
_IS_INIT_OFFSET = 12


def _valid_header(data: bytes) -> bool:
    """Both copies of the header present, equal, of the known version, initialised."""
    size = WAL_INDEX_HEADER_SIZE
    return (
        len(data) == 2 * size
        and data[:4] == _VERSION
        and data[_IS_INIT_OFFSET] == 1
        and data[:size] == data[size:]
    )


class SQLiteCommitCounter:
    def __init__(self, path: str | Path, lock_timeout: float = 5.0) -> None:
        self._path = Path(path)
        private_sqlite_file(self._path)  # the first to open it: a new store is made private
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=lock_timeout
        )
        self._lock = threading.Lock()
        self._shm: int | None = None  # a read-only descriptor of the -shm file

    @property
    def reads_memory(self) -> bool:
        """Whether stamps come from the WAL index's header (no query) while it looks right."""
        return self._shm is not None

    def peek(self) -> Hashable | None:
        """The stamp when the WAL index's header tells it; None when only a query could."""
        shm = self._shm
        if shm is None:
            return None
        try:
            data = os.pread(shm, 2 * WAL_INDEX_HEADER_SIZE, 0)
        except (OSError, ValueError):  # closed meanwhile, or unreadable
            return None
        if not _valid_header(data):
            return None
        return data[:WAL_INDEX_HEADER_SIZE]

    def same_for(self, dispute_id: UUID, earlier: Hashable, now: Hashable) -> bool:
        """The WAL index tells that something was committed, not to which case."""
        return earlier == now

    def stamp(self) -> Hashable | None:
        """Equal stamps: nothing was committed in between. None: cannot tell."""
        found = self.peek()
        if found is not None:
            return found
        with self._lock:
            try:
                (version,) = self._conn.execute("PRAGMA data_version").fetchone()
                if self._shm is None:
                    self._shm = self._open_wal_index()
            except sqlite3.Error:
                return None  # closed, or the file is unreadable: the caller asks the store
        # The index may have just been opened: a stamp of the kind later calls give.
        found = self.peek()
        if found is not None:
            return found
        # A stamp of another kind than the last one differs from it: the caller
        # then asks the store, which is always correct.
        return ("data_version", int(version))

    def _open_wal_index(self) -> int | None:
        """A read-only descriptor of the WAL index; None unless the store is in WAL mode.

        Called after a read on our connection, which opened the index if there is one.
        """
        (mode,) = self._conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            return None
        try:
            shm = os.open(f"{self._path}-shm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.pread(shm, 2 * WAL_INDEX_HEADER_SIZE, 0)
        except OSError:
            data = b""
        if not _valid_header(data):
            os.close(shm)
            return None
        return shm

    def close(self) -> None:
        with self._lock:
            shm, self._shm = self._shm, None
            if shm is not None:
                os.close(shm)
            self._conn.close()
