"""The bulk order feed on PostgreSQL against the library alone: ``python -m bench.orders_feed``.

Baseline: the same orders built beforehand as aggregates (``Dispute.place``, what
fell due recorded) and saved with the library alone (its own insert), ``save()``
of 1,000 at a time. Measured: ``POST /v1/orders/batch`` of 1,000 orders at a
time, one client, to ``disputedesk serve`` (1 worker) on the same database, and
the same feed called in-process (``OrderFeed.place``: no HTTP). A second server
with ``DISPUTEDESK_BINARY_INSERT=0`` takes the same batches through the library's
insert: what the binary insert (``infrastructure.binary_insert``) gains the feed.
As the Procfile deploys it, ``disputedesk project`` is the active projection
worker (the servers' stand by), so every run's orders are projected into the
read models meanwhile, in its own process, whichever way they were saved.
Baseline and feeds run in turns (``--rounds``) so all see the machine's drift
alike. Target: the feed over HTTP at least 0.7x the baseline's orders per second.

Writes bench/results/orders_feed.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from application.order_feed import NewOrder
from bench.http.__main__ import free_port, postgres_database, serve_argv, server, stop_group
from bench.http.orders import PLATFORM, SECRET
from bench.load.scenario import cli_command
from domain.dispute import Dispute
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.recorded_disputes import order_feed
from infrastructure.settings import Settings
from interface.http.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "orders_feed.json"
BATCH = 1000
TARGET = 0.7
#: Request rate limits are lifted for the servers a benchmark starts (printed).
NO_RATE_LIMITS = {"DISPUTEDESK_RATE_LIMITS": "off"}
#: The library's own insert, for the baseline and the second server.
LIBRARY_INSERT = {"DISPUTEDESK_BINARY_INSERT": "0"}


def order(prefix: str, index: int, placed_at: datetime) -> dict[str, Any]:
    return {"order_id": f"{prefix}-{index}", "buyer_id": f"b-{index % 97}",
            "seller_id": f"s-{index % 13}", "region": "US", "category": "general",
            "amount": {"amount": "25.00", "currency": "USD"},
            "placed_at": placed_at.isoformat()}


def library_alone(database_url: str, prefix: str, batches: int,
                  placed_at: datetime) -> tuple[float, float]:
    """Seconds building ``batches`` batches of orders as aggregates took, and seconds
    ``save()`` of those pre-built aggregates, by the library's insert, took (the baseline)."""
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url,
                                                **LIBRARY_INSERT}))
    try:
        policy = desk.policies.in_force(placed_at)
        assert policy is not None
        now = desk.clock.now()
        built = []
        building = time.perf_counter()
        for index in range(batches * BATCH):
            d = Dispute.place(
                order_id=f"{prefix}-{index}", buyer_id=f"b-{index % 97}",
                seller_id=f"s-{index % 13}", region="US", category="general",
                amount=Money.of("25.00", "USD"), placed_at=placed_at, policy=policy,
                actor=PLATFORM, now=now)
            d.record_due(policy, now)
            built.append(d)
        started = time.perf_counter()
        for first in range(0, len(built), BATCH):
            desk.save(*built[first:first + BATCH])
        return started - building, time.perf_counter() - started
    finally:
        desk.close()


def feed_in_process(database_url: str, prefix: str, batches: int, placed_at: datetime) -> float:
    """Seconds ``OrderFeed.place`` took for the orders given as plain values."""
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}))
    try:
        feed = order_feed(desk)
        orders = [NewOrder(f"{prefix}-{i}", f"b-{i % 97}", f"s-{i % 13}", "US", "general",
                           Money.of("25.00", "USD"), placed_at)
                  for i in range(batches * BATCH)]
        started = time.perf_counter()
        for first in range(0, len(orders), BATCH):
            results = feed.place(orders[first:first + BATCH], PLATFORM)
            assert all(r.outcome == "created" for r in results)
        return time.perf_counter() - started
    finally:
        desk.close()


def feed_over_http(port: int, token: str, prefix: str, batches: int,
                   placed_at: datetime) -> float:
    """Seconds the server took to answer ``batches`` batch requests, one at a time."""
    bodies = [msgspec.json.encode({"orders": [order(prefix, b * BATCH + i, placed_at)
                                              for i in range(BATCH)]})
              for b in range(batches)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        for body in bodies:
            connection.request("POST", "/v1/orders/batch", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200 or answer["counts"]["created"] != BATCH:
                raise RuntimeError(f"the batch failed: {response.status} {str(answer)[:300]}")
        return time.perf_counter() - started
    finally:
        connection.close()


@contextlib.contextmanager
def projector(env: dict[str, str], cwd: Path, log: Path) -> Iterator[None]:
    """``disputedesk project`` running, once it is the active projection worker."""
    argv = [*cli_command(), "project"]
    with log.open("ab") as log_file:
        process = subprocess.Popen(argv, env={**env, "DISPUTEDESK_LOG_LEVEL": "INFO"},
                                   cwd=cwd, stdout=log_file, stderr=log_file,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while "projections.active" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the projection worker did not start; see {log}")
            time.sleep(0.1)
        yield
    finally:
        stop_group(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help="batches of 1,000 per round")
    parser.add_argument("--rounds", type=int, default=4, help="turns of baseline and feeds")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    print("rate limits lifted for the server: DISPUTEDESK_RATE_LIMITS=off", flush=True)
    placed_at = datetime.now(UTC) - timedelta(hours=1)
    token = issue_token(SECRET, "platform", PLATFORM.id, ttl=timedelta(hours=1))
    seconds = {"library": 0.0, "library_build_and_save": 0.0, "http": 0.0,
               "http_library_insert": 0.0, "in_process": 0.0}
    with tempfile.TemporaryDirectory(prefix="bench-orders-feed-") as tmp, \
            postgres_database() as url:
        if url is None:
            raise SystemExit("PostgreSQL is needed for this benchmark")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPUTEDESK_SECRET": SECRET,
               "DISPUTEDESK_LOG_FORMAT": "json", "DISPUTEDESK_LOG_LEVEL": "WARNING",
               "DISPUTEDESK_DATABASE_URL": url, **NO_RATE_LIMITS}
        port, plain_port = free_port(), free_port()
        with projector(env, Path(tmp), Path(tmp) / "project.log"), \
                server(serve_argv(port, 1), env, Path(tmp), port, Path(tmp) / "server.log"), \
                server(serve_argv(plain_port, 1), {**env, **LIBRARY_INSERT}, Path(tmp),
                       plain_port, Path(tmp) / "server-library-insert.log"):
            feed_over_http(port, token, "warm", 1, placed_at)
            feed_over_http(plain_port, token, "warm-plain", 1, placed_at)
            library_alone(url, "warm-lib", 1, placed_at)
            feed_in_process(url, "warm-app", 1, placed_at)
            for r in range(args.rounds):
                build, save = library_alone(url, f"lib-{r}", args.batches, placed_at)
                seconds["library"] += save
                seconds["library_build_and_save"] += build + save
                seconds["http"] += feed_over_http(port, token, f"http-{r}", args.batches,
                                                  placed_at)
                seconds["http_library_insert"] += feed_over_http(
                    plain_port, token, f"plain-{r}", args.batches, placed_at)
                seconds["in_process"] += feed_in_process(url, f"app-{r}", args.batches,
                                                         placed_at)
    orders = args.rounds * args.batches * BATCH
    rates = {k: round(orders / v, 1) for k, v in seconds.items()}
    ratio = rates["http"] / rates["library"]
    gain = rates["http"] / rates["http_library_insert"] - 1
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "orders_each_way": orders, "batch": BATCH, "rate_limits": "off",
        "orders_per_second": rates,
        "ratio_http_over_library": round(ratio, 3),
        "ratio_in_process_over_library": round(rates["in_process"] / rates["library"], 3),
        "ratio_http_over_library_build_and_save": round(
            rates["http"] / rates["library_build_and_save"], 3),
        "binary_insert_gain_over_http": round(gain, 3),
        "target": f">= {TARGET}", "met": ratio >= TARGET,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"  library alone, save() of {BATCH} pre-built  {rates['library']:>9,.0f} orders/s")
    print(f"  library alone, building them too         "
          f"{rates['library_build_and_save']:>9,.0f} orders/s")
    print(f"  POST /v1/orders/batch, 1 client           {rates['http']:>9,.0f} orders/s")
    print(f"  the same, the library's insert            "
          f"{rates['http_library_insert']:>9,.0f} orders/s")
    print(f"  OrderFeed.place in-process               {rates['in_process']:>9,.0f} orders/s")
    print(f"feed over HTTP / library alone = {ratio:.2f}  (target >= {TARGET}: "
          f"{'met' if ratio >= TARGET else 'NOT met'}); in-process "
          f"{results['ratio_in_process_over_library']:.2f}; over HTTP / library building "
          f"and saving {results['ratio_http_over_library_build_and_save']:.2f}; the binary "
          f"insert gains the feed {gain:+.0%}; written to "
          f"{RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
