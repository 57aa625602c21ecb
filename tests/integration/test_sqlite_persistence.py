"""The tuned SQLite persistence module: the settings a server relies on."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.sqlite import SQLiteApplicationRecorder

from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings


def test_connections_use_normal_sync_and_are_kept_for_a_server_s_threads(
    tmp_path: Path,
) -> None:
    desk = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db"})
    )
    try:
        recorder = desk.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder)
        pool = recorder.datastore.pool
        held = [pool.get_connection(is_writer=False) for _ in range(12)]
        first = {id(conn) for conn in held}
        for conn in held:
            (level,) = conn._sqlite_conn.execute("PRAGMA synchronous").fetchone()
            assert level == 1  # NORMAL
            pool.put_connection(conn)
        again = [pool.get_connection(is_writer=False) for _ in range(12)]
        try:
            # Twelve threads at once get the same connections back, none opened anew.
            assert {id(conn) for conn in again} == first
            assert all(not conn.closed for conn in again)
        finally:
            for conn in again:
                pool.put_connection(conn)
    finally:
        desk.close()
