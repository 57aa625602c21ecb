"""Webhooks as a process runs them: the store, the service, the sender, the worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.disputes import DisputeDesk
from application.event_feed import EventFeed
from application.webhook_delivery import WebhookDelivery
from application.webhook_endpoints import WebhookEndpoints
from application.webhook_worker import DeliveryWorker
from infrastructure.settings import Settings
from infrastructure.webhook_sender import HttpSender, resolve_host, sign
from infrastructure.webhook_store import SQLWebhookStore, open_webhook_store

__all__ = ["Webhooks", "open_webhooks"]


@dataclass
class Webhooks:
    store: SQLWebhookStore
    endpoints: WebhookEndpoints
    delivery: WebhookDelivery
    sender: HttpSender
    concurrency: int
    workers: list[DeliveryWorker] = field(default_factory=list)

    def start_worker(self, *, poll_interval: float = 0.1) -> DeliveryWorker:
        worker = DeliveryWorker(self.delivery, concurrency=self.concurrency,
                                poll_interval=poll_interval)
        worker.start()
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        while self.workers:
            self.workers.pop().stop()
        self.sender.close()
        self.store.close()


def open_webhooks(app: DisputeDesk, settings: Settings, feed: EventFeed | None = None
                  ) -> Webhooks:
    store = open_webhook_store(settings.database)
    feed = feed or EventFeed(app)
    sender = HttpSender(app.clock, max_connections=max(8, settings.webhooks.concurrency * 2))
    return Webhooks(
        store=store,
        endpoints=WebhookEndpoints(store, app.clock, settings.webhooks, resolve_host,
                                   feed.head),
        delivery=WebhookDelivery(feed, store, sender, sign, app.clock,
                                 settings.webhooks, resolve_host),
        sender=sender,
        concurrency=settings.webhooks.concurrency,
    )
