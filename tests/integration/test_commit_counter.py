"""The SQLite commit counter: a stamp changes with every commit, by anyone, and only then."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.commit_counter import SQLiteCommitCounter


def _store(path: Path, journal_mode: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal_mode}")
    conn.execute("CREATE TABLE IF NOT EXISTS events (n INTEGER)")
    return conn


class _NoQueries:
    """Stands in for the counter's connection: any query fails the test."""

    def execute(self, *_: object) -> None:
        raise AssertionError("the counter queried SQLite")

    def close(self) -> None:
        pass


def test_in_wal_mode_the_stamp_is_read_from_memory_and_follows_every_commit(
    tmp_path: Path,
) -> None:
    writer = _store(tmp_path / "e.db", "wal")
    counter = SQLiteCommitCounter(tmp_path / "e.db")
    try:
        first = counter.stamp()
        assert counter.reads_memory
        real_connection = counter._conn
        counter._conn = _NoQueries()  # type: ignore[assignment]
        before = counter.stamp()
        writer.execute("SELECT count(*) FROM events").fetchone()
        assert counter.stamp() == before  # a read commits nothing
        writer.execute("INSERT INTO events VALUES (1)")
        after = counter.stamp()
        assert after != before and after != first
        writer.execute("BEGIN")
        writer.execute("INSERT INTO events VALUES (2)")
        assert counter.stamp() == after  # not yet committed
        writer.execute("COMMIT")
        assert counter.stamp() != after
        counter._conn = real_connection
    finally:
        counter.close()
        writer.close()


def test_a_commit_by_another_process_changes_the_stamp(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    _store(path, "wal").close()
    counter = SQLiteCommitCounter(path)
    try:
        counter.stamp()
        before = counter.stamp()
        script = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('INSERT INTO events VALUES (1)'); c.close()"
        )
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60,
                       env={**os.environ})
        assert counter.reads_memory
        assert counter.stamp() != before
    finally:
        counter.close()


def test_a_wal_checkpoint_and_restart_still_change_the_stamp(tmp_path: Path) -> None:
    writer = _store(tmp_path / "e.db", "wal")
    counter = SQLiteCommitCounter(tmp_path / "e.db")
    try:
        counter.stamp()
        seen = {counter.stamp()}
        for n in range(5):
            writer.execute("INSERT INTO events VALUES (?)", (n,))
            writer.execute("PRAGMA wal_checkpoint(RESTART)")
            stamp = counter.stamp()
            assert stamp not in seen
            seen.add(stamp)
    finally:
        counter.close()
        writer.close()


@pytest.mark.parametrize("journal_mode", ["delete", "truncate"])
def test_without_wal_the_counter_asks_sqlite_and_still_follows_commits(
    tmp_path: Path, journal_mode: str
) -> None:
    writer = _store(tmp_path / "e.db", journal_mode)
    counter = SQLiteCommitCounter(tmp_path / "e.db")
    try:
        before = counter.stamp()
        assert counter.stamp() == before
        assert not counter.reads_memory
        writer.execute("INSERT INTO events VALUES (1)")
        assert counter.stamp() != before
    finally:
        counter.close()
        writer.close()


def test_a_closed_counter_cannot_tell(tmp_path: Path) -> None:
    writer = _store(tmp_path / "e.db", "wal")
    counter = SQLiteCommitCounter(tmp_path / "e.db")
    counter.stamp()
    counter.close()
    assert counter.stamp() is None
    writer.close()
