"""Webhooks through real processes: a failing receiver, a killed worker, a hung receiver.

- ``serve`` records commands; two ``disputedesk deliver`` processes deliver on
  PostgreSQL. The receiver answers 500 for the first seconds, then 200; one
  worker is killed with SIGKILL mid-stream and started again. Every public event
  still arrives, signed, with the same ``webhook-id`` and body on every attempt,
  and in order per dispute.
- A receiver that never answers does not hold commands back, nor the deliveries
  to another endpoint: commands keep answering and the healthy endpoint keeps
  receiving within the webhook timeout, on both stores, with the worker inside
  ``serve`` (the default).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from application.public_events import CONTRACT_TYPES
from bench.webhooks.receiver import Receiver
from tests.conftest import reset_postgres
from tests.e2e.careful_client import (
    ROOT,
    Server,
    Servers,
    child_env,
    cli,
    issue_tokens,
    place_order,
)

TIMEOUT = 2  # seconds an attempt may take (DISPUTEDESK_WEBHOOK_TIMEOUT)


class Deliverer(Server):
    """A ``disputedesk deliver`` process group (killable like a server)."""

    def start(self, timeout: float = 60.0) -> float:
        started = time.monotonic()
        before = self.log_path.read_bytes().count(b"delivering webhooks") \
            if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cli("deliver"), cwd=ROOT, env={**child_env(self.database_url), **self.env},
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.starts += 1
        while time.monotonic() - started < timeout:
            if self.log_path.read_bytes().count(b"delivering webhooks") > before:
                return time.monotonic() - started
            if self.process.poll() is not None:
                raise RuntimeError(f"deliver exited:\n{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"deliver did not start:\n{self.log_tail()}")


def _register(base: str, platform: str, url: str) -> str:
    response = httpx.post(f"{base}/v1/webhook-endpoints",
                          json={"url": url, "event_types": sorted(CONTRACT_TYPES)},
                          headers={"Authorization": f"Bearer {platform}"}, timeout=15.0)
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def _public_ids(base: str, platform: str) -> set[str]:
    found: set[str] = set()
    after = ""
    with httpx.Client(timeout=15.0) as http:
        while True:
            body = http.get(f"{base}/v1/events", params={"after": after, "limit": 500},
                            headers={"Authorization": f"Bearer {platform}"}).json()
            found |= {event["id"] for event in body["data"]}
            if body["next_cursor"] is None:
                return found
            after = body["next_cursor"]


def _story(base: str, tokens: dict[tuple[str, str], str], n: int, i: int,
           latencies: list[float]) -> None:
    """One order and three commands on it; each command's latency is kept."""
    buyer, seller = f"b-{i % 3}", f"s-{i % 2}"
    dispute = place_order(base, tokens[("platform", "p-1")], f"o-{n}-{i}", buyer, seller)
    steps = [
        (("buyer", buyer), f"/v1/disputes/{dispute}/seller-contacts",
         {"message": f"where is order {i}?", "channel": "email"}),
        (("seller", seller), f"/v1/disputes/{dispute}/seller-responses",
         {"message": "on its way"}),
        (("platform", "p-1"), f"/v1/orders/o-{n}-{i}/shipments",
         {"carrier": "UPS", "tracking_number": f"1Z{n}{i:04d}",
          "shipped_at": datetime.now(UTC).isoformat()}),
    ]
    with httpx.Client(timeout=30.0) as http:
        for who, path, body in steps:
            started = time.monotonic()
            response = http.post(base + path, json=body,
                                 headers={"Authorization": f"Bearer {tokens[who]}"})
            latencies.append(time.monotonic() - started)
            assert response.status_code in (200, 201), (path, response.text)


def _load(base: str, tokens: dict[tuple[str, str], str], orders: int, n: int,
          threads: int = 4) -> list[float]:
    latencies: list[float] = []
    errors: list[BaseException] = []

    def run(part: int) -> None:
        try:
            for i in range(part, orders, threads):
                _story(base, tokens, n, i, latencies)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors[0]
    return latencies


def _tokens() -> dict[tuple[str, str], str]:
    return issue_tokens([("platform", "p-1"), *[("buyer", f"b-{k}") for k in range(3)],
                         *[("seller", f"s-{k}") for k in range(2)]])


def _wait_for(receiver: Receiver, expected: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= receiver.delivered_ids():
        time.sleep(0.2)


def test_every_event_arrives_through_failures_and_a_killed_worker(
    postgres_url: str, tmp_path: Path, servers: Servers
) -> None:
    reset_postgres(postgres_url)
    env = {"DISPUTEDESK_DELIVER_IN_SERVE": "0", "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
           "DISPUTEDESK_WEBHOOK_TIMEOUT": str(TIMEOUT)}
    server = servers.add(Server(postgres_url, tmp_path / "serve.log", workers=2, env=env))
    server.start()
    tokens = _tokens()
    receiver = Receiver(answer=500, delay=0.05)
    try:
        receiver.secrets.append(_register(server.base, tokens[("platform", "p-1")],
                                          receiver.url))
        first = servers.add(Deliverer(postgres_url, tmp_path / "deliver-1.log", env=env))
        second = servers.add(Deliverer(postgres_url, tmp_path / "deliver-2.log", env=env))
        first.start()
        second.start()
        load = threading.Thread(target=_load, args=(server.base, tokens, 40, 1))
        load.start()
        time.sleep(3.0)
        receiver.answer = 200  # the receiver is back
        deadline = time.monotonic() + 60
        while len(receiver.delivered_ids()) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Requests in flight get no answer, then one worker dies with them (kill -9):
        # only their leases running out can bring those deliveries back.
        receiver.answer = "hang"
        time.sleep(0.5)
        first.kill()
        killed_at = len(receiver.delivered_ids())
        held = len([a for a in receiver.received() if a.answered is None])
        receiver.answer = 200
        receiver.release()
        time.sleep(1.0)
        first.start()
        load.join()
        expected = _public_ids(server.base, tokens[("platform", "p-1")])
        _wait_for(receiver, expected, timeout=90.0)
        arrivals = receiver.received()
    finally:
        receiver.close()

    delivered = {a.webhook_id for a in arrivals if a.answered == 200}
    missing = expected - delivered
    assert not missing, f"{len(missing)} events never delivered: {sorted(missing)[:10]}"
    assert delivered <= expected, "delivered an event the feed does not have"
    assert all(a.verified for a in arrivals), "a signature did not verify"
    bodies: dict[str, set[str]] = defaultdict(set)
    for a in arrivals:
        bodies[a.webhook_id].add(a.body)
    assert all(len(b) == 1 for b in bodies.values()), "a retry changed the body"
    retried = {a.webhook_id for a in arrivals if a.answered == 500} & delivered
    assert retried, "no event was retried after a 500"
    per_dispute: dict[str, list[int]] = defaultdict(list)
    for a in arrivals:
        if a.answered == 200:
            per_dispute[a.event["data"]["dispute_id"]].append(int(a.webhook_id))
    for dispute, ids in per_dispute.items():
        assert ids == sorted(ids), f"dispute {dispute} out of order: {ids}"
    twice = len([a for a in arrivals if a.answered == 200]) - len(delivered)
    print(f"\n{len(expected)} events, {len(arrivals)} requests; {len(retried)} retried after "
          f"500; killed a worker after {killed_at} deliveries with {held} requests unanswered; "
          f"{twice} delivered twice")


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_hung_receiver_holds_back_neither_commands_nor_other_endpoints(
    database_url: str, tmp_path: Path, servers: Servers
) -> None:
    hung_timeout = 5
    env = {"DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
           "DISPUTEDESK_WEBHOOK_TIMEOUT": str(hung_timeout)}
    server = servers.add(Server(database_url, tmp_path / "serve.log", env=env))
    server.start()
    tokens = _tokens()
    healthy, hung = Receiver(), Receiver(answer="hang")
    try:
        platform = tokens[("platform", "p-1")]
        healthy.secrets.append(_register(server.base, platform, healthy.url))
        baseline = _load(server.base, tokens, 12, 1)
        _register(server.base, platform, hung.url)
        with_hung = _load(server.base, tokens, 12, 2)
        loaded = time.monotonic()
        expected = _public_ids(server.base, platform)
        _wait_for(healthy, expected, timeout=hung_timeout)
        took = time.monotonic() - loaded
        arrivals = healthy.received()
        stuck = len(hung.received())
    finally:
        healthy.close()
        hung.close()
    assert expected <= {a.webhook_id for a in arrivals}, "the healthy endpoint fell behind"
    assert stuck > 0, "the hung receiver was never called"
    assert max(with_hung) < hung_timeout, f"a command waited {max(with_hung):.2f} s"
    print(f"\ncommands p50/max {_ms(baseline, 0.5)}/{_ms(baseline, 1)} ms without, "
          f"{_ms(with_hung, 0.5)}/{_ms(with_hung, 1)} ms with a hung receiver "
          f"({stuck} requests held); healthy endpoint complete {took:.2f} s after the last command")


def _ms(values: list[Any], q: float) -> int:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000)
