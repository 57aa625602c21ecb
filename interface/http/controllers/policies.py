"""Policy versions: list and read any, publish new ones (analysts)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import Example
from litestar.params import Body, PathParameter
from msgspec import Meta, Struct

from application.disputes import DisputeDesk
from application.policies import PublishedVersion, published_versions
from application.times import rfc3339
from domain.dispute import Actor
from domain.policy_ledger import PolicyWouldRejudgeOrders
from interface.http.errors import (
    PROBLEM_BASE,
    PROBLEM_MEDIA_TYPE,
    FieldError,
    Problem,
    problem_response,
    problem_responses,
    problem_spec,
)
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.openapi_problem_examples import EXAMPLE_REQUEST_ID
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, page_after
from interface.http.routes import get, post
from interface.http.schemas import PolicyDocument, policy_document

PolicyBody = Annotated[
    dict[str, Any],
    Body(
        title="PolicyDocument",
        description="A whole policy document as JSON: `version`, `effective_from` (RFC 3339; "
        "in the past only where no recorded order was placed), `defaults`, `regions`, "
        "`categories` (the shape of the bundled TOML).",
    ),
]

Rfc3339 = Annotated[str, Meta(description="RFC 3339 instant in UTC (`Z`)")]


class PublishedBy(Struct):
    role: Annotated[str, Meta(description="`analyst`, or `platform` for a version the "
                                          "deployment was configured with")]
    id: Annotated[str, Meta(description="The publisher's id (`configuration` for a "
                                        "configured version)")]


class PolicyVersionSummary(Struct):
    version: str
    effective_from: Annotated[Rfc3339, Meta(description="Orders placed from then on (up to "
                                                        "the next version's) follow it")]
    published_at: Annotated[Rfc3339, Meta(description="When it was published")]
    published_by: PublishedBy


class PolicyVersionsPage(Struct):
    data: list[PolicyVersionSummary]
    next_cursor: Annotated[str | None, Meta(description="Pass as `cursor` for the next page; "
                                                        "null on the last")]


class RejudgeProblem(Problem, omit_defaults=True):
    """409 ``policy-would-rejudge-orders``: the recorded orders the version would govern."""

    orders: Annotated[list[str], Meta(description="The first few of them (earliest placed "
                                                  "first)")] = []
    order_count: Annotated[int, Meta(description="How many there are in all")] = 0


_REJUDGE_DETAIL = (
    "effective_from 2026-11-01T00:00:00+00:00 would judge 2 recorded order(s) placed from "
    "2026-11-01T00:00:00+00:00 on by version '2026-11-rules', not by the version they were "
    "recorded under: o-1, o-2; choose an effective_from no recorded order falls under"
)
#: The documented 409, as a version published over recorded orders gets it.
REJUDGE_EXAMPLE = Example(
    summary="A version that would judge recorded orders",
    value=msgspec.to_builtins(RejudgeProblem(
        type=PROBLEM_BASE + "policy-would-rejudge-orders",
        title="Conflict",
        status=409,
        detail=_REJUDGE_DETAIL,
        instance="/v1/policies",
        errors=[FieldError("effective_from", _REJUDGE_DETAIL)],
        request_id=EXAMPLE_REQUEST_ID,
        orders=["o-1", "o-2"],
        order_count=2,
    )),
)


def _summary(published: PublishedVersion) -> PolicyVersionSummary:
    return PolicyVersionSummary(
        version=published.version,
        effective_from=rfc3339(published.effective_from),
        published_at=rfc3339(published.published_at),
        published_by=PublishedBy(published.actor_role, published.actor_id),
    )


def _position(published: PublishedVersion) -> list[int]:
    effective = published.effective_from
    micros = int(effective.timestamp()) * 1_000_000 + effective.microsecond
    return [micros, published.sequence]


def _rejudge_problem(
    request: Request[Any, Any, Any], error: PolicyWouldRejudgeOrders
) -> Response[RejudgeProblem]:
    plain = problem_response(request, 409, error.detail, code=error.code,
                             errors=[FieldError("effective_from", error.detail)])
    problem = RejudgeProblem(**msgspec.structs.asdict(plain.content),
                             orders=list(error.order_ids), order_count=error.count)
    return Response(problem, status_code=409, media_type=PROBLEM_MEDIA_TYPE)


class PoliciesController(Controller):
    path = "/v1/policies"
    tags = ["policies"]

    @get(
        "/",
        operation_id="listPolicies",
        sync_to_thread=True,
        summary="Every published policy version",
        description="Every version ever published, earliest `effective_from` first (of two "
        "with the same `effective_from`, the one published later comes later, and is the "
        "one in force). An order follows the version in force when it was placed. Any "
        "authenticated role.",
        responses=problem_responses(400, 401),
    )
    def versions(
        self,
        desk: NamedDependency[DisputeDesk],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> PolicyVersionsPage:
        page = page_after(published_versions(desk), limit, cursor, _position)
        return PolicyVersionsPage([_summary(p) for p in page.items], page.next_cursor)

    @get(
        "/current",
        operation_id="getCurrentPolicy",
        sync_to_thread=True,
        summary="The policy in force now",
        description="The whole document of the version in force now. Any authenticated role.",
        responses=problem_responses(401),
    )
    def current(self, desk: NamedDependency[DisputeDesk]) -> PolicyDocument:
        return policy_document(desk.current_policy().to_document())

    @get(
        "/{version:str}",
        operation_id="getPolicy",
        sync_to_thread=True,
        summary="One published policy version",
        description="The whole document of a published version. Any authenticated role.",
        responses=problem_responses(401, 404),
    )
    def version(
        self,
        desk: NamedDependency[DisputeDesk],
        version: Annotated[
            str, PathParameter(description="A published version, e.g. 2027-01-default")
        ],
    ) -> PolicyDocument:
        policy = desk.policy(version)
        if policy is None:
            raise NotFoundException(f"no policy version {version!r}")
        return policy_document(policy.to_document())

    @post(
        "/",
        operation_id="publishPolicy",
        guards=[requires("publish_policy")],
        exception_handlers={PolicyWouldRejudgeOrders: _rejudge_problem},
        status_code=201,
        sync_to_thread=True,
        summary="Publish a new policy version",
        description="Validates the whole document and publishes it; orders placed from its "
        "`effective_from` on (up to the next later version's) follow it. `effective_from` "
        "may be in the past (to bring in history from before the first version) as long as "
        "no recorded order was placed in the span the version would govern: otherwise 409 "
        "`policy-would-rejudge-orders`, naming the first few such orders (`orders`) and "
        "how many there are (`order_count`). Invalid documents are 422 with every problem "
        "listed in `errors`; a version already published is 409. "
        + roles_note("publish_policy"),
        responses={
            **problem_responses(400, 401, 403, 415, 422, 503),
            409: problem_spec(
                409,
                "The version is already published (`policy-already-published`), "
                "or it would govern recorded orders (`policy-would-rejudge-orders`, with "
                "`orders` and `order_count`).",
                RejudgeProblem,
                example=REJUDGE_EXAMPLE,
            ),
        },
    )
    def publish(
        self,
        data: PolicyBody,
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PolicyDocument]:
        document = desk.publish_policy(data, request.user, request_stamp_of(request))
        return Response(
            policy_document(document),
            status_code=201,
            headers={"Location": f"/v1/policies/{document['version']}"},
        )
