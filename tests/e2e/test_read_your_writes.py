"""Across two server processes a client that passes the version its command returned
(``min_version``) always reads at least that version, even while the processes'
commit notifications are held up. Two servers on one database stand for two
workers, so that the test, not the kernel, decides which process answers.

The listeners' database sessions are stopped (SIGSTOP), as on a stalled network
path: for up to ``LIVENESS`` seconds a process that cached the case does not
hear of another's commit and, asked without ``min_version``, may answer what
it kept. With it, every answer is at least the version the command returned.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from infrastructure.pg_commit_counter import APPLICATION_NAME
from tests.conftest import reset_postgres
from tests.e2e.careful_client import Server, Servers, issue_tokens, place_order

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
READS = 12


def _listener_backends(postgres_url: str) -> list[int]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                            (APPLICATION_NAME,)).fetchall()
    return [int(pid) for (pid,) in rows]


@pytest.fixture
def stopped_listeners(postgres_url: str) -> Iterator[list[int]]:
    """Call it to stop every commit listener's session; they go on at the test's end."""
    stopped: list[int] = []
    yield stopped
    for pid in stopped:
        os.kill(pid, signal.SIGCONT)


def _get(base: str, token: str, path: str) -> httpx.Response:
    # A new connection each time: either worker may answer.
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"},
                     timeout=15.0)


def test_a_client_passing_its_commands_version_reads_it_from_another_process(
    postgres_url: str, tmp_path: Path, servers: Servers, stopped_listeners: list[int],
) -> None:
    if os.geteuid() != 0:
        pytest.skip("stopping the database's sessions needs root")
    reset_postgres(postgres_url)
    writer, reader = (servers.add(Server(postgres_url, tmp_path / f"{name}.log",
                                         env={"DISPUTEDESK_RATE_LIMITS": "off"}))
                      for name in ("writer", "reader"))
    writer.start(timeout=90)
    reader.start(timeout=90)
    tokens = issue_tokens([("platform", "feed"), ("buyer", "b-1")])
    buyer = tokens[("buyer", "b-1")]
    dispute_id = place_order(writer.base, tokens[("platform", "feed")], "ryw-1", "b-1", "s-1")
    for _ in range(3):  # the reader keeps the case
        assert _get(reader.base, buyer, f"/v1/disputes/{dispute_id}").status_code == 200
    # Both servers listen (an application an earlier test left open may listen too).
    assert len(_listener_backends(postgres_url)) >= 2

    for pid in _listener_backends(postgres_url):
        os.kill(pid, signal.SIGSTOP)
        stopped_listeners.append(pid)
    written = httpx.post(
        f"{writer.base}/v1/disputes/{dispute_id}/seller-contacts",
        json={"message": "where is it?", "channel": "chat"},
        headers={"Authorization": f"Bearer {buyer}", "Idempotency-Key": "ryw-contact"},
        timeout=15.0,
    )
    assert written.status_code in (200, 201), written.text
    version = written.json()["version"]

    seen = [_get(reader.base, buyer, f"/v1/disputes/{dispute_id}?min_version={version}")
            for _ in range(READS)]

    assert all(r.status_code == 200 for r in seen), [r.text for r in seen]
    assert {r.json()["version"] for r in seen} == {version}
    beyond = _get(reader.base, buyer, f"/v1/disputes/{dispute_id}?min_version={version + 50}")
    assert beyond.status_code == 422
    assert beyond.json()["type"].endswith("version-not-recorded")
