"""A dispute: its case view, its audit history, and the commands on it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, Router
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from application.disputes import DisputeDesk
from domain.dispute import Actor
from interface.http.conditional import (
    ETAG_HEADER,
    IfMatch,
    ReadsIfNoneMatch,
    etag,
    expected_version,
    if_none_match,
    matches_none,
)
from interface.http.encoded_cases import EncodedCases
from interface.http.errors import problem_responses
from interface.http.guards import all_of, requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, page_after
from interface.http.responses import (
    CASE_HEADERS,
    case_response,
    not_modified,
    optional_money,
    parse_as_of,
    to_money,
)
from interface.http.routes import get, post
from interface.http.schemas import (
    AddEvidence,
    AddNote,
    CaseView,
    Close,
    ContactSeller,
    DecideRefund,
    History,
    IssueRefund,
    RequestIntervention,
    RequestRefund,
    Respond,
    Review,
    Rule,
    ShipReturn,
    history_entries,
)

COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 415, 422, 503)
NOT_MODIFIED = {304: ResponseSpec(None, description="The client's copy (If-None-Match) is current")}

AS_OF_PATTERN = (
    r"^([0-9]{1,9}|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+ -][0-9]{2}:[0-9]{2})?)$"
)
AsOfParam = Annotated[
    str | None,
    QueryParameter(
        name="as_of",
        required=False,
        max_length=64,
        pattern=AS_OF_PATTERN,
        description="Moderators only: the case as it was at a version (an integer) or at an "
        "RFC 3339 instant (what had been recorded by then).",
    ),
]


def _asks_as_of(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # Most reads send no query at all: then there is nothing to parse.
    return bool(connection.scope.get("query_string")) and "as_of" in connection.query_params


def _read_case(desk: DisputeDesk, dispute_id: UUID, actor: Actor, as_of: str | None
               ) -> dict[str, Any]:
    if as_of is None:
        return desk.case(dispute_id, actor)
    point = parse_as_of(as_of)
    if isinstance(point, int):
        return desk.as_of(dispute_id, actor, version=point)
    return desk.as_of(dispute_id, actor, at=point)


def _command_doc(command: str, what: str) -> dict[str, Any]:
    return {
        "guards": [requires(command)],
        "status_code": 200,
        "sync_to_thread": True,
        "description": f"{what} Send `If-Match` with the case's ETag to refuse the command "
        f"if the case changed meanwhile (412). Returns the case. {roles_note(command)}",
        "response_headers": [ETAG_HEADER],
        "responses": COMMAND_ERRORS,
    }


class DisputesController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]

    def __init__(self, owner: Router) -> None:
        super().__init__(owner)
        self.bodies = EncodedCases()

    @get(
        "/{dispute_id:uuid}",
        operation_id="getDispute",
        guards=[all_of(requires("view"), requires("as_of", when=_asks_as_of))],
        summary="The case view",
        description="Status, deadlines, shipment, refund, review, evidence, the timeline and "
        "`next_actions` (what the caller may do now). Buyers and sellers see only their own "
        "cases (another's is 404, exactly like a missing one) and never see internal notes. "
        "`?as_of=` (moderators) gives the case as it was at a version or instant. "
        "Send `If-None-Match` with the ETag to get 304 when nothing changed. "
        + roles_note("view"),
        response_headers=[ETAG_HEADER],
        operation_class=ReadsIfNoneMatch,
        responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 422)},
    )
    async def case(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        as_of: AsOfParam = None,
    ) -> Response[CaseView]:
        # Async on purpose: a case known current in memory is answered on the loop,
        # without I/O; anything that needs the store runs in a worker thread.
        view = desk.case_in_memory(dispute_id, request.user) if as_of is None else None
        if view is None:
            view = await sync_to_thread(_read_case, desk, dispute_id, request.user, as_of)
        if matches_none(if_none_match(request.scope), view["version"]):
            return not_modified(view["version"])
        if as_of is not None:
            return case_response(request, view)
        request.scope.setdefault("state", {})["dispute_id"] = view["id"]
        return self.bodies.response(view, request.user.role)

    @get(
        "/{dispute_id:uuid}/history",
        operation_id="getHistory",
        guards=[requires("history")],
        sync_to_thread=True,
        summary="The audit history: every event of the case",
        description="Every event in order with `sequence, type, occurred_at, recorded_at, "
        "actor_role, actor_id, policy_version, data` (internal notes included), paged with "
        "`limit` and `cursor`. " + roles_note("history"),
        response_headers=[ETAG_HEADER],
        operation_class=ReadsIfNoneMatch,
        responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404)},
    )
    def history(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[History]:
        rows = desk.history(dispute_id, request.user)
        version = int(rows[-1]["sequence"]) if rows else 0
        request.scope.setdefault("state", {})["dispute_id"] = str(dispute_id)
        if matches_none(if_none_match(request.scope), version):
            return not_modified(version)
        page = page_after(rows, limit, cursor, position=lambda row: row["sequence"])
        body = History(
            dispute_id=str(dispute_id),
            version=version,
            data=history_entries(page.items),
            next_cursor=page.next_cursor,
        )
        return Response(body, headers={"ETag": etag(version), **CASE_HEADERS})

    @post(
        "/{dispute_id:uuid}/seller-contacts",
        operation_id="contactSeller",
        summary="The buyer contacted the seller",
        **_command_doc("contact_seller", "Records SellerContacted; the seller's response "
                       "window opens."),
    )
    def contact_seller(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[ContactSeller],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.contact_seller(
            dispute_id,
            message=data.message,
            channel=data.channel,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/seller-responses",
        operation_id="respond",
        summary="The seller responded to the buyer",
        **_command_doc("respond", "Records SellerResponded, optionally with a promised ship "
                       "date (YYYY-MM-DD)."),
    )
    def respond(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[Respond],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.respond(
            dispute_id,
            message=data.message,
            promised_ship_date=data.promised_ship_date,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/evidence",
        operation_id="addEvidence",
        summary="Add evidence to the case",
        **_command_doc("add_evidence", "Records EvidenceAdded; its id appears in `evidence` "
                       "and can be cited by an intervention request."),
    )
    def add_evidence(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[AddEvidence],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.add_evidence(
            dispute_id,
            kind=data.kind,
            description=data.description,
            reference=data.reference,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/interventions",
        operation_id="requestIntervention",
        summary="Ask the platform to step in",
        **_command_doc("request_intervention", "Records InterventionRequested. Allowed after "
                       "the shipping deadline was missed and the seller responded or the "
                       "response window passed, or after a refund was denied; otherwise 409."),
    )
    def request_intervention(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[RequestIntervention],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.request_intervention(
            dispute_id,
            reason=data.reason,
            statement=data.statement,
            evidence_ids=data.evidence_ids,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/rulings",
        operation_id="rule",
        summary="Rule on an open intervention",
        **_command_doc("rule", "Records InterventionResolved. `refund_partial` needs "
                       "`refund_amount`; `seller_must_ship` needs `new_ship_by`."),
    )
    def rule(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[Rule],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.rule(
            dispute_id,
            outcome=data.outcome,
            reason_code=data.reason_code,
            refund_amount=optional_money(data.refund_amount, "refund_amount"),
            new_ship_by=data.new_ship_by,
            note=data.note,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/refund-requests",
        operation_id="requestRefund",
        summary="Ask the seller for a refund",
        **_command_doc("request_refund", "Records RefundRequested for `amount`, or the full "
                       "remaining amount when omitted. The seller's answer window opens."),
    )
    def request_refund(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[RequestRefund],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.request_refund(
            dispute_id,
            reason=data.reason,
            amount=optional_money(data.amount, "amount"),
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/refund-decisions",
        operation_id="decideRefund",
        summary="Approve or deny the refund request",
        **_command_doc("decide_refund", "Records RefundApproved or RefundDenied (a denial "
                       "needs a `reason`)."),
    )
    def decide_refund(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[DecideRefund],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.decide_refund(
            dispute_id,
            approve=data.approve,
            reason=data.reason,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/refunds",
        operation_id="issueRefund",
        summary="Record that the refund was paid",
        **_command_doc("issue_refund", "Records RefundIssued for a refund due (`refund.dues`): "
                       "`due_id`, or the oldest open due when it is omitted. `amount` must be "
                       "what the due still owes (more is 409); a due paid already is 409. "
                       "A case approved before dues were recorded pays its approved amount, "
                       "once goods that must come back were received."),
    )
    def issue_refund(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[IssueRefund],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.issue_refund(
            dispute_id,
            amount=to_money(data.amount, "amount"),
            due_id=data.due_id,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/returns",
        operation_id="returnGoods",
        summary="The buyer sent the goods back",
        **_command_doc("return_goods", "Records ReturnShipped, for delivered goods whose "
                       "approved refund requires a return."),
    )
    def return_goods(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[ShipReturn],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.return_goods(
            dispute_id,
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/return-receipts",
        operation_id="confirmReturnReceipt",
        summary="The seller received the returned goods",
        **_command_doc("confirm_return_receipt", "Records ReturnReceived. No body."),
    )
    def confirm_return_receipt(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.confirm_return_receipt(
            dispute_id,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/reviews",
        operation_id="review",
        summary="The buyer reviews the seller",
        **_command_doc("review", "Records Reviewed: `rating` 1 to 5 and a `comment`; once per "
                       "order, within the review window."),
    )
    def review(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[Review],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.review(
            dispute_id,
            rating=data.rating,
            comment=data.comment,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/notes",
        operation_id="addNote",
        summary="Add an internal note",
        **_command_doc("add_note", "Records NoteAdded. Internal: buyers and sellers never "
                       "see it."),
    )
    def add_note(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[AddNote],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.add_note(
            dispute_id,
            text=data.text,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/close",
        operation_id="close",
        summary="Close the case",
        **_command_doc("close", "Records CaseClosed with a `reason`; a closed case takes no "
                       "further commands (409)."),
    )
    def close(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[Close],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.close_case(
            dispute_id,
            reason=data.reason,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)
