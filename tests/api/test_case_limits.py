"""The per-case caps over HTTP, on SQLite and on PostgreSQL: 409 ``case-limit-reached``
naming the policy's rule and its value, a retry of the request accepted just below the
cap answered as the first time, and an upload to a case whose files are full refused
with nothing stored.

The policy here caps a case at 3 messages, 2 notes, 3 evidence items and 1 MB of files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from infrastructure.bootstrap import bundled_policy_text
from infrastructure.settings import Settings
from tests.api.conftest import BUYER, MODERATOR, SECRET, SELLER, assert_problem
from tests.api.test_evidence_files import stored, upload

LIMIT_REACHED = "https://disputedesk.invalid/problems/case-limit-reached"
ONE_MB_OF_TEXT = (b"x" * 99 + b"\n") * 10_000


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        bundled_policy_text()
        .replace('version = "2027-01-default"', 'version = "2027-01-capped"')
        .replace("messages_case_max = 300", "messages_case_max = 3")
        .replace("notes_case_max = 300", "notes_case_max = 2")
        .replace("evidence_case_max_items = 50", "evidence_case_max_items = 3")
        .replace("evidence_file_max_mb = 10", "evidence_file_max_mb = 1")
        .replace("evidence_case_max_mb = 50", "evidence_case_max_mb = 1"),
        encoding="utf-8",
    )
    return Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": database_url, "DISPUTEDESK_SECRET": SECRET,
         "DISPUTEDESK_POLICY": str(policy)},
        cwd=tmp_path,
    )


def limit_reached(response: Any, limit_name: str, limit: int) -> dict[str, Any]:
    body = assert_problem(response, 409)
    assert body["type"] == LIMIT_REACHED
    assert (body["limit_name"], body["limit"]) == (limit_name, limit)
    assert f"{limit_name} = {limit}" in body["detail"]
    return body


def test_a_message_past_the_cap_is_409_naming_it_and_a_retry_of_the_last_one_is_replayed(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    base = f"/v1/disputes/{case['id']}"
    contact = {"message": "where is it?", "channel": "chat"}
    assert client.post(f"{base}/seller-contacts", headers=BUYER, json=contact).is_success
    assert client.post(f"{base}/seller-responses", headers=SELLER,
                       json={"message": "soon"}).is_success
    keyed = {**BUYER, "Idempotency-Key": "third-message"}
    third = client.post(f"{base}/seller-contacts", headers=keyed, json=contact)
    assert third.status_code == 200, third.text

    limit_reached(client.post(f"{base}/seller-contacts", headers=BUYER, json=contact),
                  "messages_case_max", 3)
    limit_reached(client.post(f"{base}/seller-responses", headers=SELLER,
                              json={"message": "tomorrow"}), "messages_case_max", 3)
    again = client.post(f"{base}/seller-contacts", headers=keyed, json=contact)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == third.json()["version"]
    # Other commands go on; notes have their own cap.
    note = {"text": "the buyer keeps writing"}
    noted = [client.post(f"{base}/notes", headers=MODERATOR, json=note) for _ in range(2)]
    assert [r.status_code for r in noted] == [200, 200]
    assert noted[-1].json()["version"] == third.json()["version"] + 2
    limit_reached(client.post(f"{base}/notes", headers=MODERATOR, json=note),
                  "notes_case_max", 2)


def test_an_upload_to_a_case_whose_files_are_full_is_409_and_leaves_no_file(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    full = upload(client, case, ONE_MB_OF_TEXT, name="chat.txt", content_type="text/plain")
    assert full.status_code == 200, full.text
    assert len(stored(settings)) == 1

    body = limit_reached(upload(client, case, b"one more line\n", name="more.txt",
                                content_type="text/plain"), "evidence_case_max_mb", 1)
    assert "1,000,000 bytes" in body["detail"]
    assert len(stored(settings)) == 1  # nothing of the refused upload is kept
    # Evidence described without a file still fits, up to the cap on items.
    base = f"/v1/disputes/{case['id']}/evidence"
    described = {"kind": "chat_log", "description": "the chat"}
    assert client.post(base, headers=SELLER, json=described).is_success
    last = client.post(base, headers=BUYER, json=described)
    assert len(last.json()["evidence"]) == 3
    limit_reached(client.post(base, headers=BUYER, json=described),
                  "evidence_case_max_items", 3)
    # An upload is refused too, before a byte of it is kept.
    limit_reached(upload(client, case, b"a line\n", name="late.txt", content_type="text/plain"),
                  "evidence_case_max_items", 3)
    assert len(stored(settings)) == 1
