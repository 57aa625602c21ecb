"""``serve --workers 2`` on PostgreSQL: counters summed across workers, one access line each."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from interface.http.auth import issue_token
from tests.conftest import reset_postgres
from tests.e2e.careful_client import SECRET, Server, Servers

pytestmark = pytest.mark.slow

BATCH = 20
ROUTE = "/v1/policies/current"


def _scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    # A connection of its own each time: the kernel hands it to either worker.
    with httpx.Client(timeout=10.0) as http:
        response = http.get(f"{base}/metrics", headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _lines(log_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_path.read_text().splitlines()
            if line.startswith("{")]


def _served(log_path: Path) -> list[dict[str, Any]]:
    return [line for line in _lines(log_path)
            if line.get("event") == "http.request" and line.get("path") == ROUTE]


def test_counters_are_summed_across_workers_and_each_request_logged_once(
    postgres_url: str, servers: Servers, tmp_path: Path
) -> None:
    reset_postgres(postgres_url)
    log_path = tmp_path / "server.log"
    server = servers.add(Server(postgres_url, log_path, workers=2))
    server.start(timeout=120.0)
    token = issue_token(SECRET, "buyer", "b-1", ttl=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

    def one(n: int) -> int:
        with httpx.Client(timeout=10.0) as http:
            url = f"{server.base}{ROUTE}?api_key=hunter2&n={n}"
            return http.get(url, headers=headers).status_code

    # The kernel hands each connection to whichever worker accepts first, and a worker
    # still starting accepts none, so requests go in batches until both have served.
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        for _ in range(30):
            assert list(pool.map(one, range(sent, sent + BATCH))) == [200] * BATCH
            sent += BATCH
            if len({line["pid"] for line in _served(log_path)}) == 2:
                break

    key = ("disputedesk_http_requests_total",
           frozenset({"method": "GET", "route": ROUTE, "status": "200"}.items()))
    for _ in range(6):  # whichever worker answers the scrape, it counts every worker's
        samples = _scrape(server.base)
        assert samples[key] == sent
        workers = [labels for name, labels in samples if name == "disputedesk_workers"]
        assert len(workers) == 2  # one sample per live worker (by pid)

    server.stop(grace=10.0)
    lines = _lines(log_path)
    served = _served(log_path)
    assert len(served) == sent  # one access line per request, whatever the worker count
    assert len({line["pid"] for line in served}) == 2  # both workers served some
    assert all(line["query"].startswith("api_key=***&n=") for line in served)
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert "hunter2" not in log_path.read_text()
