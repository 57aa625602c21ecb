"""Load with faults off, then on: ``python -m bench.load [--seconds 30] [--users 200]``.

For each run creates the database ``disputedesk_load_<pid>_<run>`` on the local
PostgreSQL, runs bench.load.scenario against real ``serve`` and ``project``
processes (request rate limits lifted: ``DISPUTEDESK_RATE_LIMITS=off``), prints a
summary with throughput and p50/p99 per route, and drops the database. Writes
both runs to bench/results/load.json (``--faults on|off`` runs one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.load.scenario import ROOT, Config, run, summary
from infrastructure.logging import configure_logging

RESULTS = ROOT / "bench" / "results" / "load.json"
ADMIN_URL = os.environ.get(
    "DISPUTEDESK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of load per run")
    parser.add_argument("--users", type=int, default=200, help="concurrent simulated users")
    parser.add_argument("--orders", type=int, default=150, help="orders seeded first")
    parser.add_argument("--workers", type=int, default=2,
                        help="serve --workers (2: the Procfile's default, WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=None,
                        help="serve --threads: each worker's handler threads (default: "
                        "DISPUTEDESK_THREADS if set, else Python's)")
    parser.add_argument("--faults", choices=("both", "on", "off"), default="both",
                        help="which runs: without faults, with them, or both (first off)")
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the databases (to investigate a failure)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.users <= 2000:
        parser.error("--seconds must be 1..600 and --users 1..2000")
    configure_logging("console", "WARNING", stream=sys.stderr)
    print("rate limits lifted for the server: DISPUTEDESK_RATE_LIMITS=off", flush=True)
    plan = {"both": (False, True), "on": (True,), "off": (False,)}[args.faults]
    runs = {}
    for faults in plan:
        name = "faults_on" if faults else "faults_off"
        report = _run_once(args, faults, name)
        report["logs"] = "(temporary, removed)"
        runs[name] = report
    results = {"runs": runs, "ok": all(r["ok"] for r in runs.values())}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if results["ok"] else 1


def _run_once(args: argparse.Namespace, faults: bool, name: str) -> dict[str, Any]:
    dbname = f"disputedesk_load_{os.getpid()}_{name}"
    url = create(dbname)
    try:
        with tempfile.TemporaryDirectory(prefix="disputedesk-load-") as workdir:
            config = Config(database_url=url, workdir=Path(workdir), seconds=args.seconds,
                            users=args.users, orders=args.orders, faults=faults,
                            server_workers=args.workers, server_threads=args.threads)
            report = run(config)
            print(summary(report), flush=True)
            if not report["ok"]:
                for log_name in ("server.log", "worker.log"):
                    log = Path(workdir) / log_name
                    if log.exists():
                        kept = RESULTS.parent / f"load-{name}-{log_name}"
                        kept.parent.mkdir(parents=True, exist_ok=True)
                        kept.write_bytes(log.read_bytes())
                        print(f"  kept {kept}", file=sys.stderr)
    finally:
        if args.keep_db:
            print(f"kept the database {url}", file=sys.stderr)
        else:
            drop(dbname)
    return report


def create(dbname: str) -> str:
    """A new database on the local PostgreSQL; returns its URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def drop(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


if __name__ == "__main__":
    sys.exit(main())
