"""What each documented error status looks like, as the API really words it.

The OpenAPI document shows these instead of generated filler, so a reader sees
a real status, type and sentence. Each is what a request of the README's
walk-through gets (``interface/http/errors.py`` turns it into a problem).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The case the examples speak of (order ``o-1``).
_CASE = "/v1/disputes/931c4169-9af4-57cf-8015-646c2722c057"


@dataclass(frozen=True)
class ProblemExample:
    """One problem document's words: its type's code, summary, detail and field errors."""

    code: str
    summary: str
    detail: str
    instance: str
    errors: tuple[tuple[str, str], ...] = ()


PROBLEM_EXAMPLES: dict[int, ProblemExample] = {
    400: ProblemExample(
        "bad-request", "A value of the wrong type",
        "amount.amount: Expected `str`, got `int`", "/v1/orders",
        (("amount.amount", "Expected `str`, got `int`"),),
    ),
    401: ProblemExample(
        "unauthenticated", "No bearer token", "send Authorization: Bearer <token>", _CASE,
    ),
    403: ProblemExample(
        "forbidden", "A role that may not do this",
        "a buyer may not read the case history; only moderators may", _CASE + "/history",
    ),
    404: ProblemExample(
        "not-found", "No such dispute, or not the caller's",
        "no dispute 931c4169-9af4-57cf-8015-646c2722c057", _CASE,
    ),
    405: ProblemExample(
        "method-not-allowed", "A method the path does not serve",
        "Method Not Allowed", _CASE + "/notes",
    ),
    409: ProblemExample(
        "no-pending-refund", "The case's state forbids it",
        "there is no refund request awaiting the seller's answer", _CASE + "/refund-decisions",
    ),
    412: ProblemExample(
        "precondition-failed", "A stale If-Match",
        "the dispute is at version 3, not 2", _CASE + "/seller-contacts",
    ),
    413: ProblemExample(
        "payload-too-large", "A file over the policy's limit",
        "an evidence file may hold at most 10 MB; this one holds 12,400,000 bytes",
        _CASE + "/evidence",
        (("file", "an evidence file may hold at most 10 MB; this one holds 12,400,000 bytes"),),
    ),
    415: ProblemExample(
        "unsupported-media-type", "A body that is not JSON",
        "Content-Type: this route reads JSON (application/json), not 'text/plain'",
        _CASE + "/seller-contacts",
        (("Content-Type", "this route reads JSON (application/json), not 'text/plain'"),),
    ),
    422: ProblemExample(
        "invalid-input", "A value outside its vocabulary",
        "channel must be one of chat, email, phone, in_app, other; got 'pigeon'",
        _CASE + "/seller-contacts",
        (("channel", "channel must be one of chat, email, phone, in_app, other; got 'pigeon'"),),
    ),
    429: ProblemExample(
        "too-many-requests", "Requests faster than the caller's rate",
        "too many requests: at most 600/minute for this caller; retry after 12s", _CASE,
    ),
    500: ProblemExample(
        "internal-error", "A fault of the server",
        "the server could not complete the request", _CASE,
    ),
    503: ProblemExample(
        "unavailable", "The database is away for a moment",
        "the database is unavailable for a moment; retry (with the same Idempotency-Key)",
        _CASE + "/seller-contacts",
    ),
}
#: Every example's request id: 32 hex digits, as the ``X-Request-ID`` header carries.
EXAMPLE_REQUEST_ID = "760e09b71870f604c6ec2df3d343cf4c"
