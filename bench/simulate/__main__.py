"""Run the simulation benchmark (see ``bench/simulate/__init__.py``)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.projections.generate import START, generate
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "simulate.json"
WORKDIR = ROOT / "var" / "bench-simulate"
ADMIN_URL = os.environ.get(
    "DISPUTEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CANDIDATES: dict[str, dict[str, Any]] = {
    "one_region": {"regions.US.ship_within_business_days": 3},
    "every_order": {"defaults.ship_within_business_days": 3},
}
TARGET_RATIO = 0.6
TARGET_RSS_MB = 300


def _postgres_url(dbname: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def _prepare(store: str, events: int, reuse: bool) -> tuple[str, bool]:
    """The store's URL, and whether it already holds the events (``--reuse``)."""
    if store == "sqlite":
        WORKDIR.mkdir(parents=True, exist_ok=True)
        path = WORKDIR / f"events-{events}.db"
        if reuse and path.exists():
            return f"sqlite:///{path}", True
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", False
    dbname = f"disputedesk_bench_simulate_{events}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if reuse and exists:
            return _postgres_url(dbname), True
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return _postgres_url(dbname), False


def _generate(url: str, events: int, ready: bool) -> dict[str, Any]:
    clock = ManualClock(START)
    app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}), clock=clock)
    try:
        if ready:
            recorded = app.recorder.max_notification_id() or 0
            return {"events": recorded, "seconds": None, "reused": True}
        began = time.perf_counter()
        generated = generate(app, events)
        seconds = time.perf_counter() - began
        return {
            "events": generated.events,
            "disputes": generated.disputes,
            "seconds": round(seconds, 1),
            "events_per_second": round(generated.events / seconds),
            "reused": False,
        }
    finally:
        app.close()


def _measure(mode: str, url: str, as_of: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.simulate.measure", mode, url, as_of.isoformat()]
    if mode == "sim":
        argv.append(json.dumps(changes))
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} measurement failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(runs, key=lambda r: r["events_per_second"])


def _run_store(store: str, events: int, repeats: int, reuse: bool) -> dict[str, Any]:
    url, ready = _prepare(store, events, reuse)
    print(f"[{store}] generating {events} events ..." if not ready else f"[{store}] reusing",
          flush=True)
    generation = _generate(url, events, ready)
    print(f"[{store}] store ready: {generation}", flush=True)
    # Every generated event lies within a few weeks of the last order placed.
    as_of = START + timedelta(days=365)
    figures: dict[str, Any] = {"generation": generation, "as_of": as_of.isoformat()}
    for name, changes in CANDIDATES.items():
        raw_runs, sim_runs = [], []
        for _ in range(repeats):
            raw_runs.append(_measure("raw", url, as_of, changes))
            sim_runs.append(_measure("sim", url, as_of, changes))
        raw, sim = _best(raw_runs), _best(sim_runs)
        cpu_raw = min(r["cpu_seconds"] for r in raw_runs)
        cpu_sim = min(r["cpu_seconds"] for r in sim_runs)
        figures[name] = {
            "changes": changes,
            "raw_events_per_second": raw["events_per_second"],
            "sim_events_per_second": sim["events_per_second"],
            "ratio": round(sim["events_per_second"] / raw["events_per_second"], 3),
            "cpu_ratio": round(cpu_raw / cpu_sim, 3),
            "raw_seconds": raw["seconds"],
            "sim_seconds": sim["seconds"],
            "sim_peak_rss_mb": max(r["peak_rss_mb"] for r in sim_runs),
            "sim_rss_at_start_mb": sim["rss_before_mb"],
            "raw_peak_rss_mb": max(r["peak_rss_mb"] for r in raw_runs),
            "report": sim["report"],
            "runs": {"raw": raw_runs, "sim": sim_runs},
        }
        print(
            f"[{store}] {name}: raw {raw['events_per_second']}/s, sim "
            f"{sim['events_per_second']}/s, ratio {figures[name]['ratio']} (cpu "
            f"{figures[name]['cpu_ratio']}), sim peak RSS {figures[name]['sim_peak_rss_mb']} MB, "
            f"baseline reproduces the record: {sim['report']['baseline_matches_recorded']}",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 events")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="reuse a store generated before")
    args = parser.parse_args()
    events = 1_000_000 if args.full else args.events
    configure_logging("json", "WARNING")
    results: dict[str, Any] = {
        "benchmark": "simulate",
        "events": events,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "targets": {"ratio": TARGET_RATIO, "peak_rss_mb": TARGET_RSS_MB},
        "stores": {},
    }
    for store in args.stores.split(","):
        try:
            results["stores"][store] = _run_store(store.strip(), events, args.repeats, args.reuse)
        except psycopg.OperationalError as error:
            print(f"[{store}] skipped: {error}", flush=True)
            results["stores"][store] = {"skipped": str(error)}
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _write(events, results)


def _write(events: int, results: dict[str, Any]) -> None:
    """Keep one entry per store size (the quick and the full run side by side)."""
    runs: dict[str, Any] = {}
    if RESULTS.exists():
        previous = json.loads(RESULTS.read_text("utf-8"))
        runs = previous.get("runs") or {str(previous.get("events")): previous}
    runs[str(events)] = results
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    ordered = dict(sorted(runs.items(), key=lambda item: int(item[0])))
    document = {"benchmark": "simulate", "runs": ordered}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
