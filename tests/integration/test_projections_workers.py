"""Projection workers as real processes: killed, doubled, disconnected, rebuilt under load."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from application.disputes import DisputeDesk
from application.projections.queries import ReadModelQueries
from application.projections.rebuild import rebuild
from application.projections.runner import RUNNER_LOCK
from application.projections.source import ApplicationSource
from application.projections.worker import Outcome
from bench.projections.generate import generate
from infrastructure.clock import ManualClock
from infrastructure.stores import open_reader
from infrastructure.stores.postgres import WRITER_APPLICATION_NAME
from infrastructure.stores.runtime import make_worker, start_projections
from tests.conftest import reset_postgres
from tests.integration.test_projections_support import (
    MODERATOR,
    build,
    cli,
    current_versions,
    dump,
    opened_store,
    place,
    settings_for,
)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    found = []
    for line in log.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def logged(log: Path, name: str) -> int:
    return sum(1 for entry in events(log) if entry.get("event") == name)


def live_position(app: DisputeDesk, database_url: str) -> int:
    with opened_store(app, database_url) as store:
        return min(store.lane_position(v.lane) for v in current_versions(store).values())


def test_a_killed_worker_resumes_and_ends_identical_to_a_clean_rebuild(
    app: DisputeDesk, database_url: str, tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    head = generate(app, 8_000).events + 2  # and the policy ledger's two events
    log = tmp_path / "worker.log"
    worker = cli(database_url, "project", "--once", "--batch-size", "50", log_file=log)
    processes.append(worker)
    wait_for(lambda: live_position(app, database_url) >= head // 5, 60, "the first batches")
    worker.send_signal(signal.SIGKILL)  # in the middle of the catch-up
    worker.wait(timeout=10)
    stopped_at = live_position(app, database_url)
    assert head // 5 <= stopped_at < head, "killed too late to prove anything"

    again = cli(database_url, "project", "--once", "--batch-size", "700", log_file=log)
    processes.append(again)
    assert again.wait(timeout=90) == 0, log.read_text()[-4000:]
    assert live_position(app, database_url) == head
    with opened_store(app, database_url) as store:
        resumed = dump(store)
        rebuild(ApplicationSource(app), store, "all", batch_size=5000)
        assert dump(store) == resumed


def test_two_workers_one_active_one_standby_that_takes_over(
    app: DisputeDesk, database_url: str, tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    head = generate(app, 1_000).events + 2
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    for log in logs:
        processes.append(cli(database_url, "project", "--batch-size", "50", log_file=log))
    wait_for(lambda: live_position(app, database_url) == head, 60, "the catch-up")
    wait_for(lambda: all(logged(log, "projections.active") + logged(log, "projections.standby")
                         for log in logs), 30, "both workers to start")
    active = [i for i, log in enumerate(logs) if logged(log, "projections.active")]
    assert len(active) == 1, [events(log) for log in logs]
    standby = 1 - active[0]
    assert logged(logs[standby], "projections.standby") == 1

    processes[active[0]].send_signal(signal.SIGKILL)
    processes[active[0]].wait(timeout=10)
    wait_for(lambda: logged(logs[standby], "projections.active") == 1, 30, "the take-over")
    view = place(app, "after-the-kill")
    wait_for(lambda: live_position(app, database_url) >= view["position"], 10,
             "the standby to project new events")


def test_a_worker_survives_a_terminated_connection(
    postgres_url: str, manual_clock: ManualClock, tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    reset_postgres(postgres_url)
    app = build(postgres_url, manual_clock)
    try:
        first = place(app, "before")
        log = tmp_path / "worker.log"
        processes.append(cli(postgres_url, "project", log_file=log))
        wait_for(lambda: live_position(app, postgres_url) >= first["position"], 30, "catch-up")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (WRITER_APPLICATION_NAME,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        view = place(app, "after")
        wait_for(lambda: live_position(app, postgres_url) >= view["position"], 20,
                 "the worker to reconnect and carry on")
        assert logged(log, "projections.failed") >= 1
        assert logged(log, "projections.active") >= 2  # it said it is back
        assert processes[0].poll() is None
    finally:
        app.close()


def test_a_rebuild_by_the_cli_while_requests_are_served(
    app: DisputeDesk, database_url: str, tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    generate(app, 3_000)
    settings = settings_for(database_url)
    stop_projections = start_projections(app, settings, batch_size=500)  # as `serve` does
    reader = open_reader(settings.database)
    queries = ReadModelQueries(reader, app.clock)
    try:
        wait_for(lambda: live_position(app, database_url) == app.recorder.max_notification_id(),
                 60, "the serving worker to catch up")
        total = len(queries.disputes(MODERATOR, limit=500)["data"])
        assert total > 100
        seller = queries.disputes(MODERATOR, limit=1)["data"][0]["seller_id"]
        failures: list[str] = []
        readings = 0
        done = threading.Event()

        def serve_requests() -> None:
            nonlocal readings
            while not done.is_set():
                try:
                    page = queries.disputes(MODERATOR, limit=500)
                    if len(page["data"]) != total:
                        failures.append(f"{len(page['data'])} rows, not {total}")
                    queries.scorecard(MODERATOR, seller)
                    queries.metrics(MODERATOR)
                    readings += 1
                except Exception as error:  # every failure is reported
                    failures.append(repr(error))

        requests = threading.Thread(target=serve_requests)
        requests.start()
        output = tmp_path / "rebuild.log"
        rebuilding = cli(database_url, "project", "--rebuild", "disputes", "--batch-size", "100",
                         log_file=output)
        processes.append(rebuilding)
        assert rebuilding.wait(timeout=120) == 0, output.read_text()
        done.set()
        requests.join(timeout=10)
        assert failures == []
        assert readings > 5
        with opened_store(app, database_url) as store:
            assert current_versions(store)["disputes"].version == 2
        assert logged(output, "projections.rebuild_built") == 1
        assert len(queries.disputes(MODERATOR, limit=500)["data"]) == total
    finally:
        reader.close()
        stop_projections()


ANOTHER_WORKER = (
    "disputedesk: another worker is running the projections; they are being kept current "
    "by it, so --once has nothing to do"
)


def test_project_once_exits_1_at_once_while_another_worker_holds_the_projections(
    app: DisputeDesk, database_url: str, tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    view = place(app, "o-1")
    log = tmp_path / "once.log"
    with opened_store(app, database_url) as other:
        assert other.try_lock(RUNNER_LOCK)  # the active worker (`serve`'s, or a `project`)
        once = cli(database_url, "project", "--once", log_file=log)
        processes.append(once)
        try:
            # A standby would wait for good; the bound covers the process's start-up
            # (imports, opening the store) on a machine the other test worker loads.
            status = once.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("`project --once` waited as a standby instead of exiting:\n"
                        + log.read_text()[-2000:])
        assert status == 1, log.read_text()
        assert log.read_text().splitlines()[-1] == ANOTHER_WORKER
        assert logged(log, "projections.standby") == 0
        assert logged(log, "projections.active") == 0
        assert live_position(app, database_url) < view["position"]  # it projected nothing

    # With the other worker gone, the same command catches up and exits 0.
    again = cli(database_url, "project", "--once", log_file=log)
    processes.append(again)
    assert again.wait(timeout=30) == 0, log.read_text()
    assert live_position(app, database_url) >= view["position"]


def test_a_worker_that_may_not_wait_gives_up_one_that_may_waits_and_takes_over(
    app: DisputeDesk, database_url: str,
) -> None:
    view = place(app, "o-1")
    settings = settings_for(database_url)
    with opened_store(app, database_url) as other:
        assert other.try_lock(RUNNER_LOCK)
        started = time.monotonic()
        outcome = make_worker(app, settings, name="once").run(
            threading.Event(), once=True, standby=False
        )
        assert outcome is Outcome.OTHER_ACTIVE
        assert time.monotonic() - started < 5
        assert live_position(app, database_url) < view["position"]

        # standby=True (the default): it waits for the active worker, then takes over.
        worker = make_worker(app, settings, name="standby")
        worker.standby_interval = 0.05
        stop = threading.Event()
        outcomes: list[Outcome] = []
        thread = threading.Thread(
            target=lambda: outcomes.append(worker.run(stop, once=True)), daemon=True
        )
        thread.start()
        try:
            time.sleep(0.5)
            assert thread.is_alive() and not worker.active.is_set()
            other.unlock(RUNNER_LOCK)
            thread.join(timeout=10)
            assert not thread.is_alive()
        finally:
            stop.set()
            thread.join(timeout=10)
    assert outcomes == [Outcome.CAUGHT_UP]
    assert live_position(app, database_url) >= view["position"]
