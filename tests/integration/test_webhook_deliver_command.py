"""``disputedesk deliver --once`` on a SQLite file, to a real HTTP receiver on this machine.

The command runs in its own process on the wall clock, as an operator would run
it; plain http to 127.0.0.1 is allowed by ``DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from application.event_feed import EventFeed
from application.webhook_endpoints import Registered
from application.webhooks import DeliveryStatus
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from infrastructure.webhook_runtime import open_webhooks
from infrastructure.webhook_store import open_webhook_store

PLATFORM = Actor("platform", "p-1")


class Receiver(HTTPServer):
    """Answers 200 to every POST and keeps (headers, body) of each."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict[str, str], str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"])).decode()
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def deliver_once(env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from interface.cli import main; main()", "deliver", "--once"],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done.stderr


def registered_then_placed(settings: Settings, url: str) -> tuple[Registered, str]:
    """Register ``url`` for new cases, then open one (on the wall clock): (endpoint, event id)."""
    desk = build_application(settings)
    parts = open_webhooks(desk, settings)
    try:
        made = parts.endpoints.register(PLATFORM, url, ["dispute.created"])
        desk.place_order(order_id="o-cli", buyer_id="b-1", seller_id="s-1", region="US",
                         category="general", amount=Money.of("25.00", "USD"),
                         placed_at=desk.clock.now(), actor=PLATFORM)
        return made, str(EventFeed(desk).log_events(0).events[0]["id"])
    finally:
        parts.close()
        desk.close()


def test_deliver_once_sends_what_is_due_signed_and_then_nothing_more(
    receiver: Receiver, tmp_path: Path
) -> None:
    env = {
        "DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
        "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
        "DISPUTEDESK_LOG_FORMAT": "json",
    }
    settings = Settings.from_env(env, cwd=tmp_path)
    # Given an endpoint on this machine and a case opened after it was registered,
    made, event_id = registered_then_placed(settings, receiver.url)
    # when `disputedesk deliver --once` runs, the receiver gets the event, signed,
    assert "1 new events fanned out, 1 attempts made" in deliver_once(env, tmp_path)
    ((headers, body),) = receiver.received
    assert headers["webhook-id"] == event_id
    assert Webhook(made.secret).verify(body, headers)["data"]["order_id"] == "o-cli"
    # and the log says it was delivered;
    store = open_webhook_store(settings.database)
    try:
        (delivery,) = store.deliveries(made.endpoint.id, None, 10)
        assert (delivery.id, delivery.status, delivery.attempts, delivery.last_status_code) == (
            event_id, DeliveryStatus.DELIVERED, 1, 200)
    finally:
        store.close()
    # running it again sends nothing more.
    assert "0 new events fanned out, 0 attempts made" in deliver_once(env, tmp_path)
    assert len(receiver.received) == 1


def test_deliver_once_refuses_plain_http_without_the_development_setting(
    receiver: Receiver, tmp_path: Path
) -> None:
    # Given an endpoint registered while plain http to loopback was allowed,
    env = {
        "DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
        "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
        "DISPUTEDESK_LOG_FORMAT": "json",
    }
    settings = Settings.from_env(env, cwd=tmp_path)
    made, _ = registered_then_placed(settings, receiver.url)
    # when the worker runs without that setting, nothing is sent and the attempt says why.
    assert "1 attempts made" in deliver_once(
        {**env, "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "0"}, tmp_path)
    assert receiver.received == []
    store = open_webhook_store(settings.database)
    try:
        (delivery,) = store.deliveries(made.endpoint.id, None, 10)
        assert delivery.status is DeliveryStatus.PENDING and delivery.last_status_code is None
        assert delivery.last_error is not None and "must be https" in delivery.last_error
    finally:
        store.close()
