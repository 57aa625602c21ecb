"""One hot dispute, two server processes, 24 careful clients: each command once, no 412, no 500.

Two ``disputedesk serve`` processes share one PostgreSQL database; 24 client
threads, half on each, send notes and evidence to the SAME dispute, each command
with its own ``Idempotency-Key``, a unique text and no ``If-Match``, and retry
the same request with the same key on a timeout, a connection error or a 5xx
(see ``careful_client``). Commands that do not ask for a version must not be
refused because others wrote first: 412 answers only a stale ``If-Match``. Then
the events table is read directly: every acknowledged command is stored exactly
once, and no text twice.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import reset_postgres
from tests.e2e.careful_client import (
    CarefulClient,
    Command,
    Ledger,
    Server,
    Servers,
    issue_tokens,
    mixed_command,
    place_order,
    verify,
)

THREADS = 24
#: Enough for the dispute's history to grow to about a thousand events: the
#: longer a case view takes to build, the wider the window of any race between
#: two commands in one process.
COMMANDS_PER_THREAD = 40
#: No new command after this long; every command is decided by LOAD_BOUND.
LOAD_SECONDS = 35.0
LOAD_BOUND = 60.0
COMMAND_BOUND = 30.0
BUYER, SELLER = "b-hot", "s-hot"


def _command(n: int, i: int, dispute_id: str) -> Command:
    return mixed_command(n, i, dispute_id, BUYER, SELLER)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_hot_dispute_records_every_command_once(
    postgres_url: str, tmp_path: Path, servers: Servers
) -> None:
    began = time.monotonic()
    reset_postgres(postgres_url)
    first = servers.add(Server(postgres_url, tmp_path / "server-a.log"))
    second = servers.add(Server(postgres_url, tmp_path / "server-b.log"))
    who = [("platform", "feed"), ("moderator", "m-1"), ("buyer", BUYER), ("seller", SELLER)]
    with ThreadPoolExecutor(1) as pool:
        tokens_job = pool.submit(issue_tokens, who)
        first.start(timeout=45)  # creates the tables alone, then the second one starts
        second.start(timeout=45)
        tokens = tokens_job.result(timeout=60)
    dispute_id = place_order(first.base, tokens[("platform", "feed")], "hot-1", BUYER, SELLER)
    setup_seconds = time.monotonic() - began

    ledger = Ledger()
    errors: list[BaseException] = []
    load_began = time.monotonic()
    stop_at = load_began + LOAD_SECONDS
    deadline = load_began + LOAD_BOUND
    start_line = threading.Barrier(THREADS)

    def work(n: int) -> None:
        server = (first, second)[n % 2]
        client = CarefulClient(server.base, tokens, timeout=15.0, bound=COMMAND_BOUND,
                               deadline=deadline, seed=n)
        try:
            start_line.wait(timeout=30)
            for i in range(COMMANDS_PER_THREAD):
                if time.monotonic() >= stop_at:
                    break
                ledger.add(client.send(_command(n, i, dispute_id)))
        except BaseException as error:
            errors.append(error)
            raise
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(n,), name=f"hot-{n}", daemon=True)
               for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 20.0))
    load_seconds = time.monotonic() - load_began
    alive = [t.name for t in threads if t.is_alive()]
    for server in (first, second):
        server.stop()

    verdict = verify(postgres_url, ledger.outcomes)
    report = (
        f"setup {setup_seconds:.1f} s, load {load_seconds:.1f} s, total "
        f"{time.monotonic() - began:.1f} s; {THREADS} threads on one dispute, two servers\n"
        + verdict.summary()
    )
    print(report)
    for server in (first, second):
        unhandled = server.log_lines('"http.unhandled_error"')
        if unhandled:
            print(f"{server.log_path.name}: {len(unhandled)} unhandled errors; the first:\n"
                  + unhandled[0][:2000])
    refused_412 = verdict.statuses.get("412", 0)

    assert not errors, f"client threads failed: {errors!r}\n{report}"
    assert not alive, f"client threads still running: {alive}\n{report}"
    assert verdict.server_errors == 0, f"responses with status 500\n{report}"
    assert refused_412 == 0, f"412 without If-Match\n{report}"
    assert verdict.duplicates == [], f"commands recorded more than once\n{report}"
    assert verdict.lost == [], f"acknowledged commands not recorded\n{report}"
    assert verdict.undecided == [], f"commands without a definite answer\n{report}"
    assert verdict.refused_but_recorded == [], f"refused commands recorded anyway\n{report}"
    assert verdict.acked >= 8 * THREADS, f"too little load to tell anything\n{report}"
