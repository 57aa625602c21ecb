"""Commands over HTTP on PostgreSQL, group commit off and on: ``python -m bench.commands_pg``.

``disputedesk serve --workers 2`` on a fresh PostgreSQL database, 64 keep-alive
connections sending ``POST /v1/disputes/{id}/seller-contacts`` spread over many
cases, with ``DISPUTEDESK_GROUP_COMMIT=off`` (one transaction per command: the
baseline) and with the setting unset (group commit, where it exists), in turns
(``--rounds``) so both see the machine's drift alike. Each worker runs
``--threads`` handler threads (``DISPUTEDESK_THREADS``; default 32, so that
the 64 connections' commands are all in the server at once, as "at 64
connections" means; Python's default would let 12 in and queue the rest).
Prints each run, the median rates, their ratio (target 2.5x) and the CPU time
per command: the server processes' (the workers and their parent, from
``/proc``), PostgreSQL's and the load generator's, so that the machine's
ceiling shows.

Writes bench/results/commands_pg.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import machine
from bench.http.__main__ import (
    NO_RATE_LIMITS,
    _nth,
    free_port,
    line,
    postgres_database,
    seed,
    serve_argv,
    server,
)
from bench.http.load import LoadResult, Request, run_load
from bench.http.orders import BUYER, SECRET
from bench.machine import own_cpu_seconds, postgres_cpu_seconds, process_cpu_seconds
from infrastructure.logging import configure_logging
from infrastructure.ops_settings import MAX_THREADS
from interface.http.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "commands_pg.json"
CONNECTIONS = 64
WORKERS = 2
TARGET = 2.5
#: Seconds before the measured window: the connections open and the cases are kept.
WARMUP = 2.0
#: Seconds between opening two connections (all open within the warm-up): opened in
#: one burst, they may all be accepted by one worker (the workers share one socket).
STAGGER = 0.02
#: The two runs: the setting's value for each (None: unset).
MODES: dict[str, str | None] = {"group_commit_off": "off", "group_commit_default": None}
#: CPU time per command: the server's, PostgreSQL's, the load generator's.
CPU_KEYS = ("cpu_ms_per_command", "database_cpu_ms_per_command", "client_cpu_ms_per_command")


def measure(url: str, mode: str | None, ids: list[str], token: str, work: Path,
            duration: float, threads: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPUTEDESK_SECRET": SECRET,
           "DISPUTEDESK_LOG_FORMAT": "json", "DISPUTEDESK_DATABASE_URL": url,
           "DISPUTEDESK_THREADS": str(threads), **NO_RATE_LIMITS}
    env.pop("DISPUTEDESK_GROUP_COMMIT", None)
    if mode is not None:
        env["DISPUTEDESK_GROUP_COMMIT"] = mode
    headers = {"Authorization": f"Bearer {token}"}
    body = {"message": "Where is my order?", "channel": "chat"}
    port = free_port()
    pids: list[int] = []
    at_start: dict[str, Any] = {}

    def counters() -> dict[str, Any]:
        processes = process_cpu_seconds(pids[0])
        return {"server": sum(processes.values()), "database": postgres_cpu_seconds(),
                "client": own_cpu_seconds(), "processes": processes, "machine": machine.read()}

    with server(serve_argv(port, WORKERS), env, work, port, work / "server.log", pids) as base:
        posts = [Request("POST", f"{base}/v1/disputes/{i}/seller-contacts", headers, body)
                 for i in ids]
        make = functools.partial(_nth, posts)
        result = run_load(make, connections=CONNECTIONS, warmup=WARMUP, duration=duration,
                          stagger=STAGGER, measuring=lambda: at_start.update(counters()))
        at_end = counters()
    cpu, database, client = (at_end[k] - at_start[k] for k in ("server", "database", "client"))
    use = machine.between(at_start["machine"], at_end["machine"], result.seconds)
    worked = {pid: at_end["processes"][pid] - at_start["processes"].get(pid, 0.0)
              for pid in at_end["processes"]}
    busy = sum(worked.values()) or 1.0
    # the server processes' shares of its CPU time, largest first (the supervisor's ~0)
    shares = sorted((round(100 * seconds / busy) for seconds in worked.values()), reverse=True)
    ok = sum(n for status, n in result.statuses.items() if 200 <= status < 300)

    def per_command(seconds: float) -> float | None:
        return round(seconds / ok * 1000, 3) if ok else None

    return {**result.as_dict(), "group_commit": mode or "(unset)", "commands": ok,
            "server_cpu_seconds": round(cpu, 3),
            "cpu_ms_per_command": per_command(cpu),
            "database_cpu_ms_per_command": per_command(database),
            "client_cpu_ms_per_command": per_command(client),
            "machine": use.as_dict() if use is not None else None,
            "server_process_cpu_shares_pct": shares[:WORKERS + 1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per run")
    parser.add_argument("--disputes", type=int, default=400, help="cases the commands go to")
    parser.add_argument("--rounds", type=int, default=3, help="turns of both runs (medians)")
    parser.add_argument("--threads", type=int, default=CONNECTIONS // WORKERS,
                        help="handler threads per worker, both runs (DISPUTEDESK_THREADS)")
    args = parser.parse_args()
    if args.rounds < 1 or not 1 <= args.threads <= MAX_THREADS:
        parser.error(f"--rounds must be at least 1, --threads 1 to {MAX_THREADS}")
    configure_logging("console", "WARNING")
    print("rate limits lifted for the servers: DISPUTEDESK_RATE_LIMITS=off", flush=True)
    print(f"{WORKERS} workers of {args.threads} handler threads each "
          f"(DISPUTEDESK_THREADS={args.threads}), {CONNECTIONS} connections", flush=True)
    token = issue_token(SECRET, "buyer", BUYER.id, ttl=timedelta(hours=1))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-commands-pg-") as tmp, \
            postgres_database() as url:
        if url is None:
            raise SystemExit("PostgreSQL is needed for this benchmark")
        ids = seed(url, "cmd", args.disputes)
        for turn in range(1, args.rounds + 1):
            for name, mode in MODES.items():
                run = measure(url, mode, ids, token, Path(tmp), args.duration, args.threads)
                runs[name].append(run)
                setting = f"GROUP_COMMIT={mode}" if mode else "GROUP_COMMIT unset"
                print(f"  round {turn} {setting}: "
                      + line(f"POST seller-contacts, {WORKERS} workers",
                             _as_result(run)).strip()
                      + f"   CPU ms/command: server {run['cpu_ms_per_command']},"
                      f" PostgreSQL {run['database_cpu_ms_per_command']},"
                      f" load generator {run['client_cpu_ms_per_command']}; server processes' "
                      f"shares {run['server_process_cpu_shares_pct']}%; machine: "
                      + (machine.describe(run["machine"]) if run["machine"] else "(not known)"),
                      flush=True)
    off, on = _median(runs["group_commit_off"]), _median(runs["group_commit_default"])
    ratio = on["rps"] / off["rps"] if off["rps"] else 0.0
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "connections": CONNECTIONS, "workers": WORKERS, "threads": args.threads,
        "rate_limits": "off",
        "duration": args.duration, "rounds": args.rounds, "runs": runs,
        "median": {"group_commit_off": off, "group_commit_default": on},
        "ratio_on_over_off": round(ratio, 3),
        "target": f">= {TARGET}", "met": ratio >= TARGET,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"medians of {args.rounds} rounds: {off['rps']} rps off, {on['rps']} rps on; "
          f"group commit (unset) / off = {ratio:.2f}  (target >= {TARGET}: "
          f"{'met' if ratio >= TARGET else 'NOT met'}); CPU ms per command off / on: "
          f"server {off['cpu_ms_per_command']} / {on['cpu_ms_per_command']}, PostgreSQL "
          f"{off['database_cpu_ms_per_command']} / {on['database_cpu_ms_per_command']}, "
          f"load generator {off['client_cpu_ms_per_command']} / "
          f"{on['client_cpu_ms_per_command']}; {os.cpu_count()} CPUs; "
          f"written to {RESULTS.relative_to(ROOT)}")


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median rate and CPU per command (server, PostgreSQL, load generator) of a
    mode's rounds."""
    figures = {"rps": round(statistics.median(r["rps"] for r in runs), 1)}
    for key in CPU_KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        figures[key] = round(statistics.median(values), 3) if values else 0.0
    return figures


def _as_result(run: dict[str, Any]) -> LoadResult:
    """A run's figures in the shape :func:`bench.http.__main__.line` prints."""
    return LoadResult(run["requests"], run["errors"], run["seconds"], run["rps"], run["p50_ms"],
                      run["p99_ms"], {}, {})


if __name__ == "__main__":
    main()
