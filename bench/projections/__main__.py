"""Benchmark: rebuilding every read model, batched vs one transaction per event.

    .venv/bin/python -m bench.projections --events 200000      # the quick run
    .venv/bin/python -m bench.projections --events 1000000     # the full run

For each store (SQLite, PostgreSQL): generate a synthetic marketplace of about
``--events`` events (``bench.projections.generate``), time a full rebuild of all
read models (``disputedesk project --rebuild all``'s code) in a fresh process,
time the one-transaction-per-event loop over the first ``--baseline-events``
events (at most 30 s of it), and measure the peak RSS of a projection run at half the
events and at all of them (flat memory: the two should be close once the
aggregate cache, 20,000 disputes or, where a thread writes the batches (PostgreSQL),
``max(20,000, batch size)``, is full). Figures go
to ``bench/results/projections.json`` and to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.projections.generate import generate
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "projections.json"
ADMIN_URL = os.environ.get(
    "DISPUTEDESK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TARGET_RATE = 20_000
TARGET_SPEEDUP = 20
BASELINE_SECONDS = 30  # the per-event loop stops early after this long (fsync-bound stores)


def _child(url: str, mode: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.projections.child", url, mode, *args],
        cwd=ROOT, env={**os.environ, "DISPUTEDESK_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)},
        check=False, capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} {' '.join(args)} failed:\n{out.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _cpu_micros(run: dict[str, Any]) -> float:
    """CPU time of the measured process per event: steadier than the rate on a busy machine."""
    return round(run["cpu_seconds"] / run["events"] * 1e6, 1) if run["events"] else 0.0


def _generate(url: str, events: int) -> dict[str, Any]:
    app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}))
    try:
        started = time.perf_counter()
        made = generate(app, events)
        seconds = time.perf_counter() - started
        head = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    return {"events": made.events, "disputes": made.disputes, "head": head,
            "seconds": round(seconds, 1), "events_per_second": round(made.events / seconds)}


def _measure(url: str, head: int, batch_size: int, baseline_events: int) -> dict[str, Any]:
    print("    rebuild of all read models ...", flush=True)
    full = _child(url, "rebuild", "--batch-size", str(batch_size))
    print(f"      {full['events']:,} events in {full['seconds']} s: "
          f"{full['events_per_second']:,}/s, {_cpu_micros(full)} µs of CPU per event "
          f"(peak RSS {full['peak_rss_mb']} MB)", flush=True)
    slice_stop = min(head, baseline_events)
    print(f"    one transaction per event, first {slice_stop:,} events ...", flush=True)
    per_event = _child(url, "per-event", "--stop", str(slice_stop),
                       "--max-seconds", str(BASELINE_SECONDS))
    print(f"      {per_event['events_per_second']:,}/s ({per_event['events']:,} events)",
          flush=True)
    batched_slice = _child(url, "rebuild", "--batch-size", str(batch_size),
                           "--stop", str(per_event["position"]))
    half = _child(url, "rebuild", "--batch-size", str(batch_size), "--stop", str(head // 2))
    speedup = full["events_per_second"] / per_event["events_per_second"]
    print(f"      batched over the same slice: {batched_slice['events_per_second']:,}/s; "
          f"full rebuild / per-event: {speedup:.1f}x", flush=True)
    print(f"    peak RSS: {half['peak_rss_mb']} MB at {half['events']:,} events, "
          f"{full['peak_rss_mb']} MB at {full['events']:,}", flush=True)
    return {
        "rebuild": full,
        "per_event_baseline": per_event,
        "batched_same_slice": batched_slice,
        "speedup_vs_per_event": round(speedup, 1),
        "speedup_same_slice": round(
            batched_slice["events_per_second"] / per_event["events_per_second"], 1
        ),
        "memory": {
            "half": {"events": half["events"], "peak_rss_mb": half["peak_rss_mb"]},
            "full": {"events": full["events"], "peak_rss_mb": full["peak_rss_mb"]},
        },
        "targets": {
            f"rebuild_at_least_{TARGET_RATE}_per_s": full["events_per_second"] >= TARGET_RATE,
            f"at_least_{TARGET_SPEEDUP}x_per_event": speedup >= TARGET_SPEEDUP,
        },
    }


def _sqlite(events: int, batch_size: int, baseline: int, workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'bench-events.db'}"
    print(f"SQLite ({workdir}): generating ~{events:,} events ...", flush=True)
    generated = _generate(url, events)
    print(f"    {generated['events']:,} events, {generated['disputes']:,} disputes in "
          f"{generated['seconds']} s", flush=True)
    return {"generated": generated, **_measure(url, generated["head"], batch_size, baseline)}


def _postgres(events: int, batch_size: int, baseline: int) -> dict[str, Any]:
    dbname = f"disputedesk_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(ADMIN_URL, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"
    try:
        print(f"PostgreSQL ({dbname}): generating ~{events:,} events ...", flush=True)
        generated = _generate(url, events)
        print(f"    {generated['events']:,} events, {generated['disputes']:,} disputes in "
              f"{generated['seconds']} s", flush=True)
        return {"generated": generated, **_measure(url, generated["head"], batch_size, baseline)}
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        admin.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.projections")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--baseline-events", type=int, default=20_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    stores = {s.strip() for s in args.stores.split(",") if s.strip()}
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "batch_size": args.batch_size,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "stores": {},
    }
    with tempfile.TemporaryDirectory(prefix="disputedesk-bench-") as tmp:
        for store in ("sqlite", "postgres"):
            if store not in stores:
                continue
            load = [round(x, 2) for x in os.getloadavg()]
            if store == "sqlite":
                figures = _sqlite(args.events, args.batch_size, args.baseline_events, Path(tmp))
            else:
                figures = _postgres(args.events, args.batch_size, args.baseline_events)
            figures["when"] = datetime.now(UTC).isoformat(timespec="seconds")
            figures["load_average"] = {
                "before": load, "after": [round(x, 2) for x in os.getloadavg()]
            }
            report["stores"][store] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        try:
            existing = json.loads(RESULTS.read_text())
        except ValueError:
            existing = {}
    runs = existing.get("runs", {}) if isinstance(existing, dict) else {}
    previous = runs.get(str(args.events), {}).get("stores", {})
    report["stores"] = {**previous, **report["stores"]}  # a run of one store keeps the other
    runs[str(args.events)] = report
    RESULTS.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
