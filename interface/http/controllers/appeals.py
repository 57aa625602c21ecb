"""Appeals of a ruling and their decisions, and the reason codes rulings name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.disputes import DisputeDesk
from domain.dispute import Actor
from interface.http.conditional import IfMatch, expected_version
from interface.http.controllers.disputes import _command_doc
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.responses import case_response, optional_money
from interface.http.routes import get, post
from interface.http.schemas import (
    CaseView,
    DecideAppeal,
    FileAppeal,
    ReasonCodes,
)


class AppealsController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]

    @post(
        "/{dispute_id:uuid}/appeals",
        operation_id="appeal",
        summary="Appeal the ruling",
        **_command_doc(
            "appeal",
            "Records AppealFiled: the buyer or the seller of the case appeals the ruling, "
            "within its window (`appeal_window_days_buyer` / `_seller` calendar days after the "
            "ruling, from the policy the order follows), once each; an overturned ruling "
            "cannot be appealed again (409). The case is `under_appeal` and in the moderation "
            "queue until a moderator decides.",
        ),
    )
    def appeal(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[FileAppeal],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.appeal(
            dispute_id,
            statement=data.statement,
            evidence_ids=data.evidence_ids,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/appeal-decisions",
        operation_id="decideAppeal",
        summary="Uphold or overturn the appealed ruling",
        **_command_doc(
            "decide_appeal",
            "Records AppealDecided for every pending appeal; a moderator other than the one "
            "who ruled (else 403). `uphold` keeps the ruling; `overturn` names the `outcome` "
            "that replaces it (`refund_full`, `refund_partial` with `refund_amount`: the "
            "buyer's refund in all, or `claim_rejected`) and is final. `reason_code` must "
            "justify the outcome that stands. Money follows it: approved money no longer "
            "granted and unpaid is cancelled (RefundCancelled), more refund falls due to the "
            "buyer, and a refund the buyer already received beyond it falls due to the seller "
            "(`payee: seller`; the buyer is never charged back).",
        ),
    )
    def decide_appeal(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[DecideAppeal],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.decide_appeal(
            dispute_id,
            decision=data.decision,
            outcome=data.outcome,
            reason_code=data.reason_code,
            refund_amount=optional_money(data.refund_amount, "refund_amount"),
            note=data.note,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)


class ReasonCodesController(Controller):
    path = "/v1/reason-codes"
    tags = ["policies"]

    @get(
        "/",
        operation_id="listReasonCodes",
        guards=[requires("reason_codes")],
        sync_to_thread=True,
        summary="The reason codes rulings name",
        description="The catalogue of the policy in force: each code with the text the "
        "parties are shown and the outcomes it may justify. " + roles_note("reason_codes"),
        responses=problem_responses(401, 403),
    )
    def reason_codes(
        self, desk: NamedDependency[DisputeDesk], request: Request[Actor, Any, Any]
    ) -> ReasonCodes:
        return msgspec.convert(desk.reason_codes(request.user), ReasonCodes)
