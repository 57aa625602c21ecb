"""``python -m bench.history_import [--orders N] [--no-postgres] [--workers N]``.

Imports a generated history of ``--orders`` orders of 2025 (``generate``: about
4.5 facts an order) into a fresh SQLite file and a fresh PostgreSQL database,
one transaction per order, as ``disputedesk import`` does (4 orders at once on
PostgreSQL, 1 on SQLite unless ``--workers``); then imports it again (it records
nothing). The baseline, measured in the same run on the same store: the demo
loading as many orders through the application's commands (``bench.demo``), in
batches of many orders per transaction. Figures go to
``bench/results/history_import.json`` (entries of other sizes and stores are kept).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.history_import import HistoryImport
from bench.demo import DEFAULT_ADMIN_URL, END, demo_run, postgres_url, sqlite_url
from bench.history_import.generate import generate
from domain.dispute import Actor
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings

RESULTS = Path(__file__).resolve().parent.parent / "results" / "history_import.json"
DEFAULT_WORKERS = {"sqlite": 1, "postgres": 4}


def import_run(url: str, history: Path, workers: int) -> dict[str, Any]:
    clock = ManualClock(END)
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=clock)
    try:
        document = copy.deepcopy(desk.current_policy().to_document())
        document.update(version="2025-history", effective_from="2025-01-01T00:00:00Z")
        desk.publish_policy(document, Actor("analyst", "bench"))
        importer = HistoryImport.for_desk(desk)
        with history.open("rb") as source:
            cpu = time.process_time()
            first = importer.run(source, workers=workers)
            cpu = time.process_time() - cpu
            again = importer.run(source, workers=workers)
    finally:
        desk.close()
    if again.events_recorded or first.facts_rejected:
        raise RuntimeError(f"unexpected: {first.facts_rejected} refused, "
                           f"{again.events_recorded} recorded by the second run")
    return {
        "lines": first.lines,
        "events": first.events_recorded,
        "derived": first.derived_recorded,
        "seconds": round(first.seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "orders_per_second": round(first.orders_per_second, 1),
        "events_per_second": round(first.events_recorded / first.seconds, 1),
        "rerun_seconds": round(again.seconds, 2),
        "rerun_orders_per_second": round(again.orders_per_second, 1),
        "rerun_events_recorded": again.events_recorded,
    }


def measure(store: str, orders: int, workers: int, admin_url: str) -> dict[str, Any]:
    def fresh() -> Any:
        return sqlite_url() if store == "sqlite" else postgres_url(admin_url)

    with tempfile.TemporaryDirectory(prefix="disputedesk-history-") as folder:
        history = Path(folder) / "history.jsonl"
        with history.open("wb") as out:
            generate(out, orders, seed=2025, bad=False)
        with fresh() as url:
            imported = import_run(url, history, workers)
    with fresh() as url:
        events, seconds, _cpu = demo_run(url, orders, f"{store} demo {orders:,}")
    baseline = {
        "what": "the demo loading as many orders through the commands, in batches",
        "orders": orders,
        "events": events,
        "seconds": round(seconds, 2),
        "orders_per_second": round(orders / seconds, 1),
    }
    return {
        "store": store,
        "orders": orders,
        "workers": workers,
        **imported,
        "baseline": baseline,
        "ratio_orders_per_second": round(imported["orders_per_second"]
                                         / baseline["orders_per_second"], 3),
    }


def record(runs: list[dict[str, Any]], path: Path = RESULTS) -> None:
    """Merge into ``path``: a run replaces the entries of the same store, size and workers."""
    previous: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    fresh = {(r["store"], r["orders"], r["workers"]) for r in runs}
    kept = [r for r in previous.get("runs", [])
            if (r.get("store"), r.get("orders"), r.get("workers")) not in fresh]
    measured_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    merged = sorted([*kept, *({**r, "measured_at": measured_at} for r in runs)],
                    key=lambda r: (r["store"], r["orders"], r["workers"]))
    document = {
        "benchmark": "history import (python -m bench.history_import)",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "runs": merged,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def show(r: dict[str, Any]) -> str:
    b = r["baseline"]
    return (
        f"{r['store']:8s} {r['orders']:>7,} orders ({r['workers']} worker(s)) "
        f"{r['seconds']:7.1f} s {r['orders_per_second']:>7,.0f} orders/s "
        f"{r['events_per_second']:>7,.0f} events/s | again {r['rerun_seconds']:.1f} s, "
        f"{r['rerun_events_recorded']} recorded | demo {b['orders_per_second']:,.0f} orders/s | "
        f"import/demo {r['ratio_orders_per_second']:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history_import", description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000, help="orders per store")
    parser.add_argument("--workers", type=int, default=None,
                        help="orders imported at once (default: 1 on SQLite, 4 on PostgreSQL)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DISPUTEDESK_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL,
        help="a maintenance database on the server (a fresh database is created and dropped)",
    )
    args = parser.parse_args(argv)
    configure_logging("json", "ERROR", stream=sys.stderr)
    stores = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    runs = []
    for store in stores:
        workers = args.workers or DEFAULT_WORKERS[store]
        run = measure(store, args.orders, workers, args.postgres_url)
        print(show(run), flush=True)
        runs.append(run)
    record(runs)
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
