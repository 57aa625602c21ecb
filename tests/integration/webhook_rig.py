"""A webhook rig for the delivery tests: the application, the webhook store, and a
scripted receiver in place of the network, all on one manual clock.

Nothing waits: the receiver answers at once, attempts run in the test's thread,
and time moves only when the test moves the clock.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from application.webhook_delivery import WebhookDelivery
from application.webhook_endpoints import WebhookEndpoints
from application.webhooks import Attempt, Delivery, Endpoint, WebhookSettings
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.webhook_sender import sign
from infrastructure.webhook_store import SQLWebhookStore, open_webhook_store

PLATFORM = Actor("platform", "p-1")
BUYER = Actor("buyer", "b-1")
SEED = 20261120
ALL_TYPES = ("dispute.created", "dispute.seller_contacted", "dispute.shipped")
#: The defaults, but slow to disable: a story about retries is not cut short by it.
SETTINGS = WebhookSettings(retry_horizon=timedelta(days=3), disable_after=timedelta(days=30))


def resolve(host: str) -> Sequence[str]:
    """Every test host is public; nothing goes to DNS."""
    if host.endswith(".example.com"):
        return ["93.184.216.34"]
    raise OSError(f"unknown host {host}")


@dataclass(frozen=True)
class Sent:
    """One request as the receiver saw it."""

    url: str
    headers: dict[str, str]
    body: str
    at: datetime

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)["data"]
        return data


#: How the receiver answers one request: an HTTP status, or an error (a string).
Answer = Callable[[Sent], int | str]


@dataclass
class Receiver:
    """Stands for every endpoint's server: records requests, answers per ``answer``."""

    clock: ManualClock
    answer: Answer = lambda _sent: 200
    requests: list[Sent] = field(default_factory=list)

    def __call__(self, url: str, headers: Mapping[str, str], body: bytes,
                 connect_timeout: float, request_timeout: float) -> Attempt:
        sent = Sent(url, dict(headers), body.decode(), self.clock.now())
        self.requests.append(sent)
        answer = self.answer(sent)
        if isinstance(answer, str):
            return Attempt(at=sent.at, latency_ms=int(request_timeout * 1000), error=answer)
        return Attempt(at=sent.at, latency_ms=12, status_code=answer)

    def ids(self, url: str | None = None) -> list[str]:
        return [s.id for s in self.requests if url is None or s.url == url]

    def take(self) -> list[Sent]:
        """The requests since the last take."""
        taken, self.requests = self.requests, []
        return taken


@dataclass
class Rig:
    desk: DisputeDesk
    store: SQLWebhookStore
    clock: ManualClock
    settings: WebhookSettings
    receiver: Receiver
    endpoints: WebhookEndpoints
    delivery: WebhookDelivery
    orders: int = 0

    # ---- the platform's side --------------------------------------------------------

    def register(self, name: str, types: Sequence[str] = ALL_TYPES) -> tuple[Endpoint, str]:
        made = self.endpoints.register(PLATFORM, f"https://{name}.example.com/hook", types)
        return made.endpoint, made.secret

    def place(self, order_id: str | None = None) -> UUID:
        self.orders += 1
        view, created = self.desk.place_order(
            order_id=order_id or f"o-{self.orders}", buyer_id=BUYER.id, seller_id="s-1",
            region="US", category="general", amount=Money.of("25.00", "USD"),
            placed_at=self.clock.now(), actor=PLATFORM)
        assert created
        return UUID(view["id"])

    def contact(self, dispute: UUID, message: str = "where is it?") -> None:
        self.desk.contact_seller(dispute, message=message, channel="email", actor=BUYER)

    def ship(self, dispute: UUID) -> None:
        self.desk.ship(dispute, carrier="UPS", tracking_number="1Z",
                       shipped_at=self.clock.now(), actor=PLATFORM)

    # ---- the worker's side ----------------------------------------------------------

    def fan_out(self) -> None:
        while not self.delivery.fan_out()[1]:
            pass

    def drain(self) -> list[Sent]:
        """Fan out, then attempt whatever is due now until nothing is; what was sent."""
        self.fan_out()
        while self.delivery.send_due():
            pass
        return self.receiver.take()

    def until(self, when: datetime) -> list[Sent]:
        self.clock.set(when)
        return self.drain()

    def deliveries(self, endpoint: Endpoint) -> list[Delivery]:
        return self.store.deliveries(endpoint.id, None, 1000)

    def one(self, endpoint: Endpoint, event_id: int | str) -> Delivery:
        found = self.store.delivery(endpoint.id, str(event_id))
        assert found is not None
        return found

    def public_events(self) -> list[dict[str, Any]]:
        return EventFeed(self.desk).log_events(0, 10_000).events


def make_delivery(desk: DisputeDesk, store: SQLWebhookStore, receiver: Receiver,
                  settings: WebhookSettings, rng: random.Random | None = None
                  ) -> WebhookDelivery:
    return WebhookDelivery(EventFeed(desk), store, receiver, sign, desk.clock, settings,
                           resolve, rng=rng or random.Random(SEED))


@contextmanager
def rig(database_url: str, clock: ManualClock, settings: WebhookSettings = SETTINGS,
        answer: Answer | None = None) -> Iterator[Rig]:
    app_settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})
    desk = build_application(app_settings, clock=clock)
    store = open_webhook_store(app_settings.database)
    receiver = Receiver(clock) if answer is None else Receiver(clock, answer)
    try:
        yield Rig(desk, store, clock, settings, receiver,
                  WebhookEndpoints(store, clock, settings, resolve, EventFeed(desk).head),
                  make_delivery(desk, store, receiver, settings))
    finally:
        store.close()
        desk.close()


def real_now() -> datetime:
    """The wall clock, whole seconds (Standard Webhooks checks timestamps against it)."""
    return datetime.now(UTC).replace(microsecond=0)
