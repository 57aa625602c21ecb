"""A dispute: its case view, its audit history, and the commands on it (moderators'
claims: :mod:`~interface.http.controllers.claims`, mixed in)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, Router
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
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
from interface.http.controllers.claims import ClaimRoutes
from interface.http.encoded_cases import EncodedCases
from interface.http.errors import problem_responses
from interface.http.guards import all_of, requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, page_after
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
    AddNote,
    CaseView,
    Close,
    ContactSeller,
    DecideRefund,
    ExtendShipBy,
    History,
    IssueRefund,
    Messages,
    RequestIntervention,
    RequestRefund,
    Respond,
    Review,
    Rule,
    ShipReturn,
    history_entries,
    messages_of,
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
        description="Moderators only: the case as it was recorded, at a version (an integer) "
        "or at an RFC 3339 instant (what had been recorded by then, whenever it happened).",
    ),
]
INSTANT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+ -][0-9]{2}:[0-9]{2})?$"
)
AsHappenedParam = Annotated[
    str | None,
    QueryParameter(
        name="as_happened",
        required=False,
        max_length=64,
        pattern=INSTANT_PATTERN,
        description="Moderators only: the case as it was in the world at an RFC 3339 instant "
        "(business time): every event whose `occurred_at` (a derived event's: the instant it "
        "is for) is at or before it, whenever it was recorded. Not with `as_of`.",
    ),
]


def _asks(name: str) -> Callable[[ASGIConnection[Any, Any, Any, Any]], bool]:
    def asks(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        # Most reads send no query at all: then there is nothing to parse.
        return bool(connection.scope.get("query_string")) and name in connection.query_params

    return asks


def _instant(raw: str, name: str) -> datetime:
    """An RFC 3339 instant from the query ('+' may arrive as a space)."""
    try:
        return datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise ValidationException(
            f"{name} must be an RFC 3339 time",
            extra=[{"key": name, "message": "an RFC 3339 time"}],
        ) from None
MinVersionParam = Annotated[
    int,
    QueryParameter(
        name="min_version",
        required=False,
        ge=0,
        description="A version of the case this client knows was recorded (the `version` "
        "its own command returned): the answer is never older than it, whichever server "
        "process answers. Beyond the case's last version: 422 `version-not-recorded`.",
    ),
]


def _read_case(desk: DisputeDesk, dispute_id: UUID, actor: Actor, as_of: str | None,
               as_happened: str | None = None, min_version: int = 0) -> dict[str, Any]:
    if as_happened is not None:
        return desk.as_happened(dispute_id, actor, _instant(as_happened, "as_happened"))
    if as_of is None:
        return desk.case(dispute_id, actor, min_version=min_version)
    point = parse_as_of(as_of)
    if isinstance(point, int):
        return desk.as_of(dispute_id, actor, version=point)
    return desk.as_of(dispute_id, actor, at=point)


def _sequenced_page(
    request: Request[Actor, Any, Any],
    dispute_id: UUID,
    rows: list[dict[str, Any]],
    limit: int,
    cursor: str | None,
    body: Callable[[int, Page[dict[str, Any]]], Any],
) -> Response[Any]:
    """Rows numbered by ``sequence``: the last one tags the answer (304 on a match), and
    the rows are paged by it."""
    version = int(rows[-1]["sequence"]) if rows else 0
    request.scope.setdefault("state", {})["dispute_id"] = str(dispute_id)
    if matches_none(if_none_match(request.scope), version):
        return not_modified(version)
    page = page_after(rows, limit, cursor, position=lambda row: row["sequence"])
    return Response(body(version, page), headers={"ETag": etag(version), **CASE_HEADERS})


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


class DisputesController(ClaimRoutes, Controller):
    path = "/v1/disputes"
    tags = ["disputes"]

    def __init__(self, owner: Router) -> None:
        super().__init__(owner)
        self.bodies = EncodedCases()

    @get(
        "/{dispute_id:uuid}",
        operation_id="getDispute",
        guards=[all_of(
            requires("view"),
            requires("as_of", when=_asks("as_of")),
            requires("as_happened", when=_asks("as_happened")),
        )],
        summary="The case view",
        description="Status, deadlines, shipment, refund, review, evidence, the timeline and "
        "`next_actions` (what the caller may do now). Buyers and sellers see only their own "
        "cases (another's is 404, exactly like a missing one) and never see internal notes. "
        "Two ways back in time, for moderators, one at a time (both is 400): "
        "`?as_of=` gives the case *as recorded* at a version or instant (what the platform "
        "knew then; `as_of` in the answer). `?as_happened=` gives the case *as it was in the "
        "world* at an instant: the events whose business time (`occurred_at`, or the instant "
        "a derived event is for) is at or before it, however late they were recorded (an "
        "order placed on the 20th but fed in on the 2nd answers for the 25th), the timeline "
        "in business-time order, `next_actions` as of that instant and `as_happened` in the "
        "answer (`events`, and how many were `recorded_later`); its `version` and ETag stay "
        "the record's, since a later recording can change the past. An instant before the "
        "order was placed is 404, more than 5 minutes ahead 422. "
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
        as_happened: AsHappenedParam = None,
        min_version: MinVersionParam = 0,
    ) -> Response[CaseView]:
        past = as_of is not None or as_happened is not None
        if as_of is not None and as_happened is not None:
            raise ValidationException(
                "name as_of (as recorded) or as_happened (as in the world), not both",
                extra=[{"key": "as_happened", "message": "not together with as_of"}],
            )
        # Async on purpose: a case known current in memory is answered on the loop,
        # without I/O; anything that needs the store runs in a worker thread.
        view = None if past else desk.case_in_memory(dispute_id, request.user, min_version)
        if view is None:
            view = await sync_to_thread(
                _read_case, desk, dispute_id, request.user, as_of, as_happened, min_version
            )
        if matches_none(if_none_match(request.scope), view["version"]):
            return not_modified(view["version"])
        if past:
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
        responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 503)},
    )
    def history(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[History]:
        return _sequenced_page(
            request, dispute_id, desk.history(dispute_id, request.user), limit, cursor,
            lambda version, page: History(
                dispute_id=str(dispute_id), version=version,
                data=history_entries(page.items), next_cursor=page.next_cursor,
            ),
        )

    @get(
        "/{dispute_id:uuid}/messages",
        operation_id="getMessages",
        guards=[requires("messages")],
        sync_to_thread=True,
        summary="The conversation between the buyer and the seller",
        description="The buyer's contacts and the seller's responses, oldest first: "
        "`sequence, author_role, author_id, text, sent_at, expects_reply, promised_ship_date`, "
        "paged with `limit` and `cursor`. Internal notes never appear. Buyers and sellers see "
        "only their own cases (another's is 404). `ETag` is the last message's `sequence`: "
        "`If-None-Match` gets 304 until a new message. " + roles_note("messages"),
        response_headers=[ETAG_HEADER],
        operation_class=ReadsIfNoneMatch,
        responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404)},
    )
    def messages(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[Messages]:
        # The conversation changes only with a message: the last one's sequence tags it.
        return _sequenced_page(
            request, dispute_id, desk.messages(dispute_id, request.user), limit, cursor,
            lambda _version, page: Messages(
                dispute_id=str(dispute_id), data=messages_of(page.items),
                next_cursor=page.next_cursor,
            ),
        )

    @post(
        "/{dispute_id:uuid}/seller-contacts",
        operation_id="contactSeller",
        summary="The buyer contacted the seller",
        **_command_doc("contact_seller", "Records SellerContacted. With `expects_reply` (the "
                       "default) the seller's response window opens; a message that expects "
                       "no reply (a thank-you) opens none."),
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
            expects_reply=data.expects_reply,
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
                       "date (YYYY-MM-DD, not before today in the order's region): if the order "
                       "has not shipped when that day ends, PromiseBroken is recorded and the "
                       "buyer may ask the platform to step in."),
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
        **_command_doc("rule", "Records InterventionResolved. `reason_code` must be a code of "
                       "the catalogue in force (GET /v1/reason-codes) that justifies the "
                       "outcome (else 422); the parties see the outcome, the code's text and "
                       "the `note`. `refund_partial` needs `refund_amount`; `seller_must_ship` "
                       "needs `new_ship_by`. The buyer and the seller may then appeal."),
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
            label_cost=(
                to_money(data.label_cost, "label_cost") if data.label_cost is not None else None
            ),
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
                       "further commands (409) but the payment of a refund due. Refused (409, "
                       "naming each) while money is owed to the buyer (an approved refund not "
                       "paid, a refund due open) or goods are on their way (an order shipped "
                       "and not delivered, a return not received). An order that neither "
                       "shipped nor was cancelled closes only with `cancel_order: true`, which "
                       "records OrderCancelled and a refund due of the rest of its amount."),
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
            cancel_order=data.cancel_order,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @post(
        "/{dispute_id:uuid}/extensions",
        operation_id="extendShipBy",
        summary="Give the seller more time to ship",
        **_command_doc("extend_ship_by", "Records ShipByExtended: `ship_by` becomes "
                       "`new_ship_by` (later than the current one, in the future; otherwise "
                       "422) and the auto-cancel instant moves by as many business days, so "
                       "the new ship-by may pass the old auto-cancel instant. Only while the "
                       "order has not shipped and the case is open (409). The buyer and the "
                       "seller see the new dates in their case views."),
    )
    def extend_ship_by(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[ExtendShipBy],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.extend_ship_by(
            dispute_id,
            new_ship_by=data.new_ship_by,
            reason=data.reason,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)
