"""The access audit's rules, with a fake log: whose reads are recorded and with what, a
read that cannot be recorded is refused, only supervising moderators read the audit; and
where the supervisor flag comes from (tokens) and what it does not change (actor equality)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import jwt
import pytest
import structlog

from application.access import Forbidden, refusal_of
from application.access_audit import (
    CONSOLE,
    AccessAudit,
    AccessEntry,
    AccessQuery,
    AccessRecord,
    AuditUnavailable,
    Channel,
    Read,
    Via,
)
from domain.dispute import Actor
from domain.dispute.access import admits
from infrastructure.clock import ManualClock
from interface.http.auth import issue_token
from interface.http.identity import TokenVerifier
from interface.http.token_claims import TokenRefused, actor_of

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CASE = UUID(int=7)
MODERATOR = Actor("moderator", "m-1")
SUPERVISOR = Actor("moderator", "m-9", supervisor=True)
SECRET = "unit-secret-0123456789abcdef0123456789"


class FakeLog:
    def __init__(self, *, broken: bool = False) -> None:
        self.records: list[AccessRecord] = []
        self.broken = broken
        self.queries: list[AccessQuery] = []

    def record(self, record: AccessRecord) -> None:
        if self.broken:
            raise OSError("disk full")
        self.records.append(record)

    def entries(self, query: AccessQuery) -> list[AccessEntry]:
        self.queries.append(query)
        return [AccessEntry(n, r) for n, r in reversed(list(enumerate(self.records, 1)))]

    def close(self) -> None:
        pass


def audit_with(log: FakeLog) -> AccessAudit:
    return AccessAudit(log, ManualClock(NOW))


def test_a_moderators_read_is_recorded_with_who_when_what_and_how() -> None:
    log = FakeLog()

    audit_with(log).read(MODERATOR, CASE, Read.EVIDENCE_FILE, Via(Channel.CONSOLE, "req-1"),
                         evidence_id="ev-2")

    assert log.records == [AccessRecord(
        at=NOW, actor_role="moderator", actor_id="m-1", dispute_id=CASE,
        read=Read.EVIDENCE_FILE, channel=Channel.CONSOLE, evidence_id="ev-2",
        request_id="req-1",
    )]


def test_without_a_channel_a_read_is_the_apis_and_takes_the_logged_request_id() -> None:
    log = FakeLog()
    structlog.contextvars.bind_contextvars(request_id="from-the-logs")
    try:
        audit_with(log).read(MODERATOR, CASE, Read.HISTORY)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")

    assert (log.records[0].channel, log.records[0].request_id) == (Channel.API, "from-the-logs")


@pytest.mark.parametrize("role", ["buyer", "seller", "analyst", "platform"])
def test_only_moderators_reads_are_recorded(role: str) -> None:
    log = FakeLog()

    audit_with(log).read(Actor(role, "x"), CASE, Read.EVIDENCE_FILE, CONSOLE, evidence_id="ev-1")

    assert log.records == []


def test_a_read_that_cannot_be_recorded_is_refused_as_unavailable() -> None:
    with pytest.raises(AuditUnavailable, match="not served"):
        audit_with(FakeLog(broken=True)).read(MODERATOR, CASE, Read.HISTORY)


def test_only_a_supervising_moderator_reads_the_audit() -> None:
    log = FakeLog()
    audit = audit_with(log)
    audit.read(MODERATOR, CASE, Read.HISTORY)

    with pytest.raises(Forbidden, match="supervisor: true"):
        audit.entries(MODERATOR, AccessQuery(limit=10))
    with pytest.raises(Forbidden, match="only moderators"):
        audit.entries(Actor("analyst", "a-1"), AccessQuery(limit=10))

    assert [e.record.actor_id for e in audit.entries(SUPERVISOR, AccessQuery(limit=10))] == [
        "m-1"]


def test_the_access_table_admits_supervisors_only_for_the_audit() -> None:
    assert admits(SUPERVISOR, "audit_access") and not admits(MODERATOR, "audit_access")
    assert admits(MODERATOR, "history") and admits(SUPERVISOR, "history")
    assert refusal_of(SUPERVISOR, "audit_access") is None


def test_the_supervisor_flag_does_not_change_who_an_actor_is() -> None:
    plain, supervising = Actor("moderator", "m-1"), Actor("moderator", "m-1", supervisor=True)

    assert plain == supervising and hash(plain) == hash(supervising)
    assert not plain.supervisor and supervising.supervisor


def test_a_development_token_carries_the_supervisor_flag() -> None:
    verifier = TokenVerifier(SECRET)

    token = issue_token(SECRET, "moderator", "m-9", supervisor=True)

    assert jwt.decode(token, SECRET, algorithms=["HS256"])["supervisor"] is True
    assert verifier.actor(token).supervisor
    assert not verifier.actor(issue_token(SECRET, "moderator", "m-1")).supervisor
    with pytest.raises(ValueError, match="only a moderator"):
        issue_token(SECRET, "buyer", "b-1", supervisor=True)


@pytest.mark.parametrize(
    ("role", "claim", "refused"),
    [("buyer", True, "only a moderator"), ("moderator", "true", "true or false"),
     ("moderator", 1, "true or false")],
)
def test_a_supervisor_claim_that_cannot_hold_refuses_the_token(
    role: str, claim: object, refused: str
) -> None:
    with pytest.raises(TokenRefused, match=refused):
        actor_of(role, "x", supervisor=claim)
