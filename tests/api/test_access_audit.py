"""``GET /v1/audit/access`` on both stores: moderators' reads of a case's history and of
evidence files are recorded with who, when, what and how, and read back by supervising
moderators only (paged, filtered); buyers' reads of their own case are not recorded; a
read that cannot be recorded is not served."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.clock import ManualClock
from interface.http.auth import issue_token
from tests.api.conftest import BUYER, MODERATOR, SECRET, assert_problem, auth
from tests.api.test_evidence_files import png, upload

SUPERVISOR = {
    "Authorization": f"Bearer {issue_token(SECRET, 'moderator', 'm-boss', supervisor=True)}"}
AUDIT = "/v1/audit/access"


def _evidence(client: TestClient[Any], case: dict[str, Any]) -> str:
    response = upload(client, case, png(), name="listing.png", content_type="image/png")
    assert response.status_code == 200, response.text
    evidence_id: str = response.json()["evidence"][-1]["id"]
    return evidence_id


def _file(case: dict[str, Any], evidence_id: str) -> str:
    return f"/v1/disputes/{case['id']}/evidence/{evidence_id}/file"


def test_a_moderators_reads_are_in_the_audit_with_who_when_and_what(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    evidence_id = _evidence(client, case)
    history_at = manual_clock.now()
    assert client.get(f"/v1/disputes/{case['id']}/history",
                      headers={**MODERATOR, "X-Request-ID": "req-history"}).status_code == 200
    manual_clock.advance(timedelta(minutes=5))
    assert client.get(_file(case, evidence_id), headers=MODERATOR).status_code == 200
    assert client.get(_file(case, evidence_id), headers=BUYER).status_code == 200

    response = client.get(AUDIT, headers=SUPERVISOR)

    assert response.status_code == 200, response.text
    download, history = response.json()["data"]
    assert history == {
        "id": history["id"], "at": history_at.isoformat().replace("+00:00", "Z"),
        "actor_role": "moderator", "actor_id": "m-1", "dispute_id": case["id"],
        "read": "history", "evidence_id": None, "channel": "api", "request_id": "req-history",
    }
    assert (download["actor_id"], download["read"], download["evidence_id"],
            download["channel"]) == ("m-1", "evidence_file", evidence_id, "api")
    assert download["id"] > history["id"] and download["at"] > history["at"]
    assert download["request_id"]  # the id the request's log lines carry
    assert response.json()["next_cursor"] is None


def test_only_a_supervising_moderator_reads_the_audit(client: TestClient[Any]) -> None:
    refused = assert_problem(client.get(AUDIT, headers=MODERATOR), 403)
    assert "supervisor: true" in refused["detail"]
    assert "only moderators" in assert_problem(client.get(AUDIT, headers=BUYER), 403)["detail"]
    assert_problem(client.get(AUDIT), 401)


def test_a_supervisor_pages_and_filters_the_audit(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock
) -> None:
    history = f"/v1/disputes/{case['id']}/history"
    start = manual_clock.now()
    for moderator in ("m-1", "m-2", "m-1"):
        assert client.get(history, headers=auth("moderator", moderator)).status_code == 200
        manual_clock.advance(timedelta(minutes=10))

    first = client.get(AUDIT, params={"limit": 2}, headers=SUPERVISOR).json()
    second = client.get(AUDIT, params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=SUPERVISOR).json()
    by_m1 = client.get(AUDIT, params={"moderator_id": "m-1"}, headers=SUPERVISOR).json()
    other_case = client.get(AUDIT, params={"dispute_id": "00000000-0000-0000-0000-000000000001"},
                            headers=SUPERVISOR).json()
    since = (start + timedelta(minutes=5)).isoformat()
    until = (start + timedelta(minutes=15)).isoformat()
    window = client.get(AUDIT, params={"since": since, "until": until},
                        headers=SUPERVISOR).json()

    assert [row["actor_id"] for row in first["data"]] == ["m-1", "m-2"]
    assert [row["actor_id"] for row in second["data"]] == ["m-1"]
    assert second["next_cursor"] is None
    assert len(by_m1["data"]) == 2 and {row["actor_id"] for row in by_m1["data"]} == {"m-1"}
    assert other_case["data"] == []
    assert [row["actor_id"] for row in window["data"]] == ["m-2"]
    assert_problem(client.get(AUDIT, params={"since": until, "until": since},
                              headers=SUPERVISOR), 400, field="until")
    assert_problem(client.get(AUDIT, params={"since": "yesterday"}, headers=SUPERVISOR), 400)
    assert_problem(client.get(AUDIT, params={"cursor": "bm90LWFuLWludA"}, headers=SUPERVISOR),
                   400, field="cursor")


def test_a_read_that_cannot_be_recorded_is_not_served(
    client: TestClient[Any], case: dict[str, Any], desk: DisputeDesk
) -> None:
    evidence_id = _evidence(client, case)
    assert desk.access_audit.log is not None
    desk.access_audit.log.close()  # the audit's store is gone

    history = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR)
    download = client.get(_file(case, evidence_id), headers=MODERATOR)

    for refused in (history, download):
        body = assert_problem(refused, 503)
        assert body["type"].endswith("/audit-unavailable")
        assert "access audit" in body["detail"]
    assert b"PNG" not in download.content
    assert client.get(_file(case, evidence_id), headers=BUYER).status_code == 200
