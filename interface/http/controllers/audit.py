"""Who read what of a case: the access audit, for supervising moderators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from application.access_audit import AccessQuery
from application.disputes import DisputeDesk
from domain.dispute import Actor
from interface.http.audit_schemas import AccessAuditPage, access_read
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, take_page
from interface.http.routes import get

#: An RFC 3339 instant with its offset ('+' may arrive as a space).
INSTANT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+ -][0-9]{2}:[0-9]{2})$"
)

ModeratorFilter = Annotated[
    str | None,
    QueryParameter(name="moderator_id", required=False, min_length=1, max_length=128,
                   pattern=r"^[^\x00-\x1f\x7f]*$", description="Only this moderator's reads."),
]
DisputeFilter = Annotated[
    UUID | None,
    QueryParameter(name="dispute_id", required=False, description="Only reads of this case."),
]
SinceFilter = Annotated[
    str | None,
    QueryParameter(name="since", required=False, max_length=64, pattern=INSTANT_PATTERN,
                   description="Only reads at or after this RFC 3339 instant."),
]
UntilFilter = Annotated[
    str | None,
    QueryParameter(name="until", required=False, max_length=64, pattern=INSTANT_PATTERN,
                   description="Only reads before this RFC 3339 instant."),
]


def _instant(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise ValidationException(
            f"{name} must be an RFC 3339 time with an offset",
            extra=[{"key": name, "message": "an RFC 3339 time with an offset"}],
        ) from None


def _before(cursor: str | None) -> int | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if not isinstance(position, int) or isinstance(position, bool):
        raise ValidationException(
            "cursor is not one this API returned",
            extra=[{"key": "cursor", "message": "not a cursor for this list"}],
        )
    return position


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]

    @get(
        "/access",
        operation_id="listAccessAudit",
        guards=[requires("audit_access")],
        sync_to_thread=True,
        summary="Who read which case's history and evidence files",
        description="Every moderator's read of a case's full history (the API's "
        "`getHistory` and the console's case screen) and of an evidence file (the API's "
        "`getEvidenceFile` and the console's downloads): who (`actor_role`, `actor_id`), "
        "when (`at`), which case and what (`dispute_id`, `read`, `evidence_id`), how "
        "(`channel`: `api` or `console`) and the `request_id`. A read is recorded before it "
        "is served; one that cannot be recorded is not served (503). Buyers' and sellers' "
        "reads of their own cases are not recorded. Newest first, paged with `limit` and "
        "`cursor`; filter with `moderator_id`, `dispute_id`, and `since` (inclusive) and "
        "`until` (exclusive). A moderator whose token lacks `supervisor: true` is 403. "
        + roles_note("audit_access"),
        responses=problem_responses(400, 401, 403, 503),
    )
    def access(
        self,
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        moderator_id: ModeratorFilter = None,
        dispute_id: DisputeFilter = None,
        since: SinceFilter = None,
        until: UntilFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> AccessAuditPage:
        start, end = _instant(since, "since"), _instant(until, "until")
        if start is not None and end is not None and start >= end:
            raise ValidationException("until must be later than since",
                                      extra=[{"key": "until", "message": "later than since"}])
        query = AccessQuery(limit=limit + 1, before_seq=_before(cursor), actor_id=moderator_id,
                            dispute_id=dispute_id, since=start, until=end)
        entries = desk.access_audit.entries(request.user, query)
        page = take_page(entries, limit, position=lambda entry: entry.seq)
        return AccessAuditPage(data=[access_read(entry) for entry in page.items],
                               next_cursor=page.next_cursor)
