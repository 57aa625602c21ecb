"""Policy versions: read any, publish new ones (analysts)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Body, PathParameter

from application.disputes import DisputeDesk
from domain.dispute import Actor
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey, request_stamp_of
from interface.http.routes import get, post
from interface.http.schemas import PolicyDocument, policy_document

PolicyBody = Annotated[
    dict[str, Any],
    Body(
        title="PolicyDocument",
        description="A whole policy document as JSON: `version`, `effective_from` (RFC 3339, "
        "not in the past), `defaults`, `regions`, `categories` (the shape of the bundled "
        "TOML).",
    ),
]


class PoliciesController(Controller):
    path = "/v1/policies"
    tags = ["policies"]

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
        status_code=201,
        sync_to_thread=True,
        summary="Publish a new policy version",
        description="Validates the whole document and publishes it; orders placed from its "
        "`effective_from` on follow it. Invalid documents are 422 with every problem listed in "
        "`errors`; a version already published is 409. " + roles_note("publish_policy"),
        responses=problem_responses(400, 401, 403, 409, 415, 422, 503),
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
