"""A command acknowledged once is recorded once, for a careful client, through faults.

``disputedesk serve --workers 2`` runs as a real process tree whose database is
reached through a TCP proxy. Ten client threads send notes and evidence, each
command with its own ``Idempotency-Key`` and a unique text, and retry the same
request with the same key until they get a definite answer (see
``careful_client``). Meanwhile the test

(a) kill -9s the server's whole process group and starts it again,
(b) makes the database refuse connections for 10 s,
(c) makes the database hang (no byte passes) for 8 s.

Each fault is struck the moment the server logs that a command's event was
committed (or after 3 s without one), so that it lands between the command's
commit and its answer (and the completion of its key): the window where a retry
can record a command twice.

Then the events table is read directly: every acknowledged command is stored
exactly once, no text is stored twice, no attempt was answered 500, and every
command ended with a definite answer within its bound.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import reset_postgres
from tests.e2e.careful_client import (
    EVENT_RECORDED,
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
from tests.tcp_proxy import TcpProxy

THREADS = 10
ORDERS = 6
#: A command gets its definite answer within this. It is longer than a one-minute
#: lease on a key left "in progress", so that such a key is followed to its end: a
#: command then run a second time shows up as a duplicate, not as a timeout.
COMMAND_BOUND = 68.0
#: Every command is decided this long after the load began, whatever happens.
LOAD_BOUND = 68.0
MAX_COMMANDS_PER_THREAD = 400
PAUSE = 0.05
REFUSE_SECONDS = 10.0
HANG_SECONDS = 8.0
#: Load without faults after each one, for the server to recover and work.
SETTLE = 3.0


def _through(proxy: TcpProxy, database_url: str) -> str:
    """The same database, reached through the proxy."""
    parts = urlsplit(database_url)
    user = parts.netloc.rpartition("@")[0]
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def _command(n: int, i: int, order: tuple[str, str, str]) -> Command:
    return mixed_command(n, i, *order)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_command_acknowledged_once_is_recorded_once(
    postgres_url: str, tmp_path: Path, servers: Servers
) -> None:
    began = time.monotonic()
    reset_postgres(postgres_url)
    buyer, seller = "b-eo", "s-eo"  # one of each, so that only four tokens are made
    who = [("platform", "feed"), ("moderator", "m-1"), ("buyer", buyer), ("seller", seller)]
    ledger = Ledger()
    faults: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    with TcpProxy(upstream_port=5432) as proxy:
        server = servers.add(Server(_through(proxy, postgres_url), tmp_path / "server.log",
                                    workers=2))
        with ThreadPoolExecutor(1) as pool:
            tokens_job = pool.submit(issue_tokens, who)
            server_start = server.start(timeout=45)
            tokens = tokens_job.result(timeout=60)
        orders = [
            (place_order(server.base, tokens[("platform", "feed")], f"eo-{n}", buyer, seller),
             buyer, seller)
            for n in range(ORDERS)
        ]
        setup_seconds = time.monotonic() - began

        load_began = time.monotonic()
        deadline = load_began + LOAD_BOUND
        stop = threading.Event()
        cancel = threading.Event()

        def work(n: int) -> None:
            client = CarefulClient(server.base, tokens, timeout=15.0, bound=COMMAND_BOUND,
                                   deadline=deadline, seed=n, cancel=cancel)
            try:
                for i in range(MAX_COMMANDS_PER_THREAD):
                    if stop.is_set() or time.monotonic() >= deadline:
                        break
                    ledger.add(client.send(_command(n, i, orders[(n + i) % len(orders)])))
                    time.sleep(PAUSE)
            except BaseException as error:
                errors.append(error)
                raise
            finally:
                client.close()

        threads = [threading.Thread(target=work, args=(n,), name=f"careful-{n}", daemon=True)
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()

        def at() -> float:
            return round(time.monotonic() - load_began, 1)

        try:
            time.sleep(0.5)
            # (a) kill -9 the whole process group just after a commit, then start again.
            hit = server.wait_for_log(EVENT_RECORDED, timeout=3.0)
            server.kill()
            faults.append({"fault": "kill -9", "at_s": at(), "after_commit": hit})
            restart = server.start(timeout=30)
            faults.append({"fault": "restart", "at_s": at(), "took_s": round(restart, 1)})
            time.sleep(SETTLE)
            # (b) the database refuses connections for 10 s.
            hit = server.wait_for_log(EVENT_RECORDED, timeout=3.0)
            proxy.refuse()
            faults.append({"fault": "refuse", "at_s": at(), "after_commit": hit})
            time.sleep(REFUSE_SECONDS)
            proxy.forward()
            time.sleep(SETTLE)
            # (c) the database hangs (no byte passes) for 8 s.
            hit = server.wait_for_log(EVENT_RECORDED, timeout=3.0)
            proxy.hang()
            faults.append({"fault": "hang", "at_s": at(), "after_commit": hit})
            time.sleep(HANG_SECONDS)
            proxy.forward()
            time.sleep(SETTLE + 1.0)
        except BaseException:
            cancel.set()  # the faults could not be staged: end the load now
            raise
        finally:
            proxy.forward()
            stop.set()
            faults.append({"fault": "no new commands", "at_s": at()})
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic() + 20.0))
        load_seconds = time.monotonic() - load_began
        alive = [t.name for t in threads if t.is_alive()]
        server.stop()

    verdict = verify(postgres_url, ledger.outcomes)
    report = (
        f"setup {setup_seconds:.1f} s (server up in {server_start:.1f} s), load "
        f"{load_seconds:.1f} s, total "
        f"{time.monotonic() - began:.1f} s; {THREADS} threads, {ORDERS} orders\n"
        "faults: " + "; ".join(
            " ".join(f"{k}={v}" for k, v in f.items()) for f in faults) + "\n"
        + verdict.summary()
    )
    print(report)
    server_errors = server.log_lines('"http.unhandled_error"')
    if server_errors:
        print(f"{len(server_errors)} unhandled errors in the server log; the first:\n"
              + server_errors[0][:2000])

    assert not errors, f"client threads failed: {errors!r}\n{report}"
    assert not alive, f"client threads still running: {alive}\n{report}"
    assert verdict.server_errors == 0, f"responses with status 500\n{report}"
    assert verdict.duplicates == [], f"commands recorded more than once\n{report}"
    assert verdict.lost == [], f"acknowledged commands not recorded\n{report}"
    assert verdict.undecided == [], f"commands without a definite answer\n{report}"
    assert verdict.refused_but_recorded == [], f"refused commands recorded anyway\n{report}"
    assert len([f for f in faults if f["fault"] in ("kill -9", "refuse", "hang")]) == 3, report
    assert verdict.acked >= 50, f"too little load to tell anything\n{report}"
