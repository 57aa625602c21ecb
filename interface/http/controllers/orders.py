"""Orders, addressed by the marketplace's order id: placed, shipped, delivered."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from application.disputes import DisputeDesk
from domain.dispute import Actor, dispute_id_for
from infrastructure.recorded_disputes import order_feed
from interface.http.conditional import ETAG_HEADER, IfMatch, expected_version
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.order_batch_schemas import OrderBatchView, PlaceOrders, batch_view, read_order
from interface.http.responses import case_response, to_money
from interface.http.routes import post
from interface.http.schemas import CaseView, Deliver, PlaceOrder, Ship

COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 415, 422, 503)


class OrdersController(Controller):
    path = "/v1/orders"
    tags = ["orders"]

    @post(
        "/",
        operation_id="placeOrder",
        guards=[requires("place_order")],
        status_code=201,
        sync_to_thread=True,
        summary="Record a placed order (opens its case)",
        description="Records OrderPlaced; the case's deadlines follow the policy in force at "
        "`placed_at`. 201 with the case (its `id` is the dispute id) and a `Location`; the "
        "same order again is 200 with the same case, recording nothing; the same `order_id` "
        "with other details (buyer, seller, region, category, amount or `placed_at`) is 409. "
        "`placed_at` more than 5 minutes in the future, or without a UTC offset, is 422. Ids "
        "must be printable text (no control characters), or 422. "
        + roles_note("place_order"),
        response_headers=[
            ETAG_HEADER,
            ResponseHeader(name="Location", description="The case's URL", documentation_only=True),
        ],
        responses={
            200: ResponseSpec(CaseView, description="The order was already recorded: its case",
                              generate_examples=False),
            **problem_responses(400, 401, 403, 409, 415, 422, 503),
        },
    )
    def place_order(
        self,
        data: JSONBody[PlaceOrder],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view, created = desk.place_order(
            order_id=data.order_id,
            buyer_id=data.buyer_id,
            seller_id=data.seller_id,
            region=data.region,
            category=data.category,
            amount=to_money(data.amount, "amount"),
            placed_at=data.placed_at,
            actor=request.user,
            request=request_stamp_of(request),
            seller_name=data.seller_name,
        )
        location = f"/v1/disputes/{view['id']}"
        return case_response(
            request, view, status=201 if created else 200, headers={"Location": location}
        )

    @post(
        "/batch",
        operation_id="placeOrders",
        guards=[requires("place_order")],
        status_code=200,
        sync_to_thread=True,
        summary="Record up to 1,000 placed orders at once (a bulk feed)",
        description="Each order (as `POST /v1/orders` takes it) is judged alone and its "
        "outcome listed in the order of the request: `created` (its case opened), "
        "`unchanged` (the same order was already recorded; nothing recorded), `conflict` (the "
        "`order_id` is recorded with other details: `fields` names them) or `invalid` (the "
        "reason, field by field, as the single route's 400 or 422 gives it). One order never "
        "fails another; the new orders are saved together. 200 whatever the outcomes; a "
        "malformed envelope, no orders or more than 1,000 is 400. A retry with the same "
        "`Idempotency-Key` returns the first answer; without one, the same batch again "
        "answers `unchanged` for each order it created. " + roles_note("place_order"),
        responses=problem_responses(400, 401, 403, 413, 415, 503),
    )
    def place_orders(
        self,
        data: JSONBody[PlaceOrders],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> OrderBatchView:
        orders = [read_order(item) for item in data.orders]
        results = order_feed(desk).place(orders, request.user, request_stamp_of(request))
        return batch_view(results)

    @post(
        "/{order_id:str}/shipments",
        operation_id="ship",
        guards=[requires("ship")],
        status_code=200,
        sync_to_thread=True,
        summary="Record that the order shipped",
        description="Records OrderShipped. A seller may ship only their own orders (another's "
        "is 404). Report promptly with the true `shipped_at` (the carrier's scan). A report "
        "after `ship_by` also records DeadlineMissed (if no sweep did); when `shipped_at` is on "
        "or before `ship_by`, DeadlineMissWithdrawn follows: the feed was late, not the seller. "
        "A second shipment, or one for a cancelled order, is 409. " + roles_note("ship"),
        response_headers=[ETAG_HEADER],
        responses=COMMAND_ERRORS,
    )
    def ship(
        self,
        order_id: FromPath[str],
        data: JSONBody[Ship],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.ship(
            dispute_id_for(order_id.strip()),
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            shipped_at=data.shipped_at,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{order_id:str}/deliveries",
        operation_id="deliver",
        guards=[requires("deliver")],
        status_code=200,
        sync_to_thread=True,
        summary="Record that the order was delivered",
        description="Records OrderDelivered; the order must have shipped (else 409). "
        + roles_note("deliver"),
        response_headers=[ETAG_HEADER],
        responses=COMMAND_ERRORS,
    )
    def deliver(
        self,
        order_id: FromPath[str],
        data: JSONBody[Deliver],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.deliver(
            dispute_id_for(order_id.strip()),
            delivered_at=data.delivered_at,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)
