"""The platform's webhook endpoints: register, read, enable, rotate, delete, replay.

Only the platform manages endpoints (the access table's ``manage_webhooks``). A
new endpoint receives the events recorded after it was registered; its signing
secret is generated here and shown once, in the answer to its registration.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from application.access import require
from application.ports import Clock
from application.public_events import CONTRACT_TYPES
from application.webhook_urls import Resolve, check_url
from application.webhooks import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    WebhookSettings,
    WebhookStore,
)
from domain.dispute import Actor
from domain.dispute.access import COMMAND_ROLES
from domain.errors import InvalidInput, NotFound

__all__ = ["EndpointNotFound", "Registered", "WebhookEndpoints", "new_secret"]

MAX_DESCRIPTION = 500


class EndpointNotFound(NotFound):
    code = "not-found"


class BadEndpoint(InvalidInput):
    code = "invalid-input"


@dataclass(frozen=True, slots=True)
class Registered:
    endpoint: Endpoint
    secret: str


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form (``whsec_`` + base64 of 32 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookEndpoints:
    def __init__(
        self,
        store: WebhookStore,
        clock: Clock,
        settings: WebhookSettings,
        resolve: Resolve,
        head: Callable[[], int],
    ) -> None:
        """``head``: the id of the last event in the log (a new endpoint starts after it)."""
        self._store = store
        self._clock = clock
        self._settings = settings
        self._resolve = resolve
        self._head = head

    def register(self, actor: Actor, url: str, event_types: Sequence[str],
                 description: str = "") -> Registered:
        require(COMMAND_ROLES, "manage_webhooks", actor)
        types = _checked_types(event_types)
        if len(description) > MAX_DESCRIPTION:
            raise BadEndpoint(f"description is longer than {MAX_DESCRIPTION} characters")
        check_url(url, self._settings, self._resolve)
        secret = new_secret()
        endpoint = Endpoint(
            id=str(uuid.uuid4()),
            url=url,
            event_types=types,
            description=description,
            enabled=True,
            created_at=self._clock.now(),
            # Not the events already recorded, even those the fan-out has not read yet.
            created_position=self._head(),
            secrets=(secret,),
        )
        return Registered(self._store.add_endpoint(endpoint), secret)

    def all(self, actor: Actor) -> list[Endpoint]:
        require(COMMAND_ROLES, "manage_webhooks", actor)
        return self._store.endpoints()

    def get(self, actor: Actor, endpoint_id: str) -> Endpoint:
        require(COMMAND_ROLES, "manage_webhooks", actor)
        endpoint = self._store.endpoint(endpoint_id)
        if endpoint is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    def delete(self, actor: Actor, endpoint_id: str) -> None:
        require(COMMAND_ROLES, "manage_webhooks", actor)
        if not self._store.delete_endpoint(endpoint_id):
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")

    def enable(self, actor: Actor, endpoint_id: str) -> Endpoint:
        """Re-enable: what accrued while disabled is delivered, in order, from now."""
        self.get(actor, endpoint_id)
        self._store.set_enabled(endpoint_id, True, None, self._clock.now())
        return self.get(actor, endpoint_id)

    def rotate_secret(self, actor: Actor, endpoint_id: str) -> Registered:
        """A new secret signs from now; the previous one too, for the overlap."""
        endpoint = self.get(actor, endpoint_id)
        secret = new_secret()
        until = self._clock.now() + self._settings.rotation_overlap
        self._store.set_secrets(endpoint_id, (secret, endpoint.secrets[0]), until)
        return Registered(replace(endpoint, secrets=(secret,)), secret)

    def previous_secret_until(self, actor: Actor, endpoint_id: str) -> datetime | None:
        self.get(actor, endpoint_id)
        return self._store.previous_secret_until(endpoint_id)

    def deliveries(self, actor: Actor, endpoint_id: str, after: str | None, limit: int,
                   status: DeliveryStatus | None = None) -> list[Delivery]:
        self.get(actor, endpoint_id)
        return self._store.deliveries(endpoint_id, after, limit, status)

    def delivery(self, actor: Actor, endpoint_id: str, delivery_id: str
                 ) -> tuple[Delivery, list[Attempt]]:
        self.get(actor, endpoint_id)
        found = self._store.delivery(endpoint_id, delivery_id)
        if found is None:
            raise EndpointNotFound(f"no delivery {delivery_id} of endpoint {endpoint_id}")
        return found, self._store.attempts_of(endpoint_id, delivery_id)

    def retry(self, actor: Actor, endpoint_id: str, delivery_id: str) -> Delivery:
        """Send again now (a delivered or failed one too); its ``webhook-id`` stays."""
        self.get(actor, endpoint_id)
        if not self._store.retry_now(endpoint_id, delivery_id, self._clock.now()):
            raise EndpointNotFound(f"no delivery {delivery_id} of endpoint {endpoint_id}")
        found = self._store.delivery(endpoint_id, delivery_id)
        assert found is not None
        return found


def _checked_types(event_types: Sequence[str]) -> tuple[str, ...]:
    if not event_types:
        raise BadEndpoint("event_types must name at least one public event type")
    unknown = sorted(set(event_types) - CONTRACT_TYPES)
    if unknown:
        raise BadEndpoint(
            f"unknown event types: {', '.join(unknown)} (see GET /v1/events for the catalogue)"
        )
    return tuple(sorted(set(event_types)))
