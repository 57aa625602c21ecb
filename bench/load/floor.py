"""What the load run's users could get at best, one kind of request at a time:
``python -m bench.load.floor [--seconds 15] [--users 200]``.

The same users as ``bench.load`` (each sends a request, pauses 0 to 50 ms, sends
the next), against the same ``serve --workers 2`` and ``project`` processes on a
fresh PostgreSQL database, but every user sends one kind of request: ``/livez``
(the HTTP stack with no work), a case read (answered from memory: nothing is
written meanwhile), the case list (a read-model query), a seller contact (a
command). For each: requests a second, p50 and p99, and the CPU a request cost
the server, PostgreSQL and the load generator together. The mixed load run can
do no better than its requests' mix of these allows; the CPU a request says how
many requests a second the machine's cores can answer at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import machine
from bench.load.__main__ import create, drop
from bench.load.scenario import Client, Config, Processes, Stats, cpu_parts, cpu_used, seed, token
from infrastructure.logging import configure_logging

KINDS = ("livez", "case", "list", "contact")


async def _load(processes: Processes, kind: str, users: int, seconds: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=users)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        seeding = Client(session, processes.base, Stats(), time.monotonic() + 600, 10**6)
        orders = await seed(seeding, 150)
        latencies: list[float] = []
        failures = 0
        deadline = time.monotonic() + seconds

        async def one(rng: random.Random) -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                order = rng.choice(orders)
                headers = token("buyer", order.buyer_id)
                method, path, body = "GET", "/livez", None
                if kind == "case":
                    path = f"/v1/disputes/{order.dispute_id}"
                elif kind == "list":
                    path = "/v1/disputes?limit=20"
                elif kind == "contact":
                    method, path = "POST", f"/v1/disputes/{order.dispute_id}/seller-contacts"
                    body = {"message": uuid.uuid4().hex, "channel": "chat"}
                    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                async with session.request(method, processes.base + path, json=body,
                                           headers=headers) as response:
                    await response.read()
                    failures += response.status >= 300
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(rng.uniform(0.0, 0.05))

        before, reading = cpu_parts(processes), machine.read()
        started = time.monotonic()
        await asyncio.gather(*(one(random.Random(n)) for n in range(users)))
        elapsed = time.monotonic() - started
        used = cpu_used(before, cpu_parts(processes))
        busy = machine.between(reading, machine.read(), elapsed)
    latencies.sort()
    count = len(latencies)
    cpu = sum(used.values())
    return {"kind": kind, "requests": count, "failures": failures,
            "rps": round(count / elapsed), "p50_ms": round(latencies[count // 2] * 1000, 1),
            "p99_ms": round(latencies[int(count * 0.99)] * 1000, 1),
            "cpu_ms_per_request": round(cpu / count * 1000, 2),
            "cpu": {part: round(seconds / elapsed, 2) for part, seconds in used.items()},
            "busy_pct": busy.busy_pct if busy is not None else "?"}


def run_kind(kind: str, users: int, seconds: float) -> dict[str, Any]:
    dbname = f"disputedesk_floor_{os.getpid()}_{kind}"
    url = create(dbname)
    try:
        with tempfile.TemporaryDirectory(prefix="disputedesk-floor-") as workdir:
            processes = Processes(Config(database_url=url, workdir=Path(workdir),
                                         server_workers=2))
            try:
                processes.start_server()
                processes.start_worker()
                return asyncio.run(_load(processes, kind, users, seconds))
            finally:
                processes.stop_all()
    finally:
        drop(dbname)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.floor", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--only", choices=KINDS, action="append")
    args = parser.parse_args()
    configure_logging("console", "WARNING", stream=sys.stderr)
    print(f"{args.users} users pausing 0-50 ms, serve --workers 2, {args.seconds:g} s each; "
          "rate limits lifted: DISPUTEDESK_RATE_LIMITS=off", flush=True)
    for kind in args.only or KINDS:
        r = run_kind(kind, args.users, args.seconds)
        cpu = ", ".join(f"{part} {share}" for part, share in r["cpu"].items())
        print(f"  {kind:8} {r['rps']:6,} req/s  p50 {r['p50_ms']:7.1f} ms  p99 "
              f"{r['p99_ms']:7.1f} ms  {r['cpu_ms_per_request']:.2f} ms CPU a request "
              f"({cpu} CPUs; machine {r['busy_pct']}% busy)  non-2xx {r['failures']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
