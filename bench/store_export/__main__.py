"""Benchmark: ``disputedesk export`` of a generated store, against the raw read of its log.

    .venv/bin/python -m bench.store_export --events 200000      # the quick run
    .venv/bin/python -m bench.store_export --events 1000000     # the full run

For each store (SQLite, PostgreSQL when reachable): generate about ``--events``
events (``bench.projections.generate``, the projections benchmark's marketplace),
then, in a fresh process, read the whole log in the export's pages doing nothing
(the baseline), export it to a file, and run the import's verification pass over
that file. The export's rate is compared with the raw read's, measured in the same
run on the same store; the child's peak RSS shows whether the log stayed out of
memory. Figures go to ``bench/results/store_export.json`` and to the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http.__main__ import postgres_database
from bench.projections.generate import generate
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "store_export.json"


def _generate(url: str, events: int) -> dict[str, Any]:
    app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}))
    try:
        started = time.perf_counter()
        made = generate(app, events)
        return {"events": made.events, "seconds": round(time.perf_counter() - started, 1)}
    finally:
        app.close()


def _measure(url: str, file: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.store_export.child", url, str(file)],
        cwd=ROOT, env={**os.environ, "DISPUTEDESK_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)},
        check=False, capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the export run failed:\n{out.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _run(store: str, url: str, events: int, workdir: Path) -> dict[str, Any]:
    print(f"{store}: generating ~{events:,} events ...", flush=True)
    generated = _generate(url, events)
    print(f"    {generated['events']:,} events in {generated['seconds']} s; exporting ...",
          flush=True)
    load = [round(x, 2) for x in os.getloadavg()]
    figures = _measure(url, workdir / f"{store}.jsonl")
    print(f"    export {figures['export_events_per_second']:,} events/s, raw read "
          f"{figures['raw_read_events_per_second']:,} events/s (ratio {figures['ratio']}), "
          f"{figures['file_mb']} MB, peak RSS {figures['peak_rss_mb']} MB", flush=True)
    return {"store": store, "generated": generated, **figures, "load_average": {
        "before": load, "after": [round(x, 2) for x in os.getloadavg()]}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.store_export")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args(argv)
    stores = {s.strip() for s in args.stores.split(",") if s.strip()}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="disputedesk-bench-export-") as tmp:
        workdir = Path(tmp)
        if "sqlite" in stores:
            runs.append(_run("sqlite", f"sqlite:///{workdir / 'events.db'}", args.events,
                             workdir))
        if "postgres" in stores:
            with postgres_database() as url:
                if url is not None:
                    runs.append(_run("postgres", url, args.events, workdir))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "events": args.events,
        "runs": runs}, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
