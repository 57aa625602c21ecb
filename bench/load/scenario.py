"""Load and faults, with nothing lost: one bounded run against real processes.

A ``disputedesk serve`` process and a ``disputedesk project`` worker run on a
fresh PostgreSQL database; simulated buyers, sellers and moderators act
concurrently over HTTP while the worker is SIGKILLed (and restarted) and the
server's database connections are cut. Every acknowledged command is kept in a
client-side ledger; at the end the event store, the histories and the read
models are checked against it and against a clean rebuild.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from application.projections.catalog import READ_MODELS
from application.projections.ports import ReadModelStore
from application.projections.rebuild import rebuild
from application.projections.records import CURRENT
from application.projections.source import ApplicationSource
from bench import machine
from bench.machine import MachineUse
from domain.dispute import Actor
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from infrastructure.stores import tables
from infrastructure.stores.runtime import store_opener
from interface.http.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "load-faults-secret-0123456789abcdef0123456789"
SELLERS = [f"s-{n}" for n in range(20)]
BUYERS = [f"b-{n}" for n in range(100)]
RETRIES = 6
REQUEST_TIMEOUT = 20.0


@dataclass
class Config:
    database_url: str
    workdir: Path
    seconds: float = 30.0
    users: int = 200
    orders: int = 150
    max_requests: int = 500_000
    seed: int = 1
    #: Off: the same load without killing the worker or cutting connections.
    faults: bool = True
    #: ``serve --workers``: the server's processes behind its one port.
    server_workers: int = 1
    #: ``serve --threads``: each worker's handler threads (None: the default).
    server_threads: int | None = None


@dataclass
class Order:
    order_id: str
    dispute_id: str
    buyer_id: str
    seller_id: str


@dataclass
class Ack:
    """An acknowledged command: this event, with this unique text, must exist once."""

    dispute_id: str
    event_types: tuple[str, ...]
    field: str
    text: str
    command: str


@dataclass
class Stats:
    statuses: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    #: Latencies of the load phase (after seeding), by route.
    route_latencies: dict[str, list[float]] = field(default_factory=dict)
    load_started: float = float("inf")
    #: How busy the machine was over the load phase (None: not known here).
    machine: MachineUse | None = None
    #: CPU seconds each part of the run used over the load phase (see :func:`cpu_parts`).
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    load_phase_seconds: float = 0.0
    refusals: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    retries: int = 0
    requests: int = 0
    acks: list[Ack] = field(default_factory=list)
    unacked: list[Ack] = field(default_factory=list)


# ---- processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_command() -> list[str]:
    """How to run ``disputedesk`` from this environment."""
    script = Path(sys.executable).parent / "disputedesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from interface.cli import main; main()"]


class Processes:
    """The child processes of the run; :meth:`stop_all` ends each one it started."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = {
            **os.environ,
            "DISPUTEDESK_DATABASE_URL": config.database_url,
            "DISPUTEDESK_SECRET": SECRET,
            "DISPUTEDESK_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
            # Many simulated users share a few subjects: the request rate limits are lifted.
            "DISPUTEDESK_RATE_LIMITS": "off",
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.started: list[subprocess.Popen[bytes]] = []

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = self.config.workdir / log_name
        with log.open("ab") as out:
            process = subprocess.Popen(
                [*cli_command(), *args], cwd=ROOT, env=self.env, stdout=out, stderr=out,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def start_server(self) -> None:
        self.server = self._spawn(
            ["serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.config.server_workers),
             *(["--threads", str(self.config.server_threads)]
               if self.config.server_threads is not None else [])], "server.log"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                tail = (self.config.workdir / "server.log").read_text(errors="replace")
                raise RuntimeError(f"server exited with {self.server.returncode}:\n{tail[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer /health within 60 s")

    def start_worker(self) -> None:
        self.worker = self._spawn(["project"], "worker.log")

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(10)

    def run_once(self, *args: str, timeout: float = 120) -> int:
        process = self._spawn(list(args), "cli.log")
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            stop(process)
            return -1

    def stop_all(self) -> None:
        for process in reversed(self.started):
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def cut_connections(database_url: str) -> int:
    """Terminate every other session on the run's database (the server's and worker's)."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


# ---- the simulated users --------------------------------------------------------------


def token(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, ttl=timedelta(hours=2))}"}


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str, stats: Stats,
                 deadline: float, max_requests: int) -> None:
        self.session = session
        self.base = base
        self.stats = stats
        self.deadline = deadline
        self.max_requests = max_requests
        self.headers: dict[tuple[str, str], dict[str, str]] = {}

    def auth(self, role: str, sub: str) -> dict[str, str]:
        key = (role, sub)
        if key not in self.headers:
            self.headers[key] = token(role, sub)
        return self.headers[key]

    def exhausted(self) -> bool:
        return self.stats.requests >= self.max_requests

    async def call(self, method: str, path: str, route: str, role: str, sub: str,
                   body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """One request; a POST retries network errors and 503s with the same key."""
        headers = dict(self.auth(role, sub))
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        attempts = RETRIES if method == "POST" else 1
        for attempt in range(attempts):
            if attempt:
                self.stats.retries += 1
                await asyncio.sleep(min(0.25 * 2**attempt, 2.0))
            self.stats.requests += 1
            self.stats.by_route[route] += 1
            started = time.perf_counter()
            try:
                async with self.session.request(
                    method, self.base + path, json=body, headers=headers
                ) as response:
                    payload = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                self.stats.errors[type(error).__name__] += 1
                continue
            elapsed = time.perf_counter() - started
            self.stats.latencies.append(elapsed)
            if time.monotonic() >= self.stats.load_started:
                self.stats.route_latencies.setdefault(route, []).append(elapsed)
            self.stats.statuses[status] += 1
            if status >= 500:
                text = payload.decode(errors="replace")[:300]
                if status != 503:
                    self.stats.server_errors.append(f"{method} {route} {status}: {text}")
                if status == 503 and method == "POST":
                    continue
                return status, None
            if 400 <= status < 500:
                self.stats.refusals[f"{route} {status}"] += 1
            try:
                return status, (await _json(payload))
            except ValueError:
                return status, None
        return -1, None


async def _json(payload: bytes) -> Any:
    return json.loads(payload) if payload else None


class Users:
    """What buyers, sellers and moderators do; every write has a unique text."""

    def __init__(self, client: Client, orders: list[Order], rng: random.Random) -> None:
        self.client = client
        self.orders = orders
        self.rng = rng

    def unique(self, what: str) -> str:
        return f"{what} {uuid.uuid4().hex}"

    async def write(self, order: Order, route: str, path: str, role: str, sub: str,
                    body: dict[str, Any], ack: Ack) -> None:
        status, _ = await self.client.call("POST", path, route, role, sub, body)
        if 200 <= status < 300:
            self.client.stats.acks.append(ack)
        else:
            self.client.stats.unacked.append(ack)

    async def buyer(self, order: Order) -> None:
        c, d, b = self.client, order.dispute_id, order.buyer_id
        choice = self.rng.random()
        if choice < 0.25:
            text = self.unique("where is my order?")
            await self.write(order, "contact", f"/v1/disputes/{d}/seller-contacts", "buyer", b,
                             {"message": text, "channel": "chat"},
                             Ack(d, ("SellerContacted",), "message", text, "contact"))
        elif choice < 0.4:
            text = self.unique("screenshot of the chat")
            await self.write(order, "evidence", f"/v1/disputes/{d}/evidence", "buyer", b,
                             {"kind": "chat_log", "description": text},
                             Ack(d, ("EvidenceAdded",), "description", text, "evidence"))
        elif choice < 0.55:
            text = self.unique("never arrived")
            await self.write(order, "refund_request", f"/v1/disputes/{d}/refund-requests",
                             "buyer", b, {"reason": text},
                             Ack(d, ("RefundRequested",), "reason", text, "refund_request"))
        elif choice < 0.8:
            await c.call("GET", f"/v1/disputes/{d}", "case", "buyer", b)
        else:
            await c.call("GET", "/v1/disputes?limit=20", "list", "buyer", b)

    async def seller(self, order: Order) -> None:
        c, d, s = self.client, order.dispute_id, order.seller_id
        choice = self.rng.random()
        if choice < 0.25:
            text = self.unique("it ships tomorrow")
            await self.write(order, "respond", f"/v1/disputes/{d}/seller-responses", "seller", s,
                             {"message": text},
                             Ack(d, ("SellerResponded",), "message", text, "respond"))
        elif choice < 0.4:
            tracking = f"TRK{uuid.uuid4().hex[:16].upper()}"
            now = datetime.now(UTC).isoformat()
            await self.write(order, "ship", f"/v1/orders/{order.order_id}/shipments", "seller", s,
                             {"carrier": "UPS", "tracking_number": tracking, "shipped_at": now},
                             Ack(d, ("OrderShipped",), "tracking_number", tracking, "ship"))
        elif choice < 0.55:
            text = self.unique("decision")
            await self.write(order, "refund_decision", f"/v1/disputes/{d}/refund-decisions",
                             "seller", s, {"approve": self.rng.random() < 0.5, "reason": text},
                             Ack(d, ("RefundApproved", "RefundDenied"), "reason", text,
                                 "refund_decision"))
        elif choice < 0.8:
            await c.call("GET", f"/v1/disputes/{d}", "case", "seller", s)
        else:
            await c.call("GET", "/v1/disputes?limit=20", "list", "seller", s)

    async def moderator(self, order: Order) -> None:
        c, d = self.client, order.dispute_id
        choice = self.rng.random()
        if choice < 0.25:
            await c.call("GET", "/v1/moderation/queue?limit=50", "queue", "moderator", "m-1")
        elif choice < 0.5:
            await c.call("GET", f"/v1/disputes/{d}/history", "history", "moderator", "m-1")
        elif choice < 0.75:
            text = self.unique("moderator note")
            await self.write(order, "note", f"/v1/disputes/{d}/notes", "moderator", "m-1",
                             {"text": text}, Ack(d, ("NoteAdded",), "text", text, "note"))
        elif choice < 0.9:
            await c.call("GET", "/v1/metrics", "metrics", "moderator", "m-1")
        else:
            await c.call("GET", f"/v1/sellers/{order.seller_id}/scorecard", "scorecard",
                         "moderator", "m-1")

    async def act(self) -> None:
        while time.monotonic() < self.client.deadline and not self.client.exhausted():
            order = self.rng.choice(self.orders)
            role = self.rng.random()
            if role < 0.5:
                await self.buyer(order)
            elif role < 0.85:
                await self.seller(order)
            else:
                await self.moderator(order)
            await asyncio.sleep(self.rng.uniform(0.0, 0.05))


async def seed(client: Client, count: int) -> list[Order]:
    now = datetime.now(UTC)
    orders: list[Order] = []
    for n in range(count):
        order_id = f"load-{n}"
        buyer, seller = BUYERS[n % len(BUYERS)], SELLERS[n % len(SELLERS)]
        placed = now - timedelta(days=4) if n % 2 == 0 else now - timedelta(seconds=30)
        body = {
            "order_id": order_id, "buyer_id": buyer, "seller_id": seller, "region": "US",
            "category": "general", "amount": {"amount": "25.00", "currency": "USD"},
            "placed_at": placed.isoformat(),
        }
        status, view = await client.call("POST", "/v1/orders", "place_order", "platform",
                                          "p-load", body)
        if status not in (200, 201) or not isinstance(view, dict):
            raise RuntimeError(f"seeding order {order_id} failed with {status}")
        orders.append(Order(order_id, str(view["id"]), buyer, seller))
    return orders


# ---- faults ---------------------------------------------------------------------------


async def faults(processes: Processes, config: Config, started: float,
                 injected: list[dict[str, Any]]) -> None:
    await asyncio.sleep(max(0.0, started + config.seconds / 3 - time.monotonic()))
    processes.kill_worker()
    injected.append({"fault": "worker_sigkill", "at_s": round(time.monotonic() - started, 1)})
    await asyncio.sleep(1.0)
    processes.start_worker()
    injected.append({"fault": "worker_restart", "at_s": round(time.monotonic() - started, 1)})
    await asyncio.sleep(max(0.0, started + config.seconds / 2 - time.monotonic()))
    cut = await asyncio.to_thread(cut_connections, config.database_url)
    injected.append({"fault": "pg_terminate_backend", "sessions": cut,
                     "at_s": round(time.monotonic() - started, 1)})


async def drive(processes: Processes, config: Config, stats: Stats,
                injected: list[dict[str, Any]]) -> list[Order]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=config.users)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        seeding = Client(session, processes.base, stats, time.monotonic() + 600,
                         config.max_requests)
        orders = await seed(seeding, config.orders)
        started = time.monotonic()
        stats.load_started = started
        client = Client(session, processes.base, stats, started + config.seconds,
                        config.max_requests)
        rng = random.Random(config.seed)
        users = [Users(client, orders, random.Random(rng.random())) for _ in range(config.users)]
        faulting = [faults(processes, config, started, injected)] if config.faults else []
        before, parts_before = machine.read(), cpu_parts(processes)
        await asyncio.gather(*faulting, *(user.act() for user in users))
        stats.machine = machine.between(before, machine.read(), time.monotonic() - started)
        stats.cpu_seconds = cpu_used(parts_before, cpu_parts(processes))
        stats.load_phase_seconds = time.monotonic() - started
    return orders


def cpu_parts(processes: Processes) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process of each part of the run, by pid.

    A process that ends in between takes its CPU time with it: under faults the
    killed projection worker's share and the cut PostgreSQL sessions' are left out.
    """
    def group(process: subprocess.Popen[bytes] | None) -> dict[int, float]:
        return machine.process_cpu_seconds(process.pid) if process is not None else {}

    return {"server": group(processes.server), "projection worker": group(processes.worker),
            "PostgreSQL": {0: machine.postgres_cpu_seconds()},
            "load generator": {0: machine.own_cpu_seconds()}}


def cpu_used(before: dict[str, dict[int, float]],
             after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each part used from ``before`` to ``after`` (processes alive at the end)."""
    return {part: round(sum(seconds - before.get(part, {}).get(pid, 0.0)
                            for pid, seconds in pids.items()), 2)
            for part, pids in after.items()}


# ---- verification ---------------------------------------------------------------------


def _get(base: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except OSError as error:
        return -1, type(error).__name__


def wait_caught_up(base: str, head: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll every read model with ``min_position=head`` until all answer 200."""
    headers = token("moderator", "m-verify")
    paths = ["/v1/disputes?limit=1", "/v1/moderation/queue?limit=1", "/v1/metrics",
             "/v1/sellers/s-0/scorecard"]
    started = time.monotonic()
    pending = list(paths)
    while pending and time.monotonic() - started < timeout:
        joiner = "&" if "?" in pending[0] else "?"
        status, _ = _get(base, f"{pending[0]}{joiner}min_position={head}", headers)
        if status == 200:
            pending.pop(0)
        else:
            time.sleep(0.5)
    positions = {}
    for path in pending:
        status, body = _get(base, path, headers)
        positions[path] = body.get("position") if isinstance(body, dict) else status
    return {"seconds": round(time.monotonic() - started, 2), "caught_up": not pending,
            "head": head, "behind": positions}


def _rows(store: ReadModelStore, sql: str) -> list[tuple[Any, ...]]:
    session: Any = store.session  # type: ignore[attr-defined]
    return [tuple(row) for row in session.fetchall(sql)]


def dump(store: ReadModelStore, versions: dict[str, int]) -> dict[str, Any]:
    """Every row of the given versions, keyed by table base name (as the projection tests)."""
    found: dict[str, Any] = {}
    for name in READ_MODELS:
        for base in tables.MODEL_TABLES[name]:
            table = tables.table(base, versions[name])
            found[base] = sorted(_rows(store, f"SELECT * FROM {table}"), key=repr)
    found["rm_status_counts"] = [r for r in found["rm_status_counts"] if r[1]]
    return found


def verify(config: Config, processes: Processes, orders: list[Order], stats: Stats,
           head_wait: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": config.database_url, "DISPUTEDESK_SECRET": SECRET},
        cwd=config.workdir,
    )
    desk = build_application(settings)
    try:
        histories = {o.dispute_id: desk.history(uuid.UUID(o.dispute_id),
                                                Actor("moderator", "m-verify"))
                     for o in orders}
        # (a) every acknowledged command's event exactly once; no unique text twice.
        seen: Counter[tuple[str, str, str]] = Counter()
        texts: Counter[str] = Counter()
        for dispute_id, rows in histories.items():
            for row in rows:
                for key in ("message", "description", "reason", "text", "tracking_number"):
                    value = row["data"].get(key)
                    if isinstance(value, str):
                        seen[(dispute_id, row["type"], value)] += 1
                        texts[value] += 1
        lost, duplicated = [], []
        for ack in stats.acks:
            found = sum(seen[(ack.dispute_id, kind, ack.text)] for kind in ack.event_types)
            if found == 0:
                lost.append(f"{ack.command} {ack.dispute_id} {ack.text}")
            elif found > 1:
                duplicated.append(f"{ack.command} {ack.dispute_id} {ack.text} x{found}")
        unique_texts = {a.text for a in stats.acks} | {a.text for a in stats.unacked}
        repeated = sorted(t for t in unique_texts if texts[t] > 1)
        recorded_unacked = sum(1 for a in stats.unacked if texts[a.text] > 0)
        # (b) no gap in any history.
        gaps = [d for d, rows in histories.items()
                if [r["sequence"] for r in rows] != list(range(1, len(rows) + 1))]
        events = sum(len(rows) for rows in histories.values())
        # (c) the read models equal a clean rebuild.
        store = store_opener(desk, settings)()
        try:
            head = desk.recorder.max_notification_id() or 0
            current = {v.name: v for v in store.versions() if v.status == CURRENT}
            lanes = {name: store.lane_position(info.lane) for name, info in current.items()}
            extra_catch_up = False
            lanes_at_stop = dict(lanes)
            if min(lanes.values()) < head:  # the sweeper wrote after the last wait
                extra_catch_up = True
                processes.run_once("project", "--once")
                lanes = {n: store.lane_position(i.lane) for n, i in current.items()}
            before = dump(store, {name: info.version for name, info in current.items()})
            list_versions = _list_version_mismatches(
                store, current["disputes"].version, histories
            )
            result = rebuild(ApplicationSource(desk), store, "all", batch_size=1000)
            after = dump(store, result.versions)
        finally:
            store.close()
        differing = sorted(k for k in before if before[k] != after.get(k))
        diff = {k: {"live_only": [repr(r) for r in before[k] if r not in after[k]][:5],
                    "rebuilt_only": [repr(r) for r in after[k] if r not in before[k]][:5]}
                for k in differing}
        events_of = {d: [(r["sequence"], r["type"], r["recorded_at"]) for r in rows]
                     for d, rows in histories.items() if d in list_versions[:3]}
    finally:
        desk.close()
    return {
        "acked_commands": len(stats.acks),
        "acked_by_command": dict(Counter(a.command for a in stats.acks)),
        "unacked_commands": len(stats.unacked),
        "unacked_but_recorded": recorded_unacked,
        "lost": lost[:20], "lost_count": len(lost),
        "duplicated": duplicated[:20], "duplicated_count": len(duplicated),
        "repeated_texts": repeated[:20],
        "disputes": len(histories), "events_in_histories": events,
        "history_gaps": gaps[:20],
        "head": head, "lane_positions": lanes, "extra_catch_up": extra_catch_up,
        "lanes_at_stop": lanes_at_stop,
        "catch_up": head_wait,
        "rebuild_versions": result.versions, "rebuild_events": result.events,
        "read_models_differ": differing,
        "read_model_diff": diff,
        "mismatched_histories": events_of,
        "list_version_mismatches": list_versions[:20],
    }


def _list_version_mismatches(store: ReadModelStore, version: int,
                             histories: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Disputes whose read-model version is not their history's length."""
    listed = dict(_rows(store, f"SELECT dispute_id, version FROM "
                               f"{tables.table('rm_disputes', version)}"))
    return sorted(d for d, rows in histories.items() if listed.get(d) != len(rows))


# ---- the whole run --------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(config: Config) -> dict[str, Any]:
    """Start, load, fault, verify, stop. Raises nothing about the verdict: see ``ok``."""
    config.workdir.mkdir(parents=True, exist_ok=True)
    processes = Processes(config)
    stats = Stats()
    injected: list[dict[str, Any]] = []
    try:
        processes.start_server()
        processes.start_worker()
        started = time.monotonic()
        orders = asyncio.run(drive(processes, config, stats, injected))
        load_seconds = time.monotonic() - started
        settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": config.database_url},
                                     cwd=config.workdir)
        desk = build_application(settings)
        try:
            head = desk.recorder.max_notification_id() or 0
        finally:
            desk.close()
        head_wait = wait_caught_up(processes.base, head)
        processes.stop_all()
        verification = verify(config, processes, orders, stats, head_wait)
    finally:
        processes.stop_all()
        for process in processes.started:
            assert process.poll() is not None, "a child process survived"
    five_xx = {s: n for s, n in stats.statuses.items() if s >= 500}
    report: dict[str, Any] = {
        "seconds": config.seconds, "users": config.users, "orders": config.orders,
        "server_workers": config.server_workers,
        "server_threads": config.server_threads,
        "load_seconds": round(load_seconds, 1),
        "requests": stats.requests, "responses": sum(stats.statuses.values()),
        "by_status": {str(k): v for k, v in sorted(stats.statuses.items())},
        "by_route": dict(sorted(stats.by_route.items())),
        "errors_by_kind": dict(stats.errors),
        "refusals": dict(stats.refusals.most_common()),
        "retries_same_key": stats.retries,
        "server_errors": stats.server_errors[:20],
        "status_5xx": {str(k): v for k, v in five_xx.items()},
        "status_503": stats.statuses.get(503, 0),
        "latency_ms": {
            "p50": round(percentile(stats.latencies, 0.5) * 1000, 1),
            "p99": round(percentile(stats.latencies, 0.99) * 1000, 1),
            "max": round(max(stats.latencies, default=0.0) * 1000, 1),
        },
        "faults": injected,
        "faults_on": config.faults,
        "rate_limits": "off",
        "by_route_figures": route_figures(stats, load_seconds),
        "machine": stats.machine.as_dict() if stats.machine is not None else None,
        "cpu": {"seconds": stats.cpu_seconds, "over_seconds": round(stats.load_phase_seconds, 2),
                "answered": sum(len(v) for v in stats.route_latencies.values())},
        "verification": verification,
        "logs": str(config.workdir),
    }
    report["ok"] = not problems(report)
    report["problems"] = problems(report)
    return report


def route_figures(stats: Stats, seconds: float) -> dict[str, dict[str, float]]:
    """Per route, over the load phase: answers per second and latency p50/p99 (ms)."""
    return {
        route: {"answered": len(values), "rps": round(len(values) / seconds, 1) if seconds else 0.0,
                "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1)}
        for route, values in sorted(stats.route_latencies.items())
    }


def problems(report: dict[str, Any]) -> list[str]:
    v = report["verification"]
    found = []
    if v["lost_count"]:
        found.append(f"(a) {v['lost_count']} acknowledged commands are not in the store")
    if v["duplicated_count"] or v["repeated_texts"]:
        found.append(f"(a) {v['duplicated_count']} acknowledged commands recorded twice")
    if not v["catch_up"]["caught_up"]:
        found.append(f"(c) read models did not catch up: {v['catch_up']}")
    if v["history_gaps"]:
        found.append(f"(b) {len(v['history_gaps'])} histories have gaps")
    if v["list_version_mismatches"]:
        found.append(f"(c) listed versions differ from histories: {v['list_version_mismatches']}")
    if v["read_models_differ"]:
        found.append(f"(c) read models differ from a clean rebuild: {v['read_models_differ']}")
    bad = {k: n for k, n in report["status_5xx"].items() if k != "503"}
    if bad:
        found.append(f"(d) server errors: {bad}")
    if report.get("faults_on", True) and len(
            [f for f in report["faults"] if f["fault"] != "worker_restart"]) < 2:
        found.append("faults were not all injected")
    return found


def cpu_line(report: dict[str, Any]) -> str:
    """Where the CPU went, and the most requests a second the machine could answer at that
    cost with every CPU busy: with the users hardly pausing, each then waits about
    users / that rate on average (Little's law), whatever the server does with its queue."""
    cpu, cpus = report.get("cpu") or {}, (report.get("machine") or {}).get("cpus")
    parts, requests, load_seconds = cpu.get("seconds"), cpu.get("answered"), cpu.get("over_seconds")
    if not parts or not requests or not load_seconds or not cpus:
        return "(not known here)"
    per_request_ms = sum(parts.values()) / requests * 1000
    ceiling = cpus * 1000 / per_request_ms
    return (", ".join(f"{part} {seconds / load_seconds:.2f}" for part, seconds in parts.items())
            + f" CPUs; {per_request_ms:.1f} ms of CPU a request, so {cpus:.0f} CPUs answer at "
            f"most {ceiling:,.0f} requests/s and {report['users']} users wait about "
            f"{report['users'] / ceiling * 1000:,.0f} ms a request on average")


def summary(report: dict[str, Any]) -> str:
    v = report["verification"]
    lines = [
        f"load: {report['users']} users, {report['orders']} orders, "
        f"{report['load_seconds']} s of load, serve --workers {report['server_workers']}"
        + (f" --threads {report['server_threads']}" if report.get("server_threads") else ""),
        f"  requests      {report['requests']:,} ({report['responses']:,} answered, "
        f"{report['retries_same_key']} retried with the same key)",
        "  by status     " + ", ".join(f"{k}: {n:,}" for k, n in report["by_status"].items()),
        "  errors        " + (", ".join(f"{k}: {n}" for k, n in report["errors_by_kind"].items())
                              or "none"),
        f"  latency       p50 {report['latency_ms']['p50']} ms, "
        f"p99 {report['latency_ms']['p99']} ms, max {report['latency_ms']['max']} ms",
        f"  503s          {report['status_503']} (allowed, reported)",
        "  machine       " + (machine.describe(report["machine"]) if report.get("machine")
                              else "(not known here)"),
        "  CPU           " + cpu_line(report),
        "  faults        " + (", ".join(f"{f['fault']} at {f['at_s']} s"
                                        for f in report["faults"]) or "none"),
        f"  acked         {v['acked_commands']:,} commands "
        + ", ".join(f"{k} {n}" for k, n in sorted(v["acked_by_command"].items())),
        f"  unacked       {v['unacked_commands']:,} ({v['unacked_but_recorded']} recorded anyway)",
        f"  (a) lost {v['lost_count']}, duplicated {v['duplicated_count']}",
        f"  (b) {v['disputes']} disputes, {v['events_in_histories']:,} events, "
        f"gaps {len(v['history_gaps'])}",
        f"  (c) caught up: {v['catch_up']}; rebuild of "
        f"{v['rebuild_events']:,} events differs in {v['read_models_differ'] or 'nothing'}",
        f"  (d) 5xx: {report['status_5xx'] or 'none'}",
        "  verdict       " + ("OK" if report["ok"] else "FAILED: " + "; ".join(report["problems"])),
    ]
    lines[0] += f", faults {'on' if report.get('faults_on', True) else 'off'}"
    for route, f in report.get("by_route_figures", {}).items():
        lines.append(f"    {route:<26} {f['rps']:>7.1f} req/s   p50 {f['p50_ms']:>7.1f} ms   "
                     f"p99 {f['p99_ms']:>7.1f} ms")
    return "\n".join(lines)


__all__ = ["Config", "run", "summary"]
