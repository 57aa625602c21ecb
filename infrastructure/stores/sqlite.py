"""The SQLite read-model store: a separate file next to the events file, in WAL mode.

Writers take ``BEGIN IMMEDIATE``; readers read in WAL snapshots and never block
the writer. Named locks are ``flock`` locks on small files next to the views
file: released by the kernel when a process dies, so a killed worker never
leaves a stale lock.

The views file, its ``-wal`` and ``-shm`` files and the lock files are private
(0600), in a directory created 0700 if it is new.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from infrastructure.private_files import PRIVATE_FILE_MODE, private_sqlite_file
from infrastructure.sqlite_persistence import UnusableStore, check_usable, unusable_store
from infrastructure.stores.dialect import SQLITE, Dialect, identifier
from infrastructure.stores.reader import SqlReader
from infrastructure.stores.session import NestedTransactions, Row
from infrastructure.stores.writer import SqlWriter

BUSY_TIMEOUT_SECONDS = 30.0
CACHE_KIB = 32_768  # the writer's page cache: keeps the B-trees of large views in memory
READER_CACHE_KIB = 8_192  # per reading thread


def views_path(events_path: Path) -> Path:
    """``var/disputedesk.db`` -> ``var/disputedesk-views.db``."""
    return events_path.with_name(f"{events_path.stem}-views{events_path.suffix or '.db'}")


def connect(path: Path, *, cache_kib: int = CACHE_KIB) -> sqlite3.Connection:
    """A connection in WAL mode; UnusableStore when the file cannot serve (not a
    database, damaged, cannot be opened)."""
    private_sqlite_file(path)  # a new file (and directory) only its owner may read
    try:
        conn = sqlite3.connect(
            str(path), isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
        )
    except sqlite3.Error as error:
        _raise_if_unusable(path, error)
        raise
    try:
        # Switching a new file to WAL needs it alone and does not wait on a busy
        # handler: another process or thread opening it at that instant retries.
        for attempt in range(50):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if attempt == 49 or unusable_store(path, error) is not None:
                    raise
                time.sleep(0.02)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    except sqlite3.Error as error:
        conn.close()
        _raise_if_unusable(path, error)
        raise
    return conn


def _raise_if_unusable(path: Path, error: sqlite3.Error) -> None:
    """Raise UnusableStore from ``error`` if it says the file cannot serve."""
    if isinstance(error, UnusableStore):
        return  # the caller raises it as it is
    unusable = unusable_store(path, error)
    if unusable is not None:
        raise unusable from error


class SQLiteSession(NestedTransactions):
    dialect: Dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, *, write: bool) -> None:
        self.conn = conn
        self._begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def _run(self, sql: str) -> None:
        self.conn.execute(sql)


class SQLiteStore(SqlWriter):
    """One writer's connection (``ReadModelStore``)."""

    def __init__(self, path: Path, application_name: str) -> None:
        self.path = path
        self._conn = connect(path)
        try:
            check_usable(self._conn, path)  # a read-only file would fail only at a write
        except BaseException:
            self._conn.close()
            raise
        super().__init__(SQLiteSession(self._conn, write=True), application_name)
        self._locks: dict[str, int] = {}

    def _lock_path(self, name: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{identifier(name)}.lock")

    def try_lock(self, name: str) -> bool:
        if name in self._locks:
            return True
        fd = os.open(self._lock_path(name), os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._locks[name] = fd
        return True

    def unlock(self, name: str) -> None:
        fd = self._locks.pop(name, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def inflight_writers(self) -> frozenset[str]:
        return frozenset()  # one writer at a time: ids are committed in order

    @property
    def notifies(self) -> bool:
        return False

    def wait_for_events(self, timeout: float, stop: threading.Event) -> None:
        stop.wait(timeout)  # SQLite cannot notify: poll

    @property
    def overlap_writes(self) -> bool:
        # Every row bound and stepped takes the interpreter lock back from the
        # folding thread: a writer thread cost a rebuild more CPU than it overlapped.
        return False

    def clone(self) -> SQLiteStore:
        return SQLiteStore(self.path, self.application_name)

    def close(self) -> None:
        for name in list(self._locks):
            self.unlock(name)
        self._conn.close()


class SQLiteReader(SqlReader):
    """Thread-safe queries: one connection per thread, each read in one WAL snapshot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        super().__init__(self._session, (sqlite3.OperationalError,))

    def _session(self) -> AbstractContextManager[SQLiteSession]:
        session: SQLiteSession | None = getattr(self._local, "session", None)
        if session is None:
            conn = connect(self.path, cache_kib=READER_CACHE_KIB)
            with self._guard:
                self._all.append(conn)
            session = SQLiteSession(conn, write=False)
            self._local.session = session
        return _borrowed(session)

    def close(self) -> None:
        with self._guard:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


@contextmanager
def _borrowed(session: SQLiteSession) -> Iterator[SQLiteSession]:
    yield session
