"""Load and faults, one bounded run: ``python -m bench.load [--seconds 30] [--users 200]``.

Creates the database ``disputedesk_load_<pid>`` on the local PostgreSQL, runs
bench.load.scenario against real ``serve`` and ``project`` processes, prints a
summary, writes bench/results/load.json and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
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
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--users", type=int, default=200, help="concurrent simulated users")
    parser.add_argument("--orders", type=int, default=150, help="orders seeded first")
    parser.add_argument("--keep-db", action="store_true",
                        help="keep the database (to investigate a failure)")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.users <= 2000:
        parser.error("--seconds must be 1..600 and --users 1..2000")
    configure_logging("console", "WARNING", stream=sys.stderr)
    dbname = f"disputedesk_load_{os.getpid()}"
    parts = urlsplit(ADMIN_URL)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        with tempfile.TemporaryDirectory(prefix="disputedesk-load-") as workdir:
            config = Config(database_url=url, workdir=Path(workdir), seconds=args.seconds,
                            users=args.users, orders=args.orders)
            report = run(config)
            print(summary(report))
            if not report["ok"]:
                for name in ("server.log", "worker.log"):
                    log = Path(workdir) / name
                    if log.exists():
                        kept = RESULTS.parent / f"load-{name}"
                        kept.write_bytes(log.read_bytes())
                        print(f"  kept {kept}", file=sys.stderr)
    finally:
        if args.keep_db:
            print(f"kept the database {url}", file=sys.stderr)
        else:
            _drop(dbname)
    report["logs"] = "(temporary, removed)"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if report["ok"] else 1


def _drop(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


if __name__ == "__main__":
    sys.exit(main())
