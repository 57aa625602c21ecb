"""The benchmarks import, and ``make bench`` reads their results into its table rows."""

from __future__ import annotations

import importlib
import itertools
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

import bench.__main__ as make_bench
from bench.http.load import Request, run_load
from bench.load.scenario import Stats, cpu_line, cpu_used, route_figures
from bench.machine import group_cpu_seconds, process_cpu_seconds

BENCH = Path(make_bench.__file__).parent


@pytest.mark.parametrize("name", sorted(p.parent.name for p in BENCH.glob("*/__main__.py")))
def test_every_benchmark_imports_and_make_bench_runs_it(name: str) -> None:
    importlib.import_module(f"bench.{name}.__main__")
    assert name in make_bench.QUICK and name in make_bench.FULL


def test_the_bulk_feed_row_compares_the_feed_with_the_library_alone() -> None:
    rows = make_bench.EXTRACT["orders_feed"]({
        "orders_per_second": {"library": 2000.0, "library_build_and_save": 1000.0,
                              "http": 1500.0, "in_process": 1800.0},
        "ratio_http_over_library": 0.75, "ratio_in_process_over_library": 0.9,
        "ratio_http_over_library_build_and_save": 1.5, "met": True,
    })
    assert (rows[0]["value"], rows[0]["baseline"], rows[0]["ratio"]) == (1500.0, 2000.0, 0.75)
    assert rows[0]["target"] == ">= 0.7" and rows[0]["met"] is True


def test_the_group_commit_row_is_the_ratio_of_the_two_runs() -> None:
    run = {"rps": 100.0, "cpu_ms_per_command": 4.0}
    rows = make_bench.EXTRACT["commands_pg"]({
        "workers": 2, "connections": 64, "ratio_on_over_off": 2.6, "met": True, "rounds": 3,
        "median": {"group_commit_off": run, "group_commit_default": {**run, "rps": 260.0}},
    })
    assert (rows[0]["value"], rows[0]["baseline"], rows[0]["ratio"]) == (260.0, 100.0, 2.6)
    assert rows[1]["value"] == 4.0


def _load_run(faults: bool, p99: float) -> dict[str, Any]:
    return {"faults_on": faults, "ok": True, "users": 200, "load_seconds": 10.0,
            "requests": 1000, "responses": 990, "by_status": {"200": 990},
            "latency_ms": {"p50": 100.0, "p99": p99},
            "by_route_figures": {"case": {"rps": 50.0, "p50_ms": 10.0, "p99_ms": 90.0}}}


def test_the_load_rows_give_each_run_its_throughput_and_latency_by_route() -> None:
    rows = make_bench.EXTRACT["load"]({"runs": {"faults_off": _load_run(False, 400.0),
                                                "faults_on": _load_run(True, 900.0)}})
    figures = {r["figure"]: r for r in rows}
    assert figures["throughput req/s, no faults"]["value"] == 99.0
    assert figures["latency p50 / p99 ms, no faults"]["met"] is True
    assert figures["latency p50 / p99 ms, faults injected"]["met"] is None
    assert figures["case: req/s, p50 / p99 ms, faults injected"]["value"] == "50.0, 10.0 / 90.0"


def test_results_of_a_single_load_run_still_read() -> None:
    rows = make_bench.EXTRACT["load"](_load_run(True, 900.0))
    assert rows[0]["figure"].endswith("faults injected")


def test_the_load_run_reports_each_route_of_the_load_phase() -> None:
    stats = Stats()
    stats.route_latencies = {"case": [0.010] * 98 + [0.5, 0.6], "ship": [0.2]}
    figures = route_figures(stats, 10.0)
    assert figures["case"] == {"answered": 100, "rps": 10.0, "p50_ms": 10.0, "p99_ms": 600.0}
    assert figures["ship"]["rps"] == 0.1


def test_the_load_run_counts_the_cpu_of_processes_alive_at_the_end() -> None:
    before = {"server": {10: 1.0, 11: 2.0}, "PostgreSQL": {0: 5.0}}
    after = {"server": {10: 1.5, 12: 0.25}, "PostgreSQL": {0: 6.0}}  # 11 ended, 12 started
    assert cpu_used(before, after) == {"server": 0.75, "PostgreSQL": 1.0}


def test_the_load_run_turns_cpu_per_request_into_the_machine_s_ceiling() -> None:
    report = {"users": 200, "machine": {"cpus": 2},
              "cpu": {"seconds": {"server": 15.0, "PostgreSQL": 5.0}, "over_seconds": 10.0,
                      "answered": 4000}}
    line = cpu_line(report)  # 20 CPU s / 4,000 requests: 5 ms each, 400/s on 2 CPUs
    assert line.startswith("server 1.50, PostgreSQL 0.50 CPUs; 5.0 ms of CPU a request")
    assert "at most 400 requests/s and 200 users wait about 500 ms" in line
    assert cpu_line({**report, "cpu": {}}) == "(not known here)"


def test_the_server_cpu_is_read_for_a_process_group() -> None:
    sum(i * i for i in range(200_000))  # some CPU time of our own
    assert group_cpu_seconds(os.getpgid(0)) > 0


def test_each_server_process_s_cpu_is_read_apart() -> None:
    sum(i * i for i in range(200_000))
    assert process_cpu_seconds(os.getpgid(0))[os.getpid()] > 0


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per load-generator connection
    opened: ClassVar[dict[int, float]] = {}

    def do_GET(self) -> None:
        self.opened.setdefault(self.client_address[1], time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_the_load_generator_opens_its_connections_apart_and_says_when_it_measures() -> None:
    """Opened at once, a burst of connections may all land on one worker of ``serve``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    measuring: list[float] = []
    try:
        started = time.monotonic()
        result = run_load(lambda n: Request("GET", url, {}), connections=4, warmup=0.6,
                          duration=0.3, stagger=0.15,
                          measuring=lambda: measuring.append(time.monotonic()))
    finally:
        server.shutdown()
    opened = sorted(_Answer.opened.values())
    assert len(opened) == 4
    assert all(b - a >= 0.1 for a, b in itertools.pairwise(opened))
    assert len(measuring) == 1 and 0.5 <= measuring[0] - started < 1.0
    assert result.requests > 0 and result.errors == 0
