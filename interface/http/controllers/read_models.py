"""Lists and figures served from the read models: disputes, the moderation queue,
seller scorecards, metrics.

Every answer carries the read model's ``position`` (the last event folded in),
in the body and in ``X-Read-Model-Position``. A command's response carries the
``position`` of the event it recorded; pass it as ``?min_position=`` to read
your own write: the server waits up to 5 s for the read model to get there,
else answers 503 (``read-model-behind``, with ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router
from litestar.concurrency import sync_to_thread
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter
from litestar.types import ExceptionHandlersMap
from msgspec import Meta, Struct

from application.disputes import DisputeDesk
from application.projections.errors import (
    ReadModelBehind,
    ReadModelUnavailable,
    StoreUnavailable,
)
from application.projections.queries import ReadModelQueries, check_after, check_claim_filter
from application.projections.records import CLAIM_FILTERS
from domain.dispute import INTERVENTION_REASONS, STATUSES, Actor
from domain.errors import InvalidInput
from infrastructure.settings import Settings
from infrastructure.stores import open_reader
from interface.http.errors import Problem, problem_response, problem_responses, problem_spec
from interface.http.guards import requires, roles_note
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor
from interface.http.routes import get
from interface.http.schemas import (  # NextDue: the case view's, the same shape
    Money,
    NextDue,
    one_of,
)

POSITION_HEADER = "X-Read-Model-Position"
RETRY_AFTER_SECONDS = 1

Rfc3339 = Annotated[str, Meta(description="RFC 3339 instant (UTC)")]


# ---- responses ------------------------------------------------------------------


Reason = Annotated[str, one_of(INTERVENTION_REASONS, "Why the buyer asked the platform to "
                                                    "step in")]


class InterventionSummary(Struct):
    reason: Reason
    requested_at: Rfc3339
    open: Annotated[bool, Meta(description="Awaiting a ruling")]


class DisputeSummary(Struct):
    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    region: str
    category: str
    amount: Money
    status: Annotated[str, one_of(STATUSES, "Where the case stands (the README's table)")]
    placed_at: Rfc3339
    ship_by: Rfc3339
    auto_cancel_at: Rfc3339
    shipped_at: Rfc3339 | None
    refund_status: str | None
    intervention: InterventionSummary | None
    next_due: NextDue | None
    updated_at: Rfc3339
    version: int
    policy_version: str
    position: Annotated[int, Meta(description="Notification id of the case's last event")]


class QueueEntry(DisputeSummary):
    reason: Reason
    requested_at: Rfc3339
    age_hours: Annotated[float, Meta(description="Hours since the intervention was requested")]
    claimed_by: Annotated[
        str | None,
        Meta(description="The moderator whose claim on the case is live now; null when "
             "nobody's is (never claimed, released, or expired)"),
    ]
    claim_expires_at: Annotated[
        Rfc3339 | None, Meta(description="When that claim lapses; null with `claimed_by`")
    ]


class DisputePage(Struct):
    data: list[DisputeSummary]
    next_cursor: str | None
    position: int


class QueueCounts(Struct):
    """The queue under the request's filters but `claim` (and whatever the page)."""

    total: Annotated[int, Meta(description="Cases in the queue")]
    unclaimed: Annotated[int, Meta(description="Of them, those without a live claim")]
    mine: Annotated[int, Meta(description="Of them, those the caller's live claim holds")]
    by_reason: Annotated[
        dict[str, int], Meta(description="Cases per intervention reason (only reasons with one)")
    ]


class QueuePage(Struct):
    data: list[QueueEntry]
    next_cursor: str | None
    position: int
    counts: QueueCounts


class Scorecard(Struct):
    seller_id: str
    orders: int
    shipped: int
    late_dispatch_rate: Annotated[
        float | None,
        Meta(description="Orders that got DeadlineMissed / orders that shipped, got "
             "DeadlineMissed or whose ship_by has passed (null when none); a miss withdrawn "
             "because the feed reported an in-time shipment late does not count"),
    ]
    auto_cancel_rate: Annotated[float | None, Meta(description="Auto-cancelled / orders")]
    disputes: Annotated[
        int,
        Meta(description="Orders on which the buyer contacted the seller, asked for a refund "
             "or asked the platform to step in"),
    ]
    interventions: int
    interventions_lost: Annotated[
        int,
        Meta(description="Rulings refund_full, refund_partial or seller_must_ship (the "
             "outcome that stands after any appeal)"),
    ]
    appeals_won: Annotated[
        int, Meta(description="The seller's appeals decided in its favour")
    ]
    appeals_lost: Annotated[
        int, Meta(description="The seller's appeals upheld, or overturned against it")
    ]
    refund_rate: Annotated[
        float | None, Meta(description="Orders with money refunded (auto-cancels too) / orders")
    ]
    average_rating: Annotated[
        float | None,
        Meta(description="Mean rating of the reviews buyers see (a review a moderator hid "
             "counts nowhere); null without one"),
    ]
    reviews: Annotated[int, Meta(description="Reviews buyers see")]
    median_response_hours: Annotated[
        float | None, Meta(description="Median time from a buyer's contact to the response")
    ]
    responses: int
    position: int


class TimeToResolution(Struct):
    resolved: int
    median: float | None
    p90: float | None


class Metrics(Struct):
    disputes: int
    counts_by_status: dict[str, int]
    time_to_resolution_hours: Annotated[
        TimeToResolution,
        Meta(description="Order placed -> first closed, refunded or cancelled"),
    ]
    position: int


# ---- parameters -------------------------------------------------------------------

MinPosition = Annotated[
    int | None,
    QueryParameter(
        name="min_position", required=False, ge=0,
        description="Wait (up to 5 s) until the read model has folded in this position "
        "(a command's `position`); 503 if it has not.",
    ),
]


#: Ids and codes are printable text (the domain refuses anything else), so a value
#: with a control character can name nothing: it is a malformed parameter.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

StatusFilter = Annotated[
    str | None,
    QueryParameter(name="status", required=False, pattern=PRINTABLE, max_length=40,
                   description="Only cases in this status.",
                   schema_extra={"enum": list(STATUSES)}),
]
RegionFilter = Annotated[
    str | None,
    QueryParameter(name="region", required=False, pattern=PRINTABLE, max_length=200,
                   description="Only orders of this region, e.g. US."),
]
SellerFilter = Annotated[
    str | None,
    QueryParameter(name="seller_id", required=False, pattern=PRINTABLE, max_length=200,
                   description="Only this seller's orders."),
]
BuyerFilter = Annotated[
    str | None,
    QueryParameter(name="buyer_id", required=False, pattern=PRINTABLE, max_length=200,
                   description="Only this buyer's orders."),
]
OrderFilter = Annotated[
    str | None,
    QueryParameter(name="order_id", required=False, pattern=PRINTABLE, max_length=200,
                   description="Only this order."),
]
ReasonFilter = Annotated[
    str | None,
    QueryParameter(name="reason", required=False, pattern=PRINTABLE, max_length=40,
                   description="Only interventions with this reason.",
                   schema_extra={"enum": list(INTERVENTION_REASONS)}),
]
ClaimFilter = Annotated[
    str | None,
    QueryParameter(name="claim", required=False, pattern=PRINTABLE, max_length=40,
                   description="Only cases claimed by the caller (`mine`), by nobody now "
                   "(`unclaimed`: never claimed, released or expired) or by another moderator "
                   "(`others`), as of now; anything else is 400. `counts` ignore it.",
                   schema_extra={"enum": list(CLAIM_FILTERS)}),
]
MinAgeHours = Annotated[
    float | None,
    QueryParameter(name="min_age_hours", required=False, ge=0, le=87_840,
                   description="Only requests waiting at least this many hours."),
]

POSITION = ResponseHeader(
    name=POSITION_HEADER, description="The read model's position (last event folded in)",
    documentation_only=True,
)
READ_ERRORS = {
    **problem_responses(400, 401, 403, 422),
    503: problem_spec(
        503,
        "The read model is behind `min_position` after 5 s, not built yet, or "
        "its store is unreachable; retry after `Retry-After` seconds.",
    ),
}


def _after(cursor: str | None) -> object:
    try:
        return check_after(decode_cursor(cursor))
    except InvalidInput:
        raise ValidationException(
            "cursor is not one this list returned",
            extra=[{"key": "cursor", "message": "not a cursor for this list"}],
        ) from None


def _claim(claim: str | None) -> str | None:
    try:
        return check_claim_filter(claim)
    except InvalidInput as error:
        raise ValidationException(
            error.detail, extra=[{"key": "claim", "message": error.detail}]
        ) from None


def _next_cursor(page: dict[str, Any]) -> str | None:
    after = page["next_after"]
    return None if after is None else encode_cursor(after)


def _respond(body: Any, position: int) -> Response[Any]:
    return Response(
        body,
        headers={POSITION_HEADER: str(position), "Cache-Control": "private, no-cache",
                 "Vary": "Authorization"},
    )


def _unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    code = "read-model-behind" if isinstance(error, ReadModelBehind) else "unavailable"
    detail = getattr(error, "detail", None) or "the read models are unavailable; retry shortly"
    return problem_response(
        request, 503, detail, code=code, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


#: A read model that cannot answer (yet): 503 with ``Retry-After``.
UNAVAILABLE_HANDLERS: ExceptionHandlersMap = {
    ReadModelBehind: _unavailable,
    ReadModelUnavailable: _unavailable,
    StoreUnavailable: _unavailable,
}


class ReadModelsController(Controller):
    path = "/v1"
    exception_handlers = UNAVAILABLE_HANDLERS

    @get(
        "/disputes",
        operation_id="listDisputes",
        tags=["disputes"],
        guards=[requires("list_disputes")],
        sync_to_thread=True,
        summary="List disputes",
        description="Newest first, paged with `limit` and `cursor`. Buyers and sellers see "
        "only their own cases (a filter naming someone else's id gives an empty list); "
        "moderators see all. " + roles_note("list_disputes"),
        response_headers=[POSITION],
        responses=READ_ERRORS,
    )
    def disputes(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        status: StatusFilter = None,
        region: RegionFilter = None,
        seller_id: SellerFilter = None,
        buyer_id: BuyerFilter = None,
        order_id: OrderFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Response[DisputePage]:
        page = read_models.disputes(
            actor, status=status, region=region, seller_id=seller_id, buyer_id=buyer_id,
            order_id=order_id, limit=limit, after=_after(cursor), min_position=min_position,
        )
        body = DisputePage(
            data=msgspec.convert(page["data"], list[DisputeSummary]),
            next_cursor=_next_cursor(page),
            position=page["position"],
        )
        return _respond(body, page["position"])

    @get(
        "/moderation/queue",
        operation_id="getModerationQueue",
        tags=["moderation"],
        guards=[requires("moderation_queue")],
        sync_to_thread=True,
        summary="Cases awaiting a ruling",
        description="Open intervention requests (and appeals awaiting a decision), oldest "
        "first, paged with `limit` and `cursor`. Each names the moderator whose claim on it "
        "is live now (`claimed_by`, until `claim_expires_at`; null when nobody's is); `claim` "
        f"keeps {', '.join(f'`{c}`' for c in CLAIM_FILTERS)} cases only. `counts` give the "
        "queue under the other filters (`total`, `unclaimed`, the caller's `mine` and "
        "`by_reason`), for any page. " + roles_note("moderation_queue"),
        response_headers=[POSITION],
        responses=READ_ERRORS,
    )
    def moderation_queue(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        region: RegionFilter = None,
        seller_id: SellerFilter = None,
        reason: ReasonFilter = None,
        claim: ClaimFilter = None,
        min_age_hours: MinAgeHours = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        min_position: MinPosition = None,
    ) -> Response[QueuePage]:
        page = read_models.moderation_queue(
            actor, region=region, seller_id=seller_id, reason=reason, claim=_claim(claim),
            min_age_hours=min_age_hours, limit=limit, after=_after(cursor),
            min_position=min_position,
        )
        body = QueuePage(
            data=msgspec.convert(page["data"], list[QueueEntry]),
            next_cursor=_next_cursor(page),
            position=page["position"],
            counts=msgspec.convert(page["counts"], QueueCounts),
        )
        return _respond(body, page["position"])

    @get(
        "/sellers/{seller_id:str}/scorecard",
        operation_id="getScorecard",
        tags=["sellers"],
        guards=[requires("scorecard")],
        sync_to_thread=True,
        summary="A seller's reputation figures",
        description="Figures come from a read model, so they may trail a write by a moment. "
        "Rates are null when there is nothing to divide by. A review a moderator hid counts "
        "in neither `average_rating` nor `reviews`. A seller that no order names is 404 "
        "(with `?min_position=`: once the read model got there). Roles: any authenticated.",
        response_headers=[POSITION],
        responses={**READ_ERRORS, **problem_responses(404)},
    )
    def scorecard(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        seller_id: Annotated[str, PathParameter(pattern=PRINTABLE, max_length=200)],
        min_position: MinPosition = None,
    ) -> Response[Scorecard]:
        card = read_models.scorecard(actor, seller_id, min_position=min_position)
        return _respond(msgspec.convert(card, Scorecard), card["position"])

    @get(
        "/metrics",
        operation_id="getMetrics",
        tags=["moderation"],
        guards=[requires("metrics")],
        sync_to_thread=True,
        summary="Marketplace metrics",
        description="Cases per status, and the time from order to resolution (median and "
        "90th percentile, in hours). " + roles_note("metrics"),
        response_headers=[POSITION],
        responses=READ_ERRORS,
    )
    def metrics(
        self,
        read_models: NamedDependency[ReadModelQueries],
        actor: NamedDependency[Actor],
        min_position: MinPosition = None,
    ) -> Response[Metrics]:
        figures = read_models.metrics(actor, min_position=min_position)
        return _respond(msgspec.convert(figures, Metrics), figures["position"])


class ReadModelRoutes:
    """The read-model routes of one app.

    On first use they open the read-model store. ``follow_log``: called then too,
    for an app whose composition does not start the projections itself (see
    ``create_app``), so that the views served always move. In ``create_app``:
    ``routes = ReadModelRoutes(settings, application)``, add ``routes.router``
    to the route handlers and ``routes.close`` to ``on_shutdown``.
    """

    def __init__(
        self, settings: Settings, application: DisputeDesk, *,
        queries: ReadModelQueries | None = None,
        follow_log: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._application = application
        self._queries = queries
        self._owned = queries is None
        self._follow_log = follow_log
        self._lock = Lock()

        async def provide() -> ReadModelQueries:  # a function: Litestar deep-copies them
            return await self.provided()

        self.router = Router(
            path="/",
            route_handlers=[ReadModelsController],
            dependencies={"read_models": Provide(provide)},
        )

    async def provided(self) -> ReadModelQueries:
        """The queries, for a handler: on the loop once the store is open (a thread hop
        would wait its turn in the busy handler pool); the first use opens it in a thread."""
        queries = self._queries  # set under the lock; reading it needs none
        return queries if queries is not None else await sync_to_thread(self.queries)

    def queries(self) -> ReadModelQueries:
        with self._lock:
            if self._queries is None:
                app = self._application
                # The reader sets the store up first, so the worker never races it.
                self._queries = ReadModelQueries(
                    open_reader(self._settings.database),
                    app.clock,
                    head=lambda: app.recorder.max_notification_id() or 0,
                )
                if self._follow_log is not None:
                    self._follow_log()
            return self._queries

    def close(self) -> None:
        with self._lock:
            if self._queries is not None and self._owned:
                self._queries.reader.close()
                self._queries = None
