"""POST /v1/deadlines/sweep: record the derived events that are due."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta, Struct

from application.sweeper import Sweeper
from domain.dispute import Actor
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey
from interface.http.routes import post
from interface.http.schemas import HistoryEntry, Instant


class SweepRequest(Struct, forbid_unknown_fields=True):
    """Optional: ``now`` sweeps as of an earlier instant."""

    now: Instant | None = None


class SweptEvent(HistoryEntry):
    dispute_id: str = ""


class SweepReport(Struct):
    now: datetime
    examined: Annotated[int, Meta(description="Disputes the due index named")]
    recorded: Annotated[list[SweptEvent], Meta(description="The derived events recorded")]


class DeadlinesController(Controller):
    path = "/v1/deadlines"
    tags = ["deadlines"]

    @post(
        "/sweep",
        operation_id="sweep",
        guards=[requires("sweep")],
        status_code=200,
        sync_to_thread=True,
        summary="Record the derived events that are due",
        description="Finds the disputes whose next deadline has passed (from the due index "
        "kept by the disputes read model) and records DeadlineMissed, SellerResponseOverdue, "
        "RefundAutoApproved and OrderAutoCancelled, each dated at its own deadline. `now` may "
        "name an earlier instant, never a later one (422). Running it twice records nothing "
        "new; several sweepers at once never record a duplicate. " + roles_note("sweep"),
        responses=problem_responses(400, 401, 403, 415, 422, 503),
    )
    def sweep(
        self,
        sweeper: NamedDependency[Sweeper],
        request: Request[Actor, Any, Any],
        data: JSONBody[SweepRequest | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> SweepReport:
        now = data.now if data is not None else None
        result = sweeper.sweep(now)
        return msgspec.convert(result.to_dict(), SweepReport)
