"""``python -m bench.demo [--orders N] [--full] [--no-postgres]``."""

from __future__ import annotations

import argparse
import os
import sys

from bench.demo import DEFAULT_ADMIN_URL, RESULTS, Figures, measure, record, show
from infrastructure.logging import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000, help="orders per store")
    parser.add_argument("--full", action="store_true", help="also 200,000 orders on SQLite")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DISPUTEDESK_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL,
        help="a maintenance database on the server (a fresh database is created and dropped)",
    )
    args = parser.parse_args(argv)
    configure_logging("json", "WARNING", stream=sys.stderr)

    plan = [("sqlite", args.orders)]
    if not args.no_postgres:
        plan.append(("postgres", args.orders))
    if args.full:
        plan.append(("sqlite", 200_000))
    results: list[Figures] = []
    for store, orders in plan:
        figures = measure(store, orders, args.postgres_url)
        print(show(figures), flush=True)
        results.append(figures)
    record(results)
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
