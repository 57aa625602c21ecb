"""The console's reads are audited by the same application code as the API's: a
moderator's case screen (which shows the full history) and evidence download appear in
``GET /v1/audit/access`` as the console's, with the request's id (on both stores)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from interface.http.auth import issue_token
from tests.api.conftest import SECRET
from tests.api.test_access_audit import AUDIT, _evidence
from tests.api.test_console import case_page, sign_in

SUPERVISOR = {
    "Authorization": f"Bearer {issue_token(SECRET, 'moderator', 'm-boss', supervisor=True)}"}


def test_a_moderators_case_screen_and_download_in_the_console_are_audited(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    evidence_id = _evidence(client, case)
    assert sign_in(client, "moderator", "m-7").status_code == 303

    case_page(client, case)
    download = client.get(f"/console/cases/{case['id']}/evidence/{evidence_id}/file",
                          headers={"X-Request-ID": "console-download"})
    assert download.status_code == 200

    rows = client.get(AUDIT, headers=SUPERVISOR).json()["data"]
    assert [(row["actor_id"], row["read"], row["evidence_id"], row["channel"])
            for row in rows] == [("m-7", "evidence_file", evidence_id, "console"),
                                 ("m-7", "history", None, "console")]
    assert rows[0]["request_id"] == "console-download"
    assert rows[1]["request_id"] and rows[1]["dispute_id"] == case["id"]
