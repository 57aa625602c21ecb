"""Live updates through a real ``disputedesk serve``: server-sent events within a second.

A client connected to a case's stream gets the public event a command recorded
within a second of the command's answer (the command answers once its event is
committed; the stream polls the log every 0.4 s). A client that reconnects with
``Last-Event-ID`` gets what was recorded while it was away, from right after that
id: nothing missed, nothing twice. The moderators' queue stream sees it too.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.careful_client import Server, Servers, issue_tokens, place_order

WITHIN = 1.0


class Listener:
    """One SSE connection read in a thread: each message with the instant it arrived."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None) -> None:
        self.messages: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.connected.wait(10.0), "the stream did not open"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def _read(self, url: str, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(5.0, read=30.0)
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
            self._response = response
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, Any] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.connected.set()
                elif line == "":
                    if "event" in fields:  # not the opening's retry line
                        self.messages.put((time.monotonic(), fields))
                    fields = {}
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value

    def next(self, timeout: float) -> tuple[float, dict[str, Any]]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        """Disconnect (the server's stream ends with the connection)."""
        self._stop.set()
        if self._response is not None:
            # Unblocks the reading thread at once (closing the response would wait for data).
            sock = self._response.extensions["network_stream"].get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5.0)
        assert not self._thread.is_alive()


def _post(base: str, token: str, path: str, body: dict[str, Any]) -> float:
    """Send a command; the instant its (committed) answer arrived."""
    response = httpx.post(base + path, json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=15.0)
    assert response.status_code in (200, 201), response.text
    return time.monotonic()


def test_a_stream_gets_new_events_within_a_second_and_resumes_without_gap(
    database_url: str, tmp_path: Path, servers: Servers
) -> None:
    server = servers.add(Server(database_url, tmp_path / "server.log"))
    tokens = issue_tokens([("platform", "p-1"), ("buyer", "b-1"), ("moderator", "m-1")])
    platform, buyer, moderator = (tokens[("platform", "p-1")], tokens[("buyer", "b-1")],
                                  tokens[("moderator", "m-1")])
    print(f"server started in {server.start():.1f} s")
    dispute = place_order(server.base, platform, "o-sse", "b-1", "s-1")
    case_url = f"{server.base}/v1/disputes/{dispute}/events/stream"

    case_stream = Listener(case_url, buyer)
    queue_stream = Listener(f"{server.base}/v1/moderation/queue/stream", moderator)
    answered = _post(server.base, buyer, f"/v1/disputes/{dispute}/seller-contacts",
                     {"message": "where is it?", "channel": "email"})
    arrived, message = case_stream.next(timeout=5.0)
    assert message["event"] == "dispute.seller_contacted"
    assert arrived - answered < WITHIN, f"took {arrived - answered:.3f} s"
    print(f"case stream: {arrived - answered:.3f} s after the command's answer")
    event = json.loads(message["data"])
    assert event["id"] == message["id"] and event["dispute_id"] == dispute
    queued_at, queued = queue_stream.next(timeout=5.0)
    assert queued["id"] == message["id"]
    assert queued_at - answered < WITHIN, f"took {queued_at - answered:.3f} s"
    case_stream.close()
    queue_stream.close()

    # Away: a note (never public), a shipment, another contact.
    _post(server.base, moderator, f"/v1/disputes/{dispute}/notes", {"text": "internal only"})
    _post(server.base, platform, "/v1/orders/o-sse/shipments",
          {"carrier": "UPS", "tracking_number": "1Z", "shipped_at": datetime.now(UTC).isoformat()})
    _post(server.base, buyer, f"/v1/disputes/{dispute}/seller-contacts",
          {"message": "thanks", "channel": "chat"})

    again = Listener(case_url, buyer, last_event_id=message["id"])
    missed = [again.next(timeout=5.0)[1] for _ in range(2)]
    assert [m["event"] for m in missed] == ["dispute.shipped", "dispute.seller_contacted"]
    assert int(missed[0]["id"]) > int(message["id"])
    assert "internal only" not in str(missed)
    # A case closes once the goods arrived (nothing on its way, nothing owed).
    _post(server.base, platform, "/v1/orders/o-sse/deliveries",
          {"delivered_at": datetime.now(UTC).isoformat()})
    assert again.next(timeout=5.0)[1]["event"] == "dispute.delivered"
    answered = _post(server.base, platform, f"/v1/disputes/{dispute}/close",
                     {"reason": "resolved"})
    arrived, closed = again.next(timeout=5.0)
    assert closed["event"] == "dispute.closed"
    assert arrived - answered < WITHIN, f"took {arrived - answered:.3f} s"
    with pytest.raises(queue.Empty):
        again.next(timeout=0.5)  # nothing twice
    again.close()
