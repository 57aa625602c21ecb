"""Benchmark of the demo marketplace generator against the raw write rate.

``python -m bench.demo --orders 20000`` loads the demo (``interface.demo``,
through the real commands) into a fresh SQLite file and a fresh PostgreSQL
database, and in the same run saves as many pre-built ``OrderPlaced``
aggregates with one ``save()`` per batch (the raw write rate of the store).
``--full`` adds 200,000 orders on SQLite. Figures go to
``bench/results/demo.json`` (entries of other sizes and stores are kept).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from domain.dispute import Dispute
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from interface.demo.profile import DEFAULT_PROFILE
from interface.demo.scenario import PLATFORM, run_demo

RESULTS = Path(__file__).resolve().parent.parent / "results" / "demo.json"
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # fixed, so every run loads the same data
SEED = 2026
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Figures:
    store: str
    orders: int
    events: int
    seconds: float
    cpu_seconds: float
    raw_aggregates: int
    raw_seconds: float

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def raw_per_second(self) -> float:
        return self.raw_aggregates / self.raw_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "orders": self.orders,
            "events": self.events,
            "events_per_order": round(self.events / self.orders, 2),
            "seconds": round(self.seconds, 2),
            "cpu_seconds": round(self.cpu_seconds, 2),
            "orders_per_second": round(self.orders_per_second, 1),
            "events_per_second": round(self.events_per_second, 1),
            "baseline": {
                "what": "pre-built OrderPlaced aggregates, one save() per batch",
                "aggregates": self.raw_aggregates,
                "batch": DEFAULT_PROFILE.batch_orders,
                "seconds": round(self.raw_seconds, 2),
                "events_per_second": round(self.raw_per_second, 1),
            },
            # demo events/s against raw events/s; demo orders/s against raw aggregates/s
            "ratio_events_per_second": round(self.events_per_second / self.raw_per_second, 3),
            "ratio_orders_per_second": round(self.orders_per_second / self.raw_per_second, 3),
        }


def raw_save_seconds(url: str, aggregates: int) -> float:
    """Seconds spent in save() for ``aggregates`` OrderPlaced aggregates, built per batch."""
    clock = ManualClock(END)
    app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=clock)
    try:
        policy = app.current_policy()
        amount = Money.of("25.00", "USD")
        placed_at = END - timedelta(days=1)
        spent = 0.0
        batch = DEFAULT_PROFILE.batch_orders
        for first in range(0, aggregates, batch):
            built = [
                Dispute.place(
                    order_id=f"raw-{n}",
                    buyer_id=f"b-{n % 997}",
                    seller_id=f"s-{n % 101}",
                    region="US",
                    category="general",
                    amount=amount,
                    placed_at=placed_at,
                    policy=policy,
                    actor=PLATFORM,
                    now=END,
                )
                for n in range(first, min(first + batch, aggregates))
            ]
            began = time.perf_counter()
            app.save(*built)
            spent += time.perf_counter() - began
        return spent
    finally:
        app.close()


def demo_run(url: str, orders: int, label: str) -> tuple[int, float, float]:
    """(events, seconds, cpu seconds) of the demo loading ``orders`` orders."""
    clock = ManualClock(END)
    app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=clock)
    step = max(orders // 10, 1)
    mark = {"next": step}

    def progress(done: int, events: int) -> None:
        if done >= mark["next"]:
            mark["next"] = done + step
            print(f"  {label}: {done:,}/{orders:,} orders, {events:,} events", file=sys.stderr)

    try:
        cpu = time.process_time()
        summary = run_demo(app, clock, orders=orders, seed=SEED, end=END, progress=progress)
        cpu = time.process_time() - cpu
    finally:
        app.close()
    if summary.refused:
        raise RuntimeError(f"the demo had refused commands: {summary.refused}")
    return summary.events, summary.elapsed_seconds, cpu


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="disputedesk-bench-") as folder:
        yield f"sqlite:///{folder}/events.db"


@contextmanager
def postgres_url(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped afterwards."""
    name = f"disputedesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def measure(store: str, orders: int, admin_url: str) -> Figures:
    def fresh() -> Any:
        return sqlite_url() if store == "sqlite" else postgres_url(admin_url)

    with fresh() as url:
        raw_seconds = raw_save_seconds(url, orders)
    with fresh() as url:
        events, seconds, cpu = demo_run(url, orders, f"{store} {orders:,}")
    return Figures(store, orders, events, seconds, cpu, orders, raw_seconds)


def record(figures: list[Figures], path: Path = RESULTS) -> dict[str, Any]:
    """Merge into ``path``: a run replaces the entries of the same store and size."""
    previous: dict[str, Any] = {}
    if path.exists():
        previous = json.loads(path.read_text("utf-8"))
    fresh = {(f.store, f.orders) for f in figures}
    runs = [r for r in previous.get("runs", []) if (r.get("store"), r.get("orders")) not in fresh]
    measured_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    for f in figures:
        runs.append({**f.to_dict(), "measured_at": measured_at})
    runs.sort(key=lambda r: (r["store"], r["orders"]))
    document = {
        "benchmark": "demo marketplace generator (python -m bench.demo)",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "runs": runs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    return document


def show(f: Figures) -> str:
    d = f.to_dict()
    return (
        f"{f.store:8s} {f.orders:>8,} orders {f.events:>10,} events {f.seconds:8.1f} s "
        f"(cpu {f.cpu_seconds:.1f} s)  {d['orders_per_second']:>8,.0f} orders/s "
        f"{d['events_per_second']:>8,.0f} events/s | raw save {f.raw_seconds:6.2f} s "
        f"{d['baseline']['events_per_second']:>9,.0f} events/s | "
        f"demo/raw events/s {d['ratio_events_per_second']:.3f}"
    )
