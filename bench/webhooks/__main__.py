"""Webhook delivery: lag at a steady command load, and backlog throughput.

``python -m bench.webhooks [--seconds 15] [--stores postgres,sqlite]``

Per store, against a real ``disputedesk serve`` and a receiver on 127.0.0.1
that verifies every signature:

1. **The command rate** (the baseline, measured in this run): 8 clients send
   ``POST .../seller-contacts`` (one public event each) as fast as answered,
   with no endpoint registered.
2. **Lag**: an endpoint is registered; the clients send at 80% of that rate,
   paced; the lag of each event is its arrival at the receiver minus its
   ``created_at`` (when it was recorded). Target on PostgreSQL: p99 under 1 s.
3. **Throughput**: with ``serve`` not delivering (``DISPUTEDESK_DELIVER_IN_SERVE=0``)
   a backlog of events accrues; one ``disputedesk deliver`` process then
   delivers it: events per second, against the command rate.

Writes bench/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

from application.public_events import CONTRACT_TYPES
from bench.load.scenario import ROOT, Config, Processes, token
from bench.webhooks.receiver import Receiver

RESULTS = ROOT / "bench" / "results" / "webhooks.json"
ADMIN_URL = os.environ.get(
    "DISPUTEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CLIENTS = 8
DISPUTES = 200


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Driver:
    """Clients sending seller contacts to the seeded disputes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.platform = token("platform", "p-bench")
        self.disputes: list[tuple[str, dict[str, str]]] = []

    def seed(self, count: int) -> None:
        with httpx.Client(timeout=30.0) as http:
            for i in range(count):
                buyer = f"b-{i % 50}"
                body = {"order_id": f"wh-{i}", "buyer_id": buyer, "seller_id": f"s-{i % 10}",
                        "region": "US", "category": "general",
                        "amount": {"amount": "25.00", "currency": "USD"},
                        "placed_at": datetime.now().astimezone().isoformat()}
                answer = http.post(f"{self.base}/v1/orders", json=body, headers=self.platform)
                assert answer.status_code in (200, 201), answer.text
                self.disputes.append((answer.json()["id"], token("buyer", buyer)))

    def run(self, seconds: float, rate: float | None) -> list[float]:
        """Send for ``seconds`` (paced at ``rate`` per second in all, or flat out)."""
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        start = time.monotonic()

        def client(k: int) -> None:
            n = 0
            with httpx.Client(timeout=30.0) as http:
                while True:
                    if rate is not None:  # open loop: the k-th client's n-th slot
                        due = start + (n * CLIENTS + k) / rate
                        wait = due - time.monotonic()
                        if wait > 0:
                            time.sleep(wait)
                    if time.monotonic() - start >= seconds:
                        return
                    dispute, buyer = self.disputes[(n * CLIENTS + k) % len(self.disputes)]
                    sent = time.monotonic()
                    answer = http.post(
                        f"{self.base}/v1/disputes/{dispute}/seller-contacts",
                        json={"message": f"where is it? {k}-{n}", "channel": "chat"},
                        headers=buyer)
                    if answer.status_code != 200:
                        errors.append(f"{answer.status_code} {answer.text[:200]}")
                        return
                    with lock:
                        latencies.append(time.monotonic() - sent)
                    n += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"a command failed: {errors[0]}")
        return latencies

    def register(self, url: str) -> str:
        answer = httpx.post(f"{self.base}/v1/webhook-endpoints", headers=self.platform,
                            json={"url": url, "event_types": sorted(CONTRACT_TYPES)})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["secret"])


def _wait(receiver: Receiver, count: int, timeout: float) -> float:
    """Seconds until ``count`` events were delivered (or the timeout)."""
    started = time.monotonic()
    while len(receiver.delivered_ids()) < count and time.monotonic() - started < timeout:
        time.sleep(0.02)
    return time.monotonic() - started


def measure(url: str, workdir: Path, seconds: float) -> dict[str, Any]:
    procs = Processes(Config(database_url=url, workdir=workdir))
    procs.env.update({"DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
                      "DISPUTEDESK_LOG_FORMAT": "json"})
    receiver = Receiver()
    try:
        procs.start_server()
        driver = Driver(procs.base)
        driver.seed(DISPUTES)
        flat = driver.run(seconds, None)
        rate = len(flat) / seconds
        print(f"  command rate {rate:.0f}/s (p99 {_pct(flat, 0.99) * 1000:.0f} ms)", flush=True)

        receiver.secrets.append(driver.register(receiver.url))
        paced = driver.run(seconds, 0.8 * rate)
        _wait(receiver, len(paced), 30.0)
        arrivals = [a for a in receiver.received() if a.answered == 200]
        lags = []
        for a in arrivals:
            created = datetime.fromisoformat(a.event["data"]["created_at"].replace("Z", "+00:00"))
            lags.append(a.wall - created.timestamp())
        unverified = sum(1 for a in receiver.received() if not a.verified)
        print(f"  lag p50 {_pct(lags, 0.5) * 1000:.0f} ms, p99 {_pct(lags, 0.99) * 1000:.0f} ms "
              f"at {0.8 * rate:.0f}/s ({len(arrivals)} of {len(paced)} delivered)", flush=True)

        # The backlog: serve stops delivering; one `deliver` process then catches up.
        procs.stop_all()
        procs.started.clear()
        procs.env["DISPUTEDESK_DELIVER_IN_SERVE"] = "0"
        procs.start_server()
        before = len(receiver.received())
        known = receiver.delivered_ids()
        backlog = driver.run(seconds / 2, None)
        started = time.monotonic()
        deliverer = procs._spawn(["deliver"], "deliver.log")
        _wait(receiver, len(known) + len(backlog), 120.0)
        deliverer.terminate()
        fresh = [a for a in receiver.received()[before:]
                 if a.answered == 200 and a.webhook_id not in known]
        delivered = len({a.webhook_id for a in fresh})
        # From the first delivery to the last: the process's start-up is not delivery.
        took = (fresh[-1].at - fresh[0].at) if len(fresh) > 1 else 0.0
        throughput = delivered / took if took else 0.0
        print(f"  backlog {delivered} events in {took:.1f} s: {throughput:.0f}/s "
              f"({time.monotonic() - started:.1f} s from the process start)", flush=True)
        return {
            "command_rate_per_s": round(rate, 1),
            "command_p99_ms": round(_pct(flat, 0.99) * 1000, 1),
            "paced_rate_per_s": round(0.8 * rate, 1),
            "paced_command_p99_ms": round(_pct(paced, 0.99) * 1000, 1),
            "events_sent": len(paced),
            "events_delivered": len(arrivals),
            "unverified": unverified,
            "lag_ms": {"p50": round(_pct(lags, 0.5) * 1000, 1),
                       "p99": round(_pct(lags, 0.99) * 1000, 1),
                       "max": round(max(lags, default=0.0) * 1000, 1),
                       "mean": round(statistics.fmean(lags) * 1000, 1) if lags else None},
            "backlog_events": delivered,
            "backlog_seconds": round(took, 2),
            "backlog_events_per_s": round(throughput, 1),
        }
    finally:
        receiver.close()
        procs.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--stores", default="postgres,sqlite")
    args = parser.parse_args()
    # bench.load.scenario.Processes starts the servers with the limits lifted.
    print("rate limits lifted for the servers: DISPUTEDESK_RATE_LIMITS=off", flush=True)
    runs: dict[str, Any] = {}
    for store in args.stores.split(","):
        print(f"webhooks on {store}", flush=True)
        with tempfile.TemporaryDirectory(prefix="disputedesk-webhooks-") as workdir:
            if store == "sqlite":
                runs[store] = measure(f"sqlite:///{workdir}/events.db", Path(workdir),
                                      args.seconds)
                continue
            dbname = f"disputedesk_webhooks_{os.getpid()}"
            parts = urlsplit(ADMIN_URL)
            url = urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            try:
                runs[store] = measure(url, Path(workdir), args.seconds)
            finally:
                with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"seconds": args.seconds, "runs": runs}, indent=2))
    print(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
