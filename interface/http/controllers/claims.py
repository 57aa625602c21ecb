"""Moderators' claims on a case: ``POST`` and ``DELETE /v1/disputes/{dispute_id}/claim``.

A claim keeps other moderators from the deciding steps (ruling, deciding an appeal,
extending ship-by, asking for evidence, hiding a review, closing: 409 `claim-held`)
until it expires or is released; notes stay open to every moderator. The routes are
commands on the case like the others (the access table's guards, ``Idempotency-Key``,
``If-Match``, the case as the answer), mixed into ``DisputesController``, whose path
(``/v1/disputes``) they share.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import FromPath, JSONBody

from application.disputes import DisputeDesk
from domain.dispute import Actor
from interface.http.conditional import ETAG_HEADER, IfMatch, expected_version
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.responses import case_response
from interface.http.routes import delete, post
from interface.http.schemas import CaseView, ClaimCase


def _doc(command: str, what: str, *statuses: int) -> dict[str, Any]:
    return {
        "guards": [requires(command)],
        "status_code": 200,
        "sync_to_thread": True,
        "description": f"{what} Send `If-Match` with the case's ETag to refuse the command "
        f"if the case changed meanwhile (412). Returns the case (its `claim` included). "
        f"{roles_note(command)}",
        "response_headers": [ETAG_HEADER],
        "responses": problem_responses(400, 401, 403, 404, 409, 412, *statuses, 422, 503),
    }


@dataclass
class _OptionalBody(Operation):
    """The OpenAPI operation of a command whose JSON body may be left out."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body = replace(self.request_body, required=False)


class ClaimRoutes:
    """The claim routes, as methods of ``DisputesController``."""

    @post(
        "/{dispute_id:uuid}/claim",
        operation_id="claim",
        operation_class=_OptionalBody,
        summary="Claim the case",
        **_doc(
            "claim",
            "Records CaseClaimed: the case is the calling moderator's until the policy's "
            "`claim_expiry_minutes` (120 by default) from now, and other moderators' deciding "
            "steps on it (rule, decide an appeal, extend ship-by, request evidence, hide a "
            "review, close) are refused with 409 `claim-held`, naming the holder and when "
            "the claim expires; notes stay open to all. Claiming one's own live claim renews "
            "it (a new `expires_at`). While another moderator's claim is live, a claim is "
            "409 `claim-held` unless the body says `{\"take_over\": true}`, which takes the "
            "case and records whose claim it was (`taken_from`). The body is optional (none: "
            "`take_over` false). A closed case is 409. Claims are never public events: the "
            "case history and the queue stream show them, buyers and sellers never see them.",
            415,
        ),
    )
    def claim(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        data: JSONBody[ClaimCase | None] = None,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.claim(
            dispute_id,
            take_over=data is not None and data.take_over,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)

    @delete(
        "/{dispute_id:uuid}/claim",
        operation_id="releaseClaim",
        summary="Release one's claim on the case",
        **_doc(
            "release_claim",
            "Records ClaimReleased: the calling moderator lets go of their live claim, and "
            "the case is nobody's. Without a live claim of one's own (none, another "
            "moderator's, or one that expired) it is 409 `claim-not-held`, saying which.",
        ),
    )
    def release_claim(
        self,
        dispute_id: FromPath[UUID],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.release_claim(
            dispute_id,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)
