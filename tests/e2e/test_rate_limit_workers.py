"""``serve --workers 2`` with rates counted in Redis: a caller's rate holds in total, not
per process.

Needs Redis on 127.0.0.1:6379 (and PostgreSQL, for two workers): skipped when it
cannot be reached, unless ``DISPUTEDESK_REQUIRE_REDIS=1``, when the test fails.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis

from interface.http.auth import issue_token
from tests.conftest import reset_postgres
from tests.e2e.careful_client import SECRET, Server, Servers

pytestmark = pytest.mark.slow

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RATE = 20
REQUESTS = 2 * RATE
ROUTE = "/v1/policies/current"


def _redis_or_skip() -> None:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1.0):
            return
    except OSError as error:
        reason = f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT} ({error})"
    if os.environ.get("DISPUTEDESK_REQUIRE_REDIS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own, its keys removed at the end."""
    _redis_or_skip()
    prefix = f"disputedesk-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def test_a_callers_rate_holds_across_both_workers(
    postgres_url: str, servers: Servers, tmp_path: Path, redis_prefix: str
) -> None:
    # Given two workers counting rates in one Redis, buyers allowed RATE requests an hour
    reset_postgres(postgres_url)
    log_path = tmp_path / "server.log"
    server = servers.add(Server(postgres_url, log_path, workers=2, env={
        "DISPUTEDESK_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        "DISPUTEDESK_REDIS_PREFIX": redis_prefix,
        "DISPUTEDESK_RATE_LIMITS": f"buyer={RATE}/hour",
        "DISPUTEDESK_THREADS": "3",
    }))
    server.start(timeout=120.0)
    token = issue_token(SECRET, "buyer", "b-1", ttl=timedelta(hours=1))
    # A connection of its own for each request: the kernel hands it to either worker.
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

    def one(_: int) -> int:
        with httpx.Client(timeout=10.0) as http:
            return http.get(server.base + ROUTE, headers=headers).status_code

    # When one buyer sends twice its rate, side by side
    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(one, range(REQUESTS)))

    # Then exactly RATE are answered and the rest refused, whichever worker took them
    assert statuses == {200: RATE, 429: REQUESTS - RATE}
    server.stop(grace=10.0)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    served = [line for line in lines
              if line.get("event") == "http.request" and line.get("path") == ROUTE]
    assert len({line["pid"] for line in served}) == 2  # both workers took some
    assert "rate limits:  shared through Redis at redis://127.0.0.1:6379/0" in \
        log_path.read_text()
    # and each worker runs the handler threads the setting asks for
    assert "threads:      3 per worker" in log_path.read_text()
    pools = {line["pid"]: line["threads"] for line in lines if line.get("event") == "http.threads"}
    assert pools == {pid: 3 for pid in {line["pid"] for line in served}}
