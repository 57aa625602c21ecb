"""Choosing a seller before buying: the seller search and a seller's page (from the
read models), and a moderator hiding a review from buyers (a command on the case).

In ``create_app``: ``seller_routes(read_models)`` beside ``read_models.router``
(the same read models, so the same ``position`` and ``?min_position=``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, Router
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from application.disputes import DisputeDesk
from application.projections.queries import ReadModelQueries
from application.projections.seller_queries import RECENT_REVIEWS
from domain.dispute import Actor
from domain.errors import InvalidInput
from interface.http.conditional import IfMatch, expected_version
from interface.http.controllers.disputes import _command_doc
from interface.http.controllers.read_models import (
    POSITION,
    POSITION_HEADER,
    PRINTABLE,
    READ_ERRORS,
    UNAVAILABLE_HANDLERS,
    MinPosition,
    ReadModelRoutes,
    RegionFilter,
)
from interface.http.errors import problem_responses
from interface.http.guards import requires
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor
from interface.http.responses import case_response
from interface.http.routes import get, post
from interface.http.schemas import CaseView
from interface.http.seller_schemas import (
    SellerDetail,
    SellerPage,
    SellerSummary,
    SetReviewVisibility,
)

SearchText = Annotated[
    str | None,
    QueryParameter(
        name="q", required=False, pattern=PRINTABLE, max_length=200,
        description="A seller id (exactly), or the start of a seller's name (ignoring case).",
    ),
]
CategoryFilter = Annotated[
    str | None,
    QueryParameter(
        name="category", required=False, pattern=PRINTABLE, max_length=200,
        description="Only sellers that sold in this category (with `region`: in that "
        "region), e.g. electronics.",
    ),
]
SortOrder = Annotated[
    str | None,
    QueryParameter(
        name="sort", required=False, pattern=PRINTABLE, max_length=40,
        description="`rating` (the default: best average first, then more reviews; sellers "
        "without reviews last), `late_dispatch_rate` (lowest first, then more orders; sellers "
        "with nothing to rate last) or `orders` (most first). The seller id breaks ties. "
        "Anything else is 422.",
    ),
]
SellerId = Annotated[str, PathParameter(pattern=PRINTABLE, max_length=200)]

SEARCH = (
    "Sellers with a compact scorecard each, where and what they sold, paged with `limit` "
    "and `cursor` (a cursor belongs to its `sort`; another sort's is 400). `q` matches a "
    "seller id or the start of a seller's name, ignoring case; `region` and `category` keep "
    "the sellers that sold there. Ratings count the reviews buyers see: a review a moderator "
    "hid counts in no figure. Pages after the first rank and count as of the first page's "
    "instant. Roles: any authenticated."
)
PAGE = (
    "The seller's scorecard plus its name (the one on its latest order that named one), "
    "the regions and categories it sold in, `rating_distribution` (reviews buyers see, by "
    f"rating), `recent_reviews` (the {RECENT_REVIEWS} newest: `rating, comment, "
    "reviewed_at`; hidden ones are left out, but for moderators, who get every review with "
    "its case, `hidden` and `hidden_reason`, and `hidden_reviews`) and `return_costs` (the "
    "return labels it paid, per currency). A seller that no order names is 404 (with "
    "`?min_position=`: once the read model got there). Roles: any authenticated."
)


def _respond(body: Any, position: int) -> Response[Any]:
    return Response(
        body,
        headers={POSITION_HEADER: str(position), "Cache-Control": "private, no-cache",
                 "Vary": "Authorization"},
    )


class SellersController(Controller):
    path = "/v1/sellers"
    tags = ["sellers"]
    exception_handlers = UNAVAILABLE_HANDLERS

    @get(
        "/",
        operation_id="searchSellers",
        guards=[requires("sellers")],
        sync_to_thread=True,
        summary="Search the sellers",
        description=SEARCH,
        response_headers=[POSITION],
        responses=READ_ERRORS,
    )
    def search(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        q: SearchText = None,
        region: RegionFilter = None,
        category: CategoryFilter = None,
        sort: SortOrder = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Response[SellerPage]:
        try:
            page = read_models.sellers(
                actor, q=q, region=region, category=category, sort=sort, limit=limit,
                after=decode_cursor(cursor), min_position=min_position,
            )
        except InvalidInput as error:
            if error.field != "cursor":
                raise
            raise ValidationException(
                error.detail, extra=[{"key": "cursor", "message": "not a cursor for this list"}]
            ) from None
        after = page["next_after"]
        body = SellerPage(
            data=msgspec.convert(page["data"], list[SellerSummary]),
            next_cursor=None if after is None else encode_cursor(after),
            position=page["position"],
        )
        return _respond(body, page["position"])

    @get(
        "/{seller_id:str}",
        operation_id="getSeller",
        guards=[requires("sellers")],
        sync_to_thread=True,
        summary="A seller's page",
        description=PAGE,
        response_headers=[POSITION],
        responses={**READ_ERRORS, **problem_responses(404)},
    )
    def seller(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        seller_id: SellerId,
        min_position: MinPosition = None,
    ) -> Response[SellerDetail]:
        page = read_models.seller(actor, seller_id, min_position=min_position)
        return _respond(msgspec.convert(page, SellerDetail), page["position"])


class ReviewVisibilityController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]

    @post(
        "/{dispute_id:uuid}/review-visibility",
        operation_id="setReviewVisibility",
        summary="Hide the buyer's review from buyers, or show it again",
        **_command_doc(
            "set_review_visibility",
            "Records ReviewVisibilityChanged. `hidden: true` takes the buyer's review off the "
            "seller search and the seller's page for everyone but moderators, and out of the "
            "seller's figures (average, review count, distribution); `hidden: false` shows it "
            "again. `reason` (required) says why; the case keeps the review and shows "
            "`hidden` and `hidden_reason`. No review yet, or a review already as asked, "
            "is 409.",
        ),
    )
    def set_review_visibility(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[SetReviewVisibility],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.set_review_visibility(
            dispute_id,
            hidden=data.hidden,
            reason=data.reason,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)


def seller_routes(read_models: ReadModelRoutes) -> Router:
    """The seller routes, reading the app's read models (``read_models``)."""

    async def provide() -> ReadModelQueries:  # a function: Litestar deep-copies them
        return await read_models.provided()

    return Router(
        path="/",
        route_handlers=[SellersController, ReviewVisibilityController],
        dependencies={"read_models": Provide(provide)},
    )

