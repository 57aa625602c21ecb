"""Per-request cost of the HTTP stack, in-process: ``python -m bench.http.inprocess``.

No sockets and no load generator: the ASGI app is called directly on one event
loop (uvloop), with the scope uvicorn would build, one request after another.
What remains is the cost of one request in the server process (middleware,
auth, guards, the worker-thread hop, the handler, encoding, the log line),
which is what limits the rps of one uvicorn worker on a busy machine.

Prints microseconds per request for the bare Litestar handler, ``/health``,
``GET /v1/disputes/{id}``, ``POST .../seller-contacts``, and the application
called directly. ``--profile NAME`` runs cProfile over one of them (the event
loop thread and the worker threads) and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.http.orders import BUYER, SECRET, place_orders
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from interface.http.app import create_app
from interface.http.auth import issue_token


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": {},
    }


class Call:
    """One request to repeat: method, path, headers, body."""

    def __init__(self, app: Any, method: str, path: str, headers: dict[str, str],
                 body: bytes = b"") -> None:
        self.app = app
        self.method = method
        self.path = path
        self.body = body
        self.headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"),
                        (b"accept", b"*/*"), (b"accept-encoding", b"gzip, deflate")]
        self.headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if body:
            self.headers += [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]

    async def __call__(self) -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(_scope(self.method, self.path, list(self.headers)), receive, send)
        return status


class Lifespan:
    """The ASGI lifespan protocol, as uvicorn drives it: startup, later shutdown."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[Any] | None = None

    async def _call(self, kind: str) -> None:
        await self.inbox.put({"type": f"lifespan.{kind}"})
        reply = await self.replies.get()
        if reply["type"] != f"lifespan.{kind}.complete":
            raise RuntimeError(f"lifespan {kind} failed: {reply}")

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(self.app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            self.inbox.get, self.replies.put))
        await self._call("startup")

    async def shutdown(self) -> None:
        await self._call("shutdown")
        if self.task is not None:
            await self.task


async def _measure(call: Call | Callable[[int], Call], count: int, concurrency: int
                   ) -> tuple[float, float, dict[int, int]]:
    """Wall and CPU (all threads of the process) microseconds per request, and statuses."""
    statuses: dict[int, int] = {}
    counter = iter(range(count))

    async def worker() -> None:
        for index in counter:
            target = call(index) if not isinstance(call, Call) else call
            status = await target()  # type: ignore[misc]
            statuses[status] = statuses.get(status, 0) + 1

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ((time.perf_counter() - started) / count * 1e6,
            (time.process_time() - cpu) / count * 1e6, statuses)


class _ThreadProfiles:
    """cProfile in the loop thread and every worker thread, merged at the end."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        main = cProfile.Profile()
        self.profiles.append(main)
        main.enable()

        def in_thread(*_: Any) -> Any:
            profile = cProfile.Profile()
            with self.lock:
                self.profiles.append(profile)
            threading.setprofile(None)
            import sys
            sys.setprofile(None)
            profile.enable()

        threading.setprofile(in_thread)

    def stop(self, top: int, callers: str | None) -> str:
        threading.setprofile(None)
        for profile in self.profiles:
            profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(self.profiles[0], stream=out)
        for profile in self.profiles[1:]:
            stats.add(profile)
        return _report(stats, out, top, callers)


def _report(stats: pstats.Stats, out: io.StringIO, top: int, callers: str | None) -> str:
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    if callers:
        stats.print_callers(callers)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="requests in flight on the loop (32 is what bench.http uses)")
    parser.add_argument("--profile", choices=["read", "post", "health", "direct-read",
                                              "direct-post"], default=None)
    parser.add_argument("--repeat", type=int, default=3,
                        help="measure each this many times; the fastest is printed")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--callers", default=None, help="with --profile: who calls these")
    parser.add_argument("--only", default=None, help="comma-separated subset to measure")
    parser.add_argument("--inline", action="store_true",
                        help="run sync handlers on the loop, not in a worker thread: the CPU "
                        "work of a request without the thread hop, steadier on a busy machine")
    parser.add_argument("--database-url", default=None,
                        help="the event store (default: a new SQLite file)")
    parser.add_argument("--background", action="store_true",
                        help="follow the event log and sweep, as the server does")
    parser.add_argument("--threads", type=int, default=None,
                        help="worker threads for sync handlers (default: the loop's executor)")
    args = parser.parse_args()
    if args.threads and args.profile:
        parser.error("--threads and --profile do not go together (the profiler follows the "
                     "loop's own executor)")
    if args.threads:
        from concurrent.futures import ThreadPoolExecutor

        import litestar.concurrency
        litestar.concurrency.set_asyncio_executor(ThreadPoolExecutor(args.threads))

    if args.inline:
        import litestar.utils.sync

        async def inline(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
            return fn(*a, **kw)

        litestar.utils.sync.sync_to_thread = inline  # type: ignore[assignment]
    try:
        import uvloop
        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run

    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as tmp, \
            open(Path(tmp) / "server.log", "w") as log_stream:
        # The servers of bench.http log one JSON line per request to a file: so here.
        configure_logging("json", "INFO", stream=log_stream)
        url = args.database_url or f"sqlite:///{tmp}/events.db"
        settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": url,
                                      "DISPUTEDESK_SECRET": SECRET,
                                      "DISPUTEDESK_RATE_LIMITS": "off"})
        desk = build_application(settings)
        read_id = place_orders(desk, "read", 1)[0]
        post_ids = place_orders(desk, "http", 200)
        direct_ids = [uuid.UUID(i) for i in place_orders(desk, "direct", 200)]
        token = issue_token(SECRET, "buyer", BUYER.id, ttl=timedelta(hours=1))
        auth = {"Authorization": f"Bearer {token}"}
        app = create_app(desk, settings, background=args.background)
        from bench.http.bare_app import app as bare_app

        body = json.dumps({"message": "Where is my order?", "channel": "chat"}).encode()
        posts = [Call(app, "POST", f"/v1/disputes/{i}/seller-contacts", auth, body)
                 for i in post_ids]
        calls: dict[str, Any] = {
            "bare": Call(bare_app, "GET", "/bare", {}),
            "health": Call(app, "GET", "/health", {}),
            "read": Call(app, "GET", f"/v1/disputes/{read_id}", auth),
            "post": lambda i: posts[i % len(posts)],
        }
        target = uuid.UUID(read_id)

        def direct_read(_: int) -> None:
            desk.case(target, BUYER)

        def direct_post(i: int) -> None:
            desk.contact_seller(direct_ids[i % len(direct_ids)], message="Where is my order?",
                                channel="chat", actor=BUYER)

        directs = {"direct-read": direct_read, "direct-post": direct_post}
        wanted = set(args.only.split(",")) if args.only else set(calls) | set(directs)

        async def run() -> None:
            lifespan = Lifespan(app)
            await lifespan.startup()
            for name, call in calls.items():
                if name not in wanted and name != args.profile:
                    continue
                await _measure(call, min(300, args.count), args.concurrency)  # warm up
                profiles = _ThreadProfiles() if args.profile == name else None
                if profiles:
                    # Fresh worker threads, so that they start under the profiler.
                    from concurrent.futures import ThreadPoolExecutor
                    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
                    profiles.start()
                runs = [await _measure(call, args.count, args.concurrency)
                        for _ in range(1 if profiles else args.repeat)]
                us, cpu, statuses = min(runs, key=lambda run: run[0])
                print(f"  {name:<14} {us:8.1f} us/request  {cpu:8.1f} us CPU  {statuses}",
                      flush=True)
                if profiles:
                    print(profiles.stop(args.top, args.callers))
            await lifespan.shutdown()

        runner(run())
        for name, fn in directs.items():
            if name not in wanted and name != args.profile:
                continue
            for i in range(min(300, args.count)):
                fn(i)
            profile = cProfile.Profile() if args.profile == name else None
            if profile:
                profile.enable()
            us = cpu_us = float("inf")
            for _ in range(1 if profile else args.repeat):
                started, cpu = time.perf_counter(), time.process_time()
                for i in range(args.count):
                    fn(i)
                us = min(us, (time.perf_counter() - started) / args.count * 1e6)
                cpu_us = min(cpu_us, (time.process_time() - cpu) / args.count * 1e6)
            if profile:
                profile.disable()
            print(f"  {name:<14} {us:8.1f} us/call     {cpu_us:8.1f} us CPU", flush=True)
            if profile:
                out = io.StringIO()
                print(_report(pstats.Stats(profile, stream=out), out, args.top, args.callers))
        desk.close()


if __name__ == "__main__":
    main()
