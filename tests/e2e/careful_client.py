"""Real server processes and a careful client, for the end-to-end fault tests.

A *careful client* sends every command with its own ``Idempotency-Key`` and,
when it does not get a definite answer, sends THE SAME request with THE SAME key
again: after a timeout, a connection error, a 5xx or a 429 (honouring
``Retry-After``, capped), and after a 409 that carries ``Retry-After`` (the
server's "a request with this key is still in progress; retry shortly", which
decides nothing). A definite answer is a 2xx or any other 4xx. Every command has
an overall time bound; a command still undecided at its bound is a failure of
the server, not of the client.

Every command carries a unique text, so that the event store can be searched
for it afterwards: :func:`stored_texts` reads the events table directly and
counts, per dispute, the events that carry each text.

The server runs as a real process tree (``disputedesk serve``), started in its
own process group from the repository this file belongs to (``cwd`` and
``PYTHONPATH``), so that a copy of these tests in another checkout runs that
checkout's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench.load.scenario import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-careful-client-secret-5f0c9a7e2b41d8c3a6f9e0b7"
LOCALHOST = "127.0.0.1"
#: The log line a command writes once its event is committed (before it answers).
EVENT_RECORDED = b"dispute.event_recorded"


def cli(*args: str) -> list[str]:
    """``disputedesk ARGS`` from this checkout's code (not the installed entry point)."""
    return [sys.executable, "-c", "from interface.cli import main; main()", *args]


def child_env(database_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DISPUTEDESK_SECRET": SECRET,
        "DISPUTEDESK_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    if database_url is not None:
        env["DISPUTEDESK_DATABASE_URL"] = database_url
    return env


def issue_tokens(
    who: Iterable[tuple[str, str]], timeout: float = 60.0
) -> dict[tuple[str, str], str]:
    """``disputedesk token --role R --subject S`` for each pair, run side by side."""
    pairs = list(dict.fromkeys(who))
    running = [
        (pair, subprocess.Popen(
            cli("token", "--role", pair[0], "--subject", pair[1]), cwd=ROOT,
            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
        for pair in pairs
    ]
    tokens: dict[tuple[str, str], str] = {}
    try:
        for pair, process in running:
            out, err = process.communicate(timeout=timeout)
            if process.returncode != 0:
                raise RuntimeError(f"token {pair} failed ({process.returncode}): {err.decode()}")
            tokens[pair] = out.decode().strip()
    finally:
        for _, process in running:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return tokens


# ---- server processes -----------------------------------------------------------------


class Server:
    """One ``disputedesk serve`` process tree in a process group of its own."""

    def __init__(self, database_url: str, log_path: Path, *, workers: int = 1,
                 port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.env = env or {}
        self.log_path = log_path
        self.workers = workers
        self.port = port or free_port()
        self.base = f"http://{LOCALHOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until ``/health`` answers 200; returns the seconds it took."""
        assert self.process is None or self.process.poll() is not None, "already running"
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cli("serve", "--host", LOCALHOST, "--port", str(self.port),
                    "--workers", str(self.workers)),
                cwd=ROOT, env={**child_env(self.database_url), **self.env}, stdout=log,
                stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.starts += 1
        deadline = started + timeout
        with httpx.Client(timeout=2.0, verify=False) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    if http.get(f"{self.base}/health").status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /health within {timeout} s:\n"
                           f"{self.log_tail()}")

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _wait_group_gone(self, timeout: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """``kill -9`` the whole process group (the server and its workers)."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self._wait_group_gone(10.0)

    def stop(self, grace: float = 3.0) -> None:
        """End the group: SIGTERM, then SIGKILL whatever is left after ``grace`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            if self._wait_group_gone(grace):
                return
        self._signal_group(signal.SIGKILL)
        self._wait_group_gone(10.0)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_for_log(self, marker: bytes, timeout: float, poll: float = 0.0005) -> bool:
        """Wait until a line containing ``marker`` is written after this call."""
        deadline = time.monotonic() + timeout
        offset = self.log_size()
        carry = b""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            while time.monotonic() < deadline:
                chunk = log.read()
                if chunk:
                    data = carry + chunk
                    if marker in data:
                        return True
                    carry = data[-len(marker):]
                else:
                    time.sleep(poll)
        return False

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def log_lines(self, marker: str) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if marker in line]


class Servers:
    """Every server a test starts; :meth:`stop_all` ends them (fixtures' teardown)."""

    def __init__(self) -> None:
        self.started: list[Server] = []

    def add(self, server: Server) -> Server:
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


# ---- the careful client ----------------------------------------------------------------


@dataclass
class Command:
    """One command with its own key and a text nobody else sends."""

    kind: str  # "note" or "evidence"
    dispute_id: str
    path: str
    role: str
    subject: str
    body: dict[str, Any]
    text: str
    key: str = field(default_factory=lambda: f"e2e-{uuid.uuid4()}")


def note(dispute_id: str, moderator: str = "m-1") -> Command:
    text = f"note {uuid.uuid4().hex}"
    return Command("note", dispute_id, f"/v1/disputes/{dispute_id}/notes", "moderator",
                   moderator, {"text": text}, text)


def evidence(dispute_id: str, role: str, subject: str) -> Command:
    text = f"evidence from {role} {uuid.uuid4().hex}"
    return Command("evidence", dispute_id, f"/v1/disputes/{dispute_id}/evidence", role, subject,
                   {"kind": "other", "description": text}, text)


def mixed_command(n: int, i: int, dispute_id: str, buyer: str, seller: str) -> Command:
    """Thread ``n``'s ``i``-th command: a note, the buyer's or the seller's evidence in turn."""
    choice = (n + i) % 3
    if choice == 0:
        return note(dispute_id)
    if choice == 1:
        return evidence(dispute_id, "buyer", buyer)
    return evidence(dispute_id, "seller", seller)


@dataclass
class Attempt:
    status: int | None  # None: no answer (timeout or connection error)
    error: str | None
    seconds: float
    replayed: bool = False
    retry_after: float | None = None


@dataclass
class Outcome:
    command: Command
    attempts: list[Attempt]
    started: float
    seconds: float

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def acked(self) -> bool:
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)

    @property
    def definite(self) -> bool:
        return is_definite(self.final)

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    def describe(self) -> str:
        tried = ", ".join(
            (str(a.status) + ("r" if a.replayed else "")) if a.status is not None else str(a.error)
            for a in self.attempts
        )
        return (f"{self.command.kind} {self.command.dispute_id} key={self.command.key} "
                f"text={self.command.text!r} after {self.seconds:.1f} s: [{tried}]")


def is_definite(attempt: Attempt) -> bool:
    status = attempt.status
    if status is None or status >= 500 or status == 429:
        return False
    return not _asks_retry(attempt)


def _asks_retry(attempt: Attempt) -> bool:
    """A 409 that says "still in progress, retry" (it carries Retry-After) decides nothing."""
    return attempt.status == 409 and attempt.retry_after is not None


class CarefulClient:
    """One thread's client. ``send`` keeps trying one command until it is decided."""

    def __init__(self, base_url: str, tokens: dict[tuple[str, str], str], *,
                 timeout: float = 15.0, bound: float = 70.0, deadline: float | None = None,
                 retry_after_cap: float = 2.0, seed: int = 0,
                 cancel: threading.Event | None = None) -> None:
        """``bound``: seconds per command; ``deadline``: a ``time.monotonic()`` no
        command outlives; ``cancel``: when set, stop retrying (the test is failing)."""
        self.base = base_url
        self.cancel = cancel or threading.Event()
        self.tokens = tokens
        self.timeout = timeout
        self.bound = bound
        self.deadline = deadline
        self.retry_after_cap = retry_after_cap
        self.rng = random.Random(seed)
        # Plain HTTP to 127.0.0.1: no TLS context to build (40 ms of CPU per client).
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), verify=False)

    def close(self) -> None:
        self.http.close()

    def send(self, command: Command) -> Outcome:
        headers = {
            "Authorization": f"Bearer {self.tokens[(command.role, command.subject)]}",
            "Idempotency-Key": command.key,
        }
        started = time.monotonic()
        give_up = started + self.bound
        if self.deadline is not None:
            give_up = min(give_up, self.deadline)
        attempts: list[Attempt] = []
        while True:
            attempt = self._once(command, headers, give_up)
            attempts.append(attempt)
            if is_definite(attempt):
                break
            wait = self._wait(attempt, len(attempts))
            if time.monotonic() + wait >= give_up or self.cancel.wait(wait):
                break
        return Outcome(command, attempts, started, time.monotonic() - started)

    def _once(self, command: Command, headers: dict[str, str], give_up: float) -> Attempt:
        began = time.monotonic()
        wait = min(self.timeout, max(0.5, give_up - began))  # never far past the bound
        try:
            response = self.http.post(self.base + command.path, json=command.body,
                                      headers=headers,
                                      timeout=httpx.Timeout(wait, connect=min(5.0, wait)))
        except httpx.TransportError as error:  # timeouts, refused and reset connections
            return Attempt(None, type(error).__name__, time.monotonic() - began)
        retry_after: float | None = None
        if "retry-after" in response.headers:
            try:
                retry_after = max(float(response.headers["retry-after"]), 0.0)
            except ValueError:
                retry_after = self.retry_after_cap
        return Attempt(
            response.status_code, None, time.monotonic() - began,
            replayed=response.headers.get("idempotent-replayed") == "true",
            retry_after=retry_after,
        )

    def _wait(self, attempt: Attempt, tries: int) -> float:
        if attempt.retry_after is not None:
            return min(attempt.retry_after, self.retry_after_cap)
        backoff = min(0.1 * 2 ** (tries - 1), 2.0)
        return backoff * (0.5 + self.rng.random() / 2)


class Ledger:
    """Every command's outcome, from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)


# ---- the event store, read directly -----------------------------------------------------


def events_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(schema, table) of each application's stored events (``<app>_events``; the
    snapshots tables have the same columns and are left out)."""
    rows = conn.execute(
        "SELECT c.table_schema, c.table_name FROM information_schema.columns c "
        "WHERE c.column_name IN ('originator_id', 'originator_version', 'topic', 'state') "
        "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND c.table_name LIKE '%%\\_events' "
        "GROUP BY c.table_schema, c.table_name HAVING count(*) = 4 "
        "ORDER BY c.table_schema, c.table_name"
    ).fetchall()
    if not rows:
        raise AssertionError("no events table (originator_id, originator_version, topic, state)")
    return [(str(schema), str(table)) for schema, table in rows]


def _decode(state: bytes) -> Any:
    try:
        return json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return json.loads(zlib.decompress(state))


def stored_texts(database_url: str, texts: set[str]) -> Counter[tuple[str, str]]:
    """How many stored events carry each of ``texts``, per (dispute id, text).

    Every string anywhere in an event's state is compared (an event counts once
    per text), so the count does not depend on which field keeps a command's text.
    """
    found: Counter[tuple[str, str]] = Counter()
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        for schema, table in events_tables(conn):
            query = sql.SQL("SELECT originator_id, state FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            for originator_id, state in conn.execute(query):
                for value in set(_strings(_decode(bytes(state)))) & texts:
                    found[(str(originator_id), value)] += 1
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ---- the verdict ------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the store holds against what the clients were told.

    ``duplicates``: a command's text stored more than once. ``lost``: acknowledged
    (a 2xx) but not stored. ``undecided``: no definite answer within its bound.
    ``refused_but_recorded``: answered a definite 4xx at the first and only try,
    yet stored. ``not_acked``: every command that ended without a 2xx (allowed
    when its final answer is a definite 4xx), with how often it is stored.
    """

    commands: int
    acked: int
    attempts: int
    retried: int
    statuses: Counter[str]
    duplicates: list[str]
    lost: list[str]
    undecided: list[str]
    refused_but_recorded: list[str]
    not_acked: list[str]
    server_errors: int

    def summary(self) -> str:
        lines = [
            f"commands {self.commands}, acked {self.acked}, not acked "
            f"{self.commands - self.acked}, attempts {self.attempts}, "
            f"retried commands {self.retried}",
            "statuses seen (all attempts): "
            + ", ".join(f"{k}: {n}" for k, n in sorted(self.statuses.items())),
            f"500s {self.server_errors}, duplicates {len(self.duplicates)}, lost "
            f"{len(self.lost)}, undecided {len(self.undecided)}, refused but recorded "
            f"{len(self.refused_but_recorded)}",
        ]
        for title, items in (("DUPLICATED", self.duplicates), ("LOST", self.lost),
                             ("UNDECIDED", self.undecided),
                             ("REFUSED BUT RECORDED", self.refused_but_recorded),
                             ("not acked", self.not_acked)):
            lines.extend(f"  {title}: {item}" for item in items[:10])
            if len(items) > 10:
                lines.append(f"  ... and {len(items) - 10} more {title}")
        return "\n".join(lines)


def verify(database_url: str, outcomes: list[Outcome]) -> Verdict:
    """Read the events table and hold each command's outcome against it."""
    texts = {o.command.text for o in outcomes}
    found = stored_texts(database_url, texts)
    per_text: Counter[str] = Counter()
    for (_, text), count in found.items():
        per_text[text] += count
    duplicates: list[str] = []
    lost: list[str] = []
    undecided: list[str] = []
    refused_recorded: list[str] = []
    not_acked: list[str] = []
    statuses: Counter[str] = Counter()
    for outcome in outcomes:
        for attempt in outcome.attempts:
            statuses[str(attempt.status) if attempt.status is not None else str(attempt.error)] += 1
        command = outcome.command
        mine = found[(command.dispute_id, command.text)]
        anywhere = per_text[command.text]
        where = f"stored {mine}x" + (f" ({anywhere}x anywhere)" if anywhere != mine else "")
        line = f"{where}: {outcome.describe()}"
        if anywhere > 1:
            duplicates.append(line)
        if outcome.acked:
            if mine == 0:
                lost.append(line)
            continue
        not_acked.append(line)
        if not outcome.definite:
            undecided.append(line)
        elif anywhere and not outcome.retried:
            refused_recorded.append(line)
    return Verdict(
        commands=len(outcomes),
        acked=sum(1 for o in outcomes if o.acked),
        attempts=sum(len(o.attempts) for o in outcomes),
        retried=sum(1 for o in outcomes if o.retried),
        statuses=statuses,
        duplicates=duplicates,
        lost=lost,
        undecided=undecided,
        refused_but_recorded=refused_recorded,
        not_acked=not_acked,
        server_errors=statuses.get("500", 0),
    )


# ---- seeding ----------------------------------------------------------------------------


def place_order(base: str, platform_token: str, order_id: str, buyer: str, seller: str,
                timeout: float = 30.0) -> str:
    """Place one order (with a key, retried like any command); returns its dispute id."""
    body = {
        "order_id": order_id, "buyer_id": buyer, "seller_id": seller, "region": "US",
        "category": "general", "amount": {"amount": "25.00", "currency": "USD"},
        "placed_at": (datetime.now(UTC) - timedelta(seconds=30)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {platform_token}", "Idempotency-Key": f"order-{order_id}"}
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    with httpx.Client(timeout=15.0, verify=False) as http:
        while time.monotonic() < deadline:
            try:
                response = http.post(f"{base}/v1/orders", json=body, headers=headers)
            except httpx.HTTPError as error:
                last = type(error).__name__
                time.sleep(0.2)
                continue
            if response.status_code in (200, 201):
                return str(response.json()["id"])
            last = f"{response.status_code} {response.text[:300]}"
            if response.status_code < 500:
                break
            time.sleep(0.2)
    raise RuntimeError(f"placing order {order_id} failed: {last}")
