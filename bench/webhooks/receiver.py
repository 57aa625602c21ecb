"""A webhook receiver on 127.0.0.1 for tests and benchmarks.

It verifies each request's Standard Webhooks signature with the library
(``standardwebhooks``), records what arrived (``webhook-id``, the body, the
instant, the answer it gave) and answers as told: ``200``, a status code such
as ``500`` for a while, or never (``hang``: it keeps the connection open and
says nothing, as a stuck receiver does).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["Arrival", "Receiver"]


@dataclass(frozen=True)
class Arrival:
    webhook_id: str
    body: str
    at: float  # time.monotonic() when it arrived
    wall: float  # time.time() when it arrived (to compare with the event's created_at)
    answered: int | None  # None: not answered (hang)
    verified: bool
    event: dict[str, Any]


@dataclass
class Receiver:
    """``answer``: an int status, or ``"hang"``; may be changed while it runs."""

    answer: int | str = 200
    delay: float = 0.0
    secrets: list[str] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _verified(self, body: str, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length", "0"))
        body = request.rfile.read(length).decode()
        headers = {k.lower(): v for k, v in request.headers.items()}
        answer, release = self.answer, self._release
        wall = time.time()
        if self.delay:
            time.sleep(self.delay)
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        arrival = Arrival(
            webhook_id=headers.get("webhook-id", ""), body=body, at=time.monotonic(), wall=wall,
            answered=None if answer == "hang" else int(answer),
            verified=self._verified(body, headers), event=event,
        )
        with self._lock:
            self.arrivals.append(arrival)
        if answer == "hang":
            release.wait(120)
            return
        request.send_response(int(answer))
        request.send_header("content-length", "0")
        request.end_headers()

    def release(self) -> None:
        """End the requests held by ``hang`` (their connections close unanswered)."""
        self._release.set()
        self._release = threading.Event()

    def received(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)

    def delivered_ids(self) -> set[str]:
        """The ``webhook-id``s answered 2xx at least once."""
        return {a.webhook_id for a in self.received()
                if a.answered is not None and 200 <= a.answered < 300}

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
