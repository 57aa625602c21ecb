"""Sweeper: how long one sweep spends finding what is due.

Builds N open orders of which D are past their shipping deadline (through the
application's batch API), lets the projections build the due index, then
times: (a) finding the due disputes through the index (what the sweeper
does), against (b) the naive way, loading aggregates one by one and asking
each what is due (timed on a sample, extrapolated to all N). Then times the
sweep that records the D derived events.

    .venv/bin/python -m bench.sweeper [--orders 100000] [--due 1000] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import structlog

from application.due_index import ReadModelDueIndex
from application.projections.queries import ReadModelQueries
from application.sweeper import Sweeper
from domain.dispute import Actor, dispute_id_for
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.stores import open_reader
from infrastructure.stores.runtime import make_worker

RESULTS = Path("bench/results/sweeper.json")
PLATFORM = Actor("platform", "bench")
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday noon in Los Angeles


def _quiet() -> None:
    import logging

    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _postgres_url() -> str:
    name = f"disputedesk_bench_sweeper_{os.getpid()}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def _drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(store: str, url: str, orders: int, due: int) -> dict[str, Any]:
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": url})
    clock = ManualClock(NOW)
    app = build_application(settings, clock=clock)
    try:
        started = time.perf_counter()
        for start in range(0, orders, 2000):
            with app.batch() as batch:
                for n in range(start, min(start + 2000, orders)):
                    # the first `due` orders were placed ten days ago: they auto-cancel
                    # at the end of today; the others are an hour old
                    placed = NOW - (timedelta(days=10) if n < due else timedelta(hours=1))
                    batch.place_order(
                        order_id=f"bench-{n}", buyer_id=f"b-{n % 5000}",
                        seller_id=f"s-{n % 300}", region="US", category="general",
                        amount=Money.of("20.00", "USD"), placed_at=placed, actor=PLATFORM,
                    )
        generate_s = time.perf_counter() - started
        # the old orders recorded DeadlineMissed when placed (commands record what fell
        # due); their auto-cancel falls due tonight (Los Angeles): move past it
        clock.set(NOW + timedelta(hours=12))
        worker = make_worker(app, settings, batch_size=20_000, name="bench")
        started = time.perf_counter()
        worker.run(threading.Event(), once=True)
        project_s = time.perf_counter() - started
        queries = ReadModelQueries(open_reader(settings.database), clock)
        index = ReadModelDueIndex(queries)
        finds = []
        for _ in range(5):
            t = time.perf_counter()
            found: list[tuple[datetime, UUID]] = []
            after = None
            while True:
                page = index.due(clock.now(), 1000, after)
                found += page
                if len(page) < 1000:
                    break
                after = page[-1]
            finds.append(time.perf_counter() - t)
        find_s = min(finds)
        sample = min(2000, orders)
        t = time.perf_counter()
        policy = app.current_policy()
        naive_due = 0
        for n in range(sample):
            d = app.repository.get(dispute_id_for(f"bench-{n + due}" if n + due < orders
                                                  else f"bench-{n}"))
            nxt = d.pending_deadlines(policy)
            naive_due += bool(nxt and nxt[0].at <= clock.now())
        naive_s = (time.perf_counter() - t) * orders / sample
        t = time.perf_counter()
        result = Sweeper(app, index).sweep()
        sweep_s = time.perf_counter() - t
        queries.reader.close()
        return {
            "store": store,
            "open_orders": orders,
            "due": len(found),
            "generate_seconds": round(generate_s, 2),
            "projection_seconds": round(project_s, 2),
            "find_ms": round(find_s * 1000, 2),
            "naive_scan_seconds_extrapolated": round(naive_s, 2),
            "ratio_naive_over_index": round(naive_s / find_s, 1) if find_s else None,
            "sweep_seconds": round(sweep_s, 2),
            "recorded": len(result.recorded),
            "target": "find < 1000 ms",
            "met": find_s < 1.0,
        }
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    _quiet()
    runs = []
    for store in args.stores.split(","):
        tmp = tempfile.mkdtemp(prefix="bench-sweeper-")
        url = f"sqlite:///{tmp}/events.db" if store == "sqlite" else _postgres_url()
        try:
            row = run(store, url, args.orders, args.due)
        finally:
            if store == "postgres":
                _drop_postgres(url)
            shutil.rmtree(tmp, ignore_errors=True)
        runs.append(row)
        print(
            f"{store:<9} {row['open_orders']:>7} open, {row['due']:>5} due: found in "
            f"{row['find_ms']:8.1f} ms (target < 1000 ms: {'met' if row['met'] else 'NOT met'});"
            f" naive scan ~{row['naive_scan_seconds_extrapolated']:.1f} s "
            f"({row['ratio_naive_over_index']}x slower); sweep recorded {row['recorded']} "
            f"in {row['sweep_seconds']:.1f} s",
            flush=True,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "sweeper",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "runs": runs,
    }, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
