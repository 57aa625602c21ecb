"""Webhook endpoints and their delivery log (the platform's).

Each endpoint receives, as signed Standard Webhooks requests, the public events
of the types it names that are recorded after it was registered. The delivery
log shows every delivery with its attempts; a delivery can be sent again by hand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter
from msgspec import Meta, Struct

from application.public_events import CONTRACT_TYPES, rfc3339
from application.webhook_endpoints import WebhookEndpoints
from application.webhooks import Attempt, Delivery, DeliveryStatus, Endpoint
from domain.dispute import Actor
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey
from interface.http.pagination import DEFAULT_LIMIT, Limit, decode_cursor, encode_cursor
from interface.http.routes import delete, get, post

Rfc3339 = Annotated[str, Meta(description="RFC 3339 instant in UTC (`Z`)")]
EndpointId = Annotated[str, PathParameter(description="The endpoint's `id`", max_length=64)]
DeliveryId = Annotated[str, PathParameter(
    description="The delivery's `id` (its event's `id`)", max_length=20)]
_TYPES_TEXT = ", ".join(f"`{kind}`" for kind in sorted(CONTRACT_TYPES))


class NewEndpoint(Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(max_length=2048, description="Where to POST: `https://` (plain "
                             "`http://` only to a loopback host when the server allows it)")]
    event_types: Annotated[list[str], Meta(min_length=1, max_length=len(CONTRACT_TYPES),
                                           description="Public event types to receive: "
                                           + _TYPES_TEXT)]
    description: Annotated[str, Meta(max_length=500)] = ""


class EndpointView(Struct):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: Annotated[str | None, Meta(
        description="Why the endpoint was disabled (it kept failing); null when enabled")]
    created_at: Rfc3339
    failing_since: Annotated[Rfc3339 | None, Meta(
        description="Since when every attempt has failed; null when the last succeeded")]


class CreatedEndpoint(EndpointView):
    secret: Annotated[str, Meta(
        description="The signing secret (`whsec_...`), shown only in this answer: verify "
        "`webhook-signature` with it (Standard Webhooks)")]


class RotatedSecret(Struct):
    id: str
    secret: Annotated[str, Meta(description="The new signing secret, shown only here")]
    previous_valid_until: Annotated[Rfc3339, Meta(
        description="Until then each request carries both signatures (old and new)")]


class AttemptView(Struct):
    at: Rfc3339
    latency_ms: int
    status_code: int | None
    error: str | None


class DeliveryView(Struct):
    id: Annotated[str, Meta(description="The delivery's id: its event's id, which is also "
                                        "the `webhook-id` header of every attempt")]
    event_id: str
    event_type: str
    dispute_id: str
    status: Annotated[str, Meta(description="`pending` (to be tried, or retrying), "
                                            "`delivered` (answered 2xx) or `failed` (gave up)")]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: int | None
    next_attempt_at: Annotated[Rfc3339 | None, Meta(
        description="When it is tried next; null when delivered, failed, or the endpoint is "
        "disabled")]
    created_at: Rfc3339
    delivered_at: Rfc3339 | None


class DeliveryDetail(DeliveryView):
    attempt_log: Annotated[list[AttemptView], Meta(description="The latest attempts, newest "
                                                               "first (at most 20)")]


class DeliveriesPage(Struct):
    data: list[DeliveryView]
    next_cursor: str | None


def _t(value: datetime | None) -> str | None:
    return None if value is None else rfc3339(value)


def _endpoint(e: Endpoint) -> dict[str, Any]:
    return {
        "id": e.id, "url": e.url, "event_types": list(e.event_types),
        "description": e.description, "enabled": e.enabled,
        "disabled_reason": e.disabled_reason, "created_at": rfc3339(e.created_at),
        "failing_since": _t(e.failing_since),
    }


def _delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "event_id": str(d.event_id), "event_type": d.event_type,
        "dispute_id": d.dispute_id, "status": d.status.value, "attempts": d.attempts,
        "last_status_code": d.last_status_code, "last_error": d.last_error,
        "last_latency_ms": d.last_latency_ms, "next_attempt_at": _t(d.next_attempt_at),
        "created_at": rfc3339(d.created_at), "delivered_at": _t(d.delivered_at),
    }


def _attempt(a: Attempt) -> AttemptView:
    return AttemptView(at=rfc3339(a.at), latency_ms=a.latency_ms, status_code=a.status_code,
                       error=a.error)


_ROLES = roles_note("manage_webhooks")
_GUARDS = [requires("manage_webhooks")]


class WebhooksController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]

    @post("/", guards=_GUARDS,
          operation_id="createWebhookEndpoint", status_code=201, sync_to_thread=True,
          summary="Register a webhook endpoint",
          description="Registers `url` for the public event types named; events recorded from "
          "now on are delivered to it, signed per Standard Webhooks with the `secret` of this "
          "answer (shown only once). A URL that is not https, or that resolves to a private "
          "or local address, is 422 unless the server's settings allow it. " + _ROLES,
          responses=problem_responses(400, 401, 403, 415, 422, 503))
    def create(self, data: JSONBody[NewEndpoint], webhooks: NamedDependency[WebhookEndpoints],
               request: Request[Actor, Any, Any], idempotency_key: IdempotencyKey = None,
               ) -> Response[CreatedEndpoint]:
        made = webhooks.register(request.user, data.url, data.event_types, data.description)
        body = CreatedEndpoint(**_endpoint(made.endpoint), secret=made.secret)
        return Response(body, status_code=201,
                        headers={"Location": f"/v1/webhook-endpoints/{made.endpoint.id}"})

    @get("/", guards=_GUARDS, operation_id="listWebhookEndpoints", sync_to_thread=True,
         summary="The webhook endpoints", description="Every endpoint, oldest first (never "
         "their secrets). " + _ROLES, responses=problem_responses(401, 403))
    def list_endpoints(self, webhooks: NamedDependency[WebhookEndpoints],
                       request: Request[Actor, Any, Any]) -> list[EndpointView]:
        return [EndpointView(**_endpoint(e)) for e in webhooks.all(request.user)]

    @get("/{endpoint_id:str}", guards=_GUARDS,
         operation_id="getWebhookEndpoint", sync_to_thread=True,
         summary="One webhook endpoint", description=_ROLES,
         responses=problem_responses(401, 403, 404))
    def get_endpoint(self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookEndpoints],
                     request: Request[Actor, Any, Any]) -> EndpointView:
        return EndpointView(**_endpoint(webhooks.get(request.user, endpoint_id)))

    @delete("/{endpoint_id:str}", guards=_GUARDS,
            operation_id="deleteWebhookEndpoint", status_code=204,
            sync_to_thread=True, summary="Delete a webhook endpoint",
            description="Stops its deliveries and forgets its log. " + _ROLES,
            responses=problem_responses(401, 403, 404))
    def delete_endpoint(self, endpoint_id: EndpointId,
                        webhooks: NamedDependency[WebhookEndpoints],
                        request: Request[Actor, Any, Any]) -> None:
        webhooks.delete(request.user, endpoint_id)

    @post("/{endpoint_id:str}/enable", guards=_GUARDS,
          operation_id="enableWebhookEndpoint", status_code=200,
          sync_to_thread=True, summary="Enable a disabled endpoint again",
          description="What accrued while it was disabled is delivered now, in order per "
          "dispute. " + _ROLES, responses=problem_responses(401, 403, 404, 503))
    def enable(self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookEndpoints],
               request: Request[Actor, Any, Any], idempotency_key: IdempotencyKey = None,
               ) -> EndpointView:
        return EndpointView(**_endpoint(webhooks.enable(request.user, endpoint_id)))

    @post("/{endpoint_id:str}/rotate-secret", guards=_GUARDS, operation_id="rotateWebhookSecret",
          status_code=200, sync_to_thread=True, summary="A new signing secret",
          description="The new secret signs from now; for 24 hours each request carries "
          "the old secret's signature too, so receivers can switch without losing one. "
          + _ROLES, responses=problem_responses(401, 403, 404, 503))
    def rotate(self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookEndpoints],
               request: Request[Actor, Any, Any], idempotency_key: IdempotencyKey = None,
               ) -> RotatedSecret:
        rotated = webhooks.rotate_secret(request.user, endpoint_id)
        until = webhooks.previous_secret_until(request.user, endpoint_id)
        assert until is not None
        return RotatedSecret(id=endpoint_id, secret=rotated.secret,
                             previous_valid_until=rfc3339(until))

    @get("/{endpoint_id:str}/deliveries", guards=_GUARDS, operation_id="listWebhookDeliveries",
         sync_to_thread=True, summary="The endpoint's delivery log",
         description="Its deliveries in event order, oldest first: status, attempts, the "
         "last answer and its latency, the next retry. `status=` keeps one status. Paged "
         "with `after=` the `next_cursor`. " + _ROLES,
         responses=problem_responses(400, 401, 403, 404))
    def deliveries(
        self, endpoint_id: EndpointId, webhooks: NamedDependency[WebhookEndpoints],
        request: Request[Actor, Any, Any],
        after: Annotated[str | None, QueryParameter(max_length=200,
                                                    pattern=r"^[A-Za-z0-9_-]*$")] = None,
        status: Annotated[DeliveryStatus | None, QueryParameter()] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> DeliveriesPage:
        position = decode_cursor(after)
        start = str(position) if isinstance(position, int) and position >= 0 else None
        rows = webhooks.deliveries(request.user, endpoint_id, start, limit + 1, status)
        more = len(rows) > limit
        rows = rows[:limit]
        return DeliveriesPage(
            data=[DeliveryView(**_delivery(d)) for d in rows],
            next_cursor=encode_cursor(rows[-1].event_id) if more and rows else None,
        )

    @get("/{endpoint_id:str}/deliveries/{delivery_id:str}", guards=_GUARDS,
         operation_id="getWebhookDelivery",
         sync_to_thread=True, summary="One delivery and its attempts", description=_ROLES,
         responses=problem_responses(401, 403, 404))
    def delivery(self, endpoint_id: EndpointId, delivery_id: DeliveryId,
                 webhooks: NamedDependency[WebhookEndpoints],
                 request: Request[Actor, Any, Any]) -> DeliveryDetail:
        found, attempts = webhooks.delivery(request.user, endpoint_id, delivery_id)
        return DeliveryDetail(**_delivery(found), attempt_log=[_attempt(a) for a in attempts])

    @post("/{endpoint_id:str}/deliveries/{delivery_id:str}/retry",
          operation_id="retryWebhookDelivery", status_code=202, sync_to_thread=True,
          summary="Send a delivery again now",
          description="Queues the delivery for an attempt now (a failed or delivered one too), "
          "with the same `webhook-id`; after the earlier pending deliveries of its dispute. "
          "It is retried for the whole retry horizon from now. " + _ROLES,
          responses=problem_responses(401, 403, 404, 503))
    def retry(self, endpoint_id: EndpointId, delivery_id: DeliveryId,
              webhooks: NamedDependency[WebhookEndpoints],
              request: Request[Actor, Any, Any], idempotency_key: IdempotencyKey = None,
              ) -> DeliveryView:
        return DeliveryView(**_delivery(webhooks.retry(request.user, endpoint_id, delivery_id)))
