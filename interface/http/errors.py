"""Every error as ``application/problem+json`` (RFC 9457), and its OpenAPI description."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap
from msgspec import Meta

from application.disputes import Forbidden
from domain.dispute.case_limits import CaseLimitReached
from domain.errors import (
    ConcurrentModification,
    Contention,
    DomainError,
    EvidenceTooLarge,
    InvalidInput,
    NotForThisActor,
    NotFound,
    TransitionRefused,
    UnsupportedMediaType,
)
from domain.policy import PolicyError, UnknownCategory, UnknownRegion
from infrastructure.logging import get_logger
from infrastructure.outages import STORE_OUTAGES
from interface.http.openapi_problem_examples import EXAMPLE_REQUEST_ID, PROBLEM_EXAMPLES
from interface.http.request_ids import request_id_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://disputedesk.invalid/problems/"
AUTH_CHALLENGE = 'Bearer realm="disputedesk"'

log = get_logger("disputedesk.http")


class FieldError(msgspec.Struct, frozen=True):
    field: Annotated[str, Meta(description="The field: a dotted path in the body, a parameter "
                                           "or a header", examples=["amount.amount"])]
    message: Annotated[str, Meta(examples=["Expected `str`, got `int`"])]


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: Annotated[str, Meta(description="A URI naming the kind of problem",
                              examples=[PROBLEM_BASE + "invalid-input"])]
    title: Annotated[str, Meta(description="The status's phrase",
                               examples=["Unprocessable Entity"])]
    status: Annotated[int, Meta(description="The HTTP status", examples=[422])]
    detail: Annotated[str, Meta(description="What went wrong, in a sentence",
                                examples=["channel must be one of chat, email, phone, in_app, "
                                          "other; got 'pigeon'"])]
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: Annotated[str | None, Meta(description="The request's id (`X-Request-ID`)")] = None
    limit_name: Annotated[str | None, Meta(
        description="`case-limit-reached`: the policy's rule the case reached",
        examples=["messages_case_max"])] = None
    limit: Annotated[int | None, Meta(
        description="`case-limit-reached`: that rule's value for the case")] = None


_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request[Any, Any, Any] | None,
    status: int,
    detail: str,
    *,
    code: str | None = None,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Problem]:
    request_id = None
    instance = None
    if request is not None:
        instance = request.url.path
        request_id = request_id_of(request.scope)
    problem = Problem(
        type=PROBLEM_BASE + (code or _HTTP_CODES.get(status, "error")),
        title=_title(status),
        status=status,
        detail=detail,
        instance=instance,
        errors=errors or None,
        request_id=request_id,
    )
    return Response(
        problem,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def domain_status(error: DomainError) -> int:
    if isinstance(error, Forbidden | NotForThisActor):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, TransitionRefused):
        return 409
    if isinstance(error, ConcurrentModification):
        return 412
    if isinstance(error, Contention):
        return 503
    if isinstance(error, EvidenceTooLarge):
        return 413
    if isinstance(error, UnsupportedMediaType):
        return 415
    if isinstance(error, InvalidInput):
        return 422
    return 422


def _on_domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[Problem]:
    errors = [FieldError(error.field, error.detail)] if error.field else None
    status = domain_status(error)
    headers = {"Retry-After": "1"} if status == 503 else None
    if status == 503:
        log.info("http.contention", detail=error.detail)
    response = problem_response(request, status, error.detail, code=error.code, errors=errors,
                                headers=headers)
    if isinstance(error, CaseLimitReached):  # the cap and its value, for a client to read
        response.content = msgspec.structs.replace(
            response.content, limit_name=error.limit_name, limit=error.limit)
    return response


_PROBLEM_PATH = re.compile(r"^(?P<field>[^\s:]+): (?P<message>.+)$", re.S)


def policy_field_errors(error: PolicyError) -> list[FieldError]:
    if isinstance(error, UnknownRegion):
        return [FieldError("region", error.problems[0])]
    if isinstance(error, UnknownCategory):
        return [FieldError("category", error.problems[0])]
    found = []
    for problem in error.problems:
        match = _PROBLEM_PATH.match(problem)
        if match:
            found.append(FieldError(match["field"], match["message"]))
        else:
            found.append(FieldError("(document)", problem))
    return found


def _on_policy_error(request: Request[Any, Any, Any], error: PolicyError) -> Response[Problem]:
    errors = policy_field_errors(error)
    if len(errors) == 1:
        detail = f"{errors[0].field}: {errors[0].message}"
    else:
        detail = f"{len(errors)} problems: " + "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem_response(request, 422, detail, code="invalid-policy", errors=errors)


_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")


def _validation_errors(extra: Any) -> list[FieldError]:
    """Litestar's messages as ``{field, message}``, the field a dotted path in the body."""
    found: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if not isinstance(item, Mapping):
                continue
            message = str(item.get("message", "invalid"))
            key = str(item.get("key") or "")
            named = _NAMED_FIELD.search(message)
            if key in ("", "data"):
                field = named[1] if named and named[1] else ("body" if key == "data" else "request")
            elif item.get("source") == "header":
                field = "-".join(part.capitalize() for part in key.split("_"))
            else:
                field = f"{key}.{named[1]}" if named else key
            found.append(FieldError(field, message))
    return found


def _on_http_exception(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    status = error.status_code
    if status >= 500:
        log.error("http.server_error", detail=error.detail, status=status)
        return problem_response(request, status, "the server could not complete the request")
    headers = dict(error.headers or {})
    errors = None
    detail = error.detail
    if isinstance(error, ValidationException):
        errors = _validation_errors(error.extra)
        if errors:
            detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        elif detail.startswith("Validation failed"):
            detail = "the request body or parameters are malformed"
    if isinstance(error, NotAuthorizedException) or status == 401:
        headers.setdefault(
            "WWW-Authenticate", f'{AUTH_CHALLENGE}, error="invalid_token", error_description='
            f'"{_header_safe(detail)}"'
        )
    return problem_response(request, status, detail, errors=errors, headers=headers)


class LimitReached(HTTPException):
    """A limit of the server's was reached (a request rate, open streams, a body's size):
    a problem of its own ``code`` (``too-many-requests``, ``too-many-streams``,
    ``payload-too-large``), with its headers (``Retry-After``)."""

    def __init__(self, detail: str, *, status_code: int, code: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=dict(headers or {}))
        self.code = code


def _on_limit_reached(request: Request[Any, Any, Any], error: LimitReached) -> Response[Problem]:
    return problem_response(request, error.status_code, error.detail, code=error.code,
                            headers=error.headers)


def _header_safe(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable() and ch not in '"\\')[:200]


def _on_store_unavailable(
    request: Request[Any, Any, Any], error: Exception
) -> Response[Problem]:
    """The database went away for a moment: say so and when to retry, never a 500."""
    log.warning("http.store_unavailable", error_type=type(error).__name__, error=str(error))
    return problem_response(
        request,
        503,
        "the database is unavailable for a moment; retry (with the same Idempotency-Key)",
        headers={"Retry-After": "1"},
    )


def _on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    if isinstance(error, STORE_OUTAGES):
        return _on_store_unavailable(request, error)
    log.exception("http.unhandled_error", error_type=type(error).__name__)
    return problem_response(request, 500, "the server could not complete the request")


def exception_handlers() -> ExceptionHandlersMap:
    return {
        DomainError: _on_domain_error,
        PolicyError: _on_policy_error,
        LimitReached: _on_limit_reached,
        HTTPException: _on_http_exception,
        Exception: _on_unexpected,
    }


def render_exception(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    """The response an exception becomes (for middleware that catches exceptions itself)."""
    if isinstance(error, DomainError):
        return _on_domain_error(request, error)
    if isinstance(error, PolicyError):
        return _on_policy_error(request, error)
    if isinstance(error, LimitReached):
        return _on_limit_reached(request, error)
    if isinstance(error, HTTPException):
        return _on_http_exception(request, error)
    return _on_unexpected(request, error)


_DESCRIPTIONS = {
    400: "Malformed JSON, a value of the wrong type, or a malformed parameter or header.",
    401: "No bearer token, or one that is malformed, tampered with or expired.",
    403: "The token's role may not do this.",
    404: "No such resource, or one that is not the caller's (the two are indistinguishable).",
    409: "The dispute's state does not allow this action; `detail` says why. A case "
    "that holds the most its policy allows of something (`case-limit-reached`) names the "
    "rule in `limit_name` and its value in `limit`.",
    412: "`If-Match` no longer matches the dispute's current version (only a stale "
    "`If-Match` is 412).",
    503: "Retry shortly with the same `Idempotency-Key` (see `Retry-After`): the store is "
    "unavailable (`unavailable`) or does not answer in time (`store-timeout`), other "
    "writers kept winning the race for the case (`contention`), or the first attempt "
    "with this key may still commit (`idempotency-key-in-progress`). Nothing was "
    "recorded twice.",
    415: "The body is not JSON (see `Content-Type`); `Accept-Post` says what is.",
    429: "The caller sent requests faster than its role's rate (`too-many-requests`): "
    "retry after `Retry-After` seconds. `RateLimit-Limit`, `RateLimit-Remaining` and "
    "`RateLimit-Reset` say the rate and when it frees.",
    422: "A value is invalid (or the Idempotency-Key was used for another request); "
    "`errors` names the fields.",
}


def problem_example(status: int) -> Example:
    """The problem a request gets with ``status``, worded as the API words it."""
    words = PROBLEM_EXAMPLES[status]
    problem = Problem(
        type=PROBLEM_BASE + words.code,
        title=_title(status),
        status=status,
        detail=words.detail,
        instance=words.instance,
        errors=[FieldError(field, message) for field, message in words.errors] or None,
        request_id=EXAMPLE_REQUEST_ID,
    )
    return Example(summary=words.summary, value=msgspec.to_builtins(problem))


def problem_spec(
    status: int,
    description: str,
    data_container: type[Problem] = Problem,
    *,
    example: Example | None = None,
) -> ResponseSpec:
    """A problem response a route may give, with a fixed example (never generated filler):
    ``example``, else the status's own."""
    if example is None and status in PROBLEM_EXAMPLES:
        example = problem_example(status)
    return ResponseSpec(
        data_container=data_container,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
        examples=[example] if example is not None else None,
    )


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route may give. A route that checks
    a token (401) counts its caller's requests too (``rate_limits``): 429 with it."""
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return {
        status: problem_spec(status, _DESCRIPTIONS.get(status, _title(status)))
        for status in statuses
    }


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "LimitReached",
    "Problem",
    "exception_handlers",
    "problem_example",
    "problem_response",
    "problem_responses",
    "problem_spec",
    "render_exception",
]
