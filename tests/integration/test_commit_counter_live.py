"""The commit counter under a live server whose ``-shm`` file someone tampers with.

A server on SQLite keeps serving, and serving current cases, while the WAL
index's header is garbage or being rebuilt; a command carried out by another
server process is seen by a read of the first. A ``-shm`` truncated under a
process that uses the store is another matter: SQLite's own mapping of it
kills that process with SIGBUS (the counter never maps it); the last test
shows the counter alone reading a truncated file without harm.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from infrastructure.commit_counter import SQLiteCommitCounter
from tests.e2e.careful_client import Server, issue_tokens, place_order

pytestmark = pytest.mark.slow


def _case(base: str, token: str, dispute_id: str) -> dict[str, object]:
    response = httpx.get(f"{base}/v1/disputes/{dispute_id}",
                         headers={"Authorization": f"Bearer {token}"}, timeout=15.0)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _note(base: str, token: str, dispute_id: str, text: str) -> None:
    response = httpx.post(f"{base}/v1/disputes/{dispute_id}/notes", json={"text": text},
                          headers={"Authorization": f"Bearer {token}"}, timeout=15.0)
    assert response.status_code in (200, 201), response.text


def test_a_server_survives_a_garbled_wal_index_and_sees_other_processes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "var" / "events.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    first = Server(url, tmp_path / "first.log")
    second = Server(url, tmp_path / "second.log")
    try:
        first.start(timeout=60)
        tokens = issue_tokens([("platform", "feed"), ("moderator", "m-1")])
        platform, moderator = tokens[("platform", "feed")], tokens[("moderator", "m-1")]
        dispute_id = place_order(first.base, platform, "live-1", "b-1", "s-1")
        version = _case(first.base, moderator, dispute_id)["version"]
        assert _case(first.base, moderator, dispute_id)["version"] == version
        shm = Path(f"{db}-shm")
        assert shm.exists()

        for garbage in (os.urandom(shm.stat().st_size), b"\0" * shm.stat().st_size):
            with shm.open("r+b") as file:  # the same file, rewritten in place
                file.write(garbage)
            assert _case(first.base, moderator, dispute_id)["version"] == version
            assert first.process is not None and first.process.poll() is None

        second.start(timeout=60)  # another process, writing to the same store
        _note(second.base, moderator, dispute_id, "from the second process")
        after = _case(first.base, moderator, dispute_id)["version"]
        assert isinstance(after, int) and isinstance(version, int) and after > version
        with shm.open("r+b") as file:
            file.write(os.urandom(200))
        _note(second.base, moderator, dispute_id, "again")
        assert _case(first.base, moderator, dispute_id)["version"] == after + 1
        assert first.process is not None and first.process.poll() is None
    finally:
        second.stop()
        first.stop()


def test_stamps_agree_with_pragma_data_version(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("CREATE TABLE events (n INTEGER)")
    watcher = sqlite3.connect(path, isolation_level=None)
    counter = SQLiteCommitCounter(path)
    try:
        counter.stamp()
        assert counter.reads_memory
        stamp = counter.stamp()
        (version,) = watcher.execute("PRAGMA data_version").fetchone()
        for n in range(30):
            if n % 3:
                writer.execute("INSERT INTO events VALUES (?)", (n,))
            else:
                writer.execute("SELECT count(*) FROM events").fetchone()
            new_stamp = counter.stamp()
            (new_version,) = watcher.execute("PRAGMA data_version").fetchone()
            assert (new_stamp != stamp) == (new_version != version), n
            stamp, version = new_stamp, new_version
    finally:
        counter.close()
        watcher.close()
        writer.close()


CHILD = """
import os, sqlite3, sys
from infrastructure.commit_counter import SQLiteCommitCounter
path = sys.argv[1]
writer = sqlite3.connect(path, isolation_level=None)
writer.execute("PRAGMA journal_mode=wal")
writer.execute("CREATE TABLE events (n INTEGER)")
writer.execute("INSERT INTO events VALUES (1)")
counter = SQLiteCommitCounter(path)
counter.stamp()
assert counter.reads_memory and counter.peek() is not None
for size in (0, 5, 60):
    os.truncate(path + "-shm", size)
    assert counter.peek() is None, size
print("alive", flush=True)
os._exit(0)  # closing SQLite's own connections would touch the truncated file
"""


def test_the_counter_reads_a_truncated_wal_index_without_harm(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "e.db")],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alive"
