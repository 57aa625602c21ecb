"""The access audit's table beside the events, on SQLite and PostgreSQL: records kept as
written, newest first, paged by ``seq``, filtered by moderator, case and time; the table
made once however often the store opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.access_audit import AccessQuery, AccessRecord, Channel, Read
from infrastructure.access_audit_store import open_access_log
from infrastructure.database_url import parse_database_url

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
CASE_A, CASE_B = UUID(int=1), UUID(int=2)


def _record(minute: int, moderator: str, case: UUID, evidence: str | None = None) -> AccessRecord:
    return AccessRecord(
        at=T0 + timedelta(minutes=minute), actor_role="moderator", actor_id=moderator,
        dispute_id=case, read=Read.EVIDENCE_FILE if evidence else Read.HISTORY,
        channel=Channel.CONSOLE if evidence else Channel.API, evidence_id=evidence,
        request_id=f"req-{minute}",
    )


def test_records_come_back_newest_first_paged_and_filtered(database_url: str) -> None:
    url = parse_database_url(database_url)
    written = [_record(0, "m-1", CASE_A), _record(1, "m-2", CASE_A, "ev-1"),
               _record(2, "m-1", CASE_B), _record(3, "m-1", CASE_A, "ev-2")]
    log = open_access_log(url)
    try:
        for record in written:
            log.record(record)
        again = open_access_log(url)  # a second process opening the same store
        again.close()

        newest = log.entries(AccessQuery(limit=2))
        older = log.entries(AccessQuery(limit=2, before_seq=newest[-1].seq))
        mine = log.entries(AccessQuery(limit=10, actor_id="m-1"))
        case_a = log.entries(AccessQuery(limit=10, dispute_id=CASE_A))
        window = log.entries(AccessQuery(limit=10, since=T0 + timedelta(minutes=1),
                                         until=T0 + timedelta(minutes=3)))
    finally:
        log.close()

    assert [e.record for e in newest + older] == written[::-1]
    assert newest[0].seq > newest[1].seq > older[0].seq > older[1].seq
    assert [e.record for e in mine] == [written[3], written[2], written[0]]
    assert [e.record for e in case_a] == [written[3], written[1], written[0]]
    assert [e.record for e in window] == [written[2], written[1]]
