"""Commands from many threads at once, in-process: ``python -m bench.http.threads``.

What a server's worker threads do to the application, without HTTP: the same
command (``contact_seller`` on 200 disputes) called from one thread, then from
``--threads`` threads side by side, then from as many threads taking turns
(``serial_commands``, the default on SQLite). Prints commands per second and
the process's CPU per command for each; then the latency of a command issued
every 10 ms while another thread writes back to back, as a sweep does. On
SQLite and, with ``--postgres``, on a new PostgreSQL database.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from bench.http.__main__ import postgres_database
from bench.http.orders import BUYER, place_orders
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings

DISPUTES = 200


def _run(url: str, threads: int, serial: bool, count: int, prefix: str) -> tuple[float, float]:
    """Commands per second and CPU microseconds per command."""
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}),
                             serial_commands=serial)
    try:
        ids = [uuid.UUID(i) for i in place_orders(desk, prefix, DISPUTES)]

        def contact(index: int) -> None:
            desk.contact_seller(ids[index % DISPUTES], message="Where is my order?",
                                channel="chat", actor=BUYER)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(contact, range(min(count, 100))))  # warm up, start the threads
            started, cpu = time.perf_counter(), time.process_time()
            list(pool.map(contact, range(count)))
            wall, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    finally:
        desk.close()
    return count / wall, cpu_used / count * 1e6


def _beside_a_sweep(url: str, serial: bool, count: int, prefix: str) -> list[float]:
    """Milliseconds for each of ``count`` commands, one every 10 ms, while another
    thread records commands back to back (as a sweep does), sorted."""
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}),
                             serial_commands=serial)
    stop = threading.Event()
    try:
        sweep_ids = [uuid.UUID(i) for i in place_orders(desk, f"{prefix}-s", DISPUTES)]
        own_ids = [uuid.UUID(i) for i in place_orders(desk, f"{prefix}-r", DISPUTES)]

        def sweep() -> None:
            index = 0
            while not stop.is_set():
                desk.contact_seller(sweep_ids[index % DISPUTES], message="swept",
                                    channel="chat", actor=BUYER)
                index += 1

        sweeper = threading.Thread(target=sweep, daemon=True)
        sweeper.start()
        latencies = []
        for index in range(count):
            started = time.perf_counter()
            desk.contact_seller(own_ids[index % DISPUTES], message="Where is my order?",
                                channel="chat", actor=BUYER)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)
        stop.set()
        sweeper.join()
    finally:
        stop.set()
        desk.close()
    return sorted(latencies)


@contextlib.contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
        yield f"sqlite:///{tmp}/events.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--count", type=int, default=3000, help="commands per measurement")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--beside", type=int, default=300,
                        help="commands timed one by one beside a back-to-back writer")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    stores = [("sqlite", _sqlite())]
    if args.postgres:
        stores.append(("postgres", postgres_database()))
    for store, database in stores:
        with database as url:
            if url is None:
                continue
            for label, threads, serial in (("one thread", 1, False),
                                           (f"{args.threads} threads side by side",
                                            args.threads, False),
                                           (f"{args.threads} threads taking turns",
                                            args.threads, True)):
                rate, cpu_us = _run(url, threads, serial, args.count, f"{store}-{threads}-{serial}")
                print(f"  {store:<9} {label:<28} {rate:8.0f} commands/s  {cpu_us:7.0f} us CPU each",
                      flush=True)
            for label, serial in (("side by side", False), ("taking turns", True)):
                ms = _beside_a_sweep(url, serial, args.beside, f"{store}-beside-{serial}")
                print(f"  {store:<9} a command beside a sweep, {label:<13} "
                      f"p50 {ms[len(ms) // 2]:6.1f} ms  p90 {ms[int(len(ms) * 0.9)]:6.1f} ms  "
                      f"p99 {ms[int(len(ms) * 0.99)]:6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
