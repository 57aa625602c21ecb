"""Evidence files over HTTP: uploads streamed into the blob store, types read from the
content, limits, refusals that leave nothing stored, idempotent retries, downloads and
who may make them, and a moderator's request for more evidence. What depends on the
store (keeping, reading back, deleting a replay's copy) runs on SQLite and PostgreSQL.

The policy here allows 1 MB per file and 2 MB per case, so that the limits are met
with small files.
"""

from __future__ import annotations

import hashlib
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from application.evidence_files import EvidenceFiles
from infrastructure.blob_store import blob_directory
from infrastructure.bootstrap import bundled_policy_text
from infrastructure.database_url import parse_database_url
from infrastructure.postgres_blobs import TABLE
from infrastructure.settings import Settings
from interface.http.controllers import evidence as evidence_routes
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    OTHER_BUYER,
    OTHER_SELLER,
    PLATFORM,
    SECRET,
    SELLER,
    assert_problem,
)

MB = 1_000_000


def png() -> bytes:
    """A real 2x1 PNG (a red and a green pixel)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\xff\x00")
    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def pdf() -> bytes:
    """A minimal valid one-page PDF, its cross-reference table at the right offsets."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


TEXT = "Order 1234: the seller wrote on 20 Nov that it ships «tomorrow».\r\n".encode()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        bundled_policy_text()
        .replace('version = "2027-01-default"', 'version = "2027-01-evidence-tests"')
        .replace("evidence_file_max_mb = 10", "evidence_file_max_mb = 1")
        .replace("evidence_case_max_mb = 50", "evidence_case_max_mb = 2"),
        encoding="utf-8",
    )
    return Settings.from_env(
        {"DISPUTEDESK_DATABASE_URL": database_url, "DISPUTEDESK_SECRET": SECRET,
         "DISPUTEDESK_POLICY": str(policy)},
        cwd=tmp_path,
    )


def stored(settings: Settings) -> set[str]:
    """The blob ids the store holds, and any write left half done."""
    url = parse_database_url(settings.database_url)
    if url.sqlite_path is not None:
        root = blob_directory(url.sqlite_path)
        return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone() == (None,):
            return set()
        return {row[0] for row in conn.execute(f"SELECT DISTINCT blob_id FROM {TABLE}")}


def upload(client: TestClient[Any], case: dict[str, Any], content: bytes, *,
           name: str = "evidence.bin", content_type: str = "application/octet-stream",
           headers: dict[str, str] = BUYER, kind: str = "screenshot",
           description: str = "what the listing said", **fields: str) -> Any:
    return client.post(
        f"/v1/disputes/{case['id']}/evidence", headers=headers,
        files={"file": (name, content, content_type)},
        data={"kind": kind, "description": description, **fields},
    )


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

KINDS = [
    (png(), "listing.png", "image/png", "image/png"),
    (pdf(), "receipt.pdf", "application/pdf", "application/pdf"),
    (TEXT, "chat «log».txt", "text/plain", "text/plain"),
    (png(), "photo", "application/octet-stream", "image/png"),
]


def test_a_file_is_kept_with_its_hash_and_type_and_read_back_by_whoever_reads_the_case(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    items = []
    for content, name, declared, kind in KINDS:
        response = upload(client, case, content, name=name, content_type=declared,
                          reference="chat 77")
        assert response.status_code == 200, response.text
        item = response.json()["evidence"][-1]
        assert item["sha256"] == hashlib.sha256(content).hexdigest()
        assert (item["size"], item["content_type"], item["filename"]) == (
            len(content), kind, name)
        assert item["reference"] == "chat 77" and item["kind"] == "screenshot"
        assert item["file_url"] == f"/v1/disputes/{case['id']}/evidence/{item['id']}/file"
        items.append(item)
    assert len(stored(settings)) == len(KINDS)
    # The history proves what was submitted: each event's SHA-256 is its bytes' own.
    history = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR).json()
    added = [row["data"] for row in history["data"] if row["type"] == "EvidenceAdded"]
    assert [(a["sha256"], a["size"], a["content_type"]) for a in added] == [
        (hashlib.sha256(c).hexdigest(), len(c), kind) for c, _, _, kind in KINDS]

    text = items[2]
    for caller in (BUYER, SELLER, MODERATOR):
        response = client.get(text["file_url"], headers=caller)
        assert response.status_code == 200, response.text
        assert response.content == TEXT
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-length"] == str(len(TEXT))
        assert response.headers["content-disposition"] == (
            "attachment; filename=\"chat _log_.txt\"; "
            "filename*=UTF-8''chat%20%C2%ABlog%C2%BB.txt"
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
        assert response.headers["etag"] == f'"{text["sha256"]}"'
    pdf_file = client.get(items[1]["file_url"], headers=SELLER)
    assert pdf_file.content == pdf() and pdf_file.headers["content-type"] == "application/pdf"
    # Another buyer's or seller's case is not found, as the case itself; staff that may
    # not read cases are refused.
    assert_problem(client.get(text["file_url"], headers=OTHER_BUYER), 404)
    assert_problem(client.get(text["file_url"], headers=OTHER_SELLER), 404)
    assert_problem(client.get(text["file_url"], headers=ANALYST), 403)
    assert_problem(client.get(text["file_url"], headers=PLATFORM), 403)
    # Evidence without a file, or not on the case, has no file to fetch.
    described = client.post(f"/v1/disputes/{case['id']}/evidence", headers=BUYER,
                            json={"kind": "chat_log", "description": "the chat"})
    item = described.json()["evidence"][-1]
    assert item["file_url"] is None and item["sha256"] is None
    base = f"/v1/disputes/{case['id']}/evidence"
    assert_problem(client.get(f"{base}/{item['id']}/file", headers=BUYER), 404)
    assert_problem(client.get(f"{base}/ev-404/file", headers=BUYER), 404)


REFUSED = [
    (TEXT, "notes.png", "image/png", 415,
     "sent as image/png, but its content is text/plain"),
    (TEXT, "notes.png", "application/octet-stream", 415,
     "named 'notes.png', which says image/png, but its content is text/plain"),
    (png(), "shot.pdf", "application/pdf", 415,
     "sent as application/pdf, but its content is image/png"),
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif", "image/gif", 415,
     "reads as image/gif"),
    (b"\x00\x01\x02binary", "a.bin", "application/octet-stream", 415,
     "reads as application/octet-stream"),
    ("latin-1 caf\xe9".encode("latin-1"), "a.txt", "text/plain", 415,
     "reads as application/octet-stream"),
    (b"", "empty.txt", "text/plain", 422, "empty"),
]


@SQLITE_ONLY
def test_a_file_not_what_it_claims_of_a_type_not_taken_or_empty_is_refused(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    for content, name, declared, status, says in REFUSED:
        body = assert_problem(upload(client, case, content, name=name, content_type=declared),
                              status, field="file")
        assert says in body["detail"], (name, body)
    assert stored(settings) == set()
    assert client.get(f"/v1/disputes/{case['id']}", headers=BUYER).json()["evidence"] == []


@SQLITE_ONLY  # each store's own abort at the limit: tests/integration/test_blob_store.py
def test_a_file_past_the_limits_is_413_and_leaves_nothing(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    line = b"the same line of text, again and again\n"
    too_large = line * (MB // len(line) + 1)
    body = assert_problem(upload(client, case, too_large, name="big.txt"), 413, field="file")
    assert "at most 1 MB" in body["detail"]
    assert stored(settings) == set()
    # Two files of 0.9 MB fit the case's 2 MB; a third does not.
    most = line * (900_000 // len(line))
    assert upload(client, case, most, name="one.txt").status_code == 200
    assert upload(client, case, most, name="two.txt").status_code == 200
    body = assert_problem(upload(client, case, most, name="three.txt"), 413, field="file")
    assert "at most 2 MB together" in body["detail"]
    assert len(stored(settings)) == 2


@SQLITE_ONLY
def test_a_closed_case_or_a_stale_version_takes_no_file_and_stores_nothing(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    stale = {**BUYER, "If-Match": f'"{case["version"] + 5}"'}
    assert_problem(upload(client, case, png(), name="a.png", headers=stale), 412)
    closed = client.post(f"/v1/disputes/{case['id']}/close", headers=MODERATOR,
                         json={"reason": "order cancelled", "cancel_order": True})
    assert closed.status_code == 200, closed.text
    assert_problem(upload(client, case, png(), name="late.png"), 409)
    keyed = {**BUYER, "Idempotency-Key": "late-upload"}
    assert_problem(upload(client, case, png(), name="late.png", headers=keyed), 409)
    assert stored(settings) == set()


def test_a_retried_upload_answers_the_first_outcome_and_keeps_one_copy(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    keyed = {**BUYER, "Idempotency-Key": "upload-1"}
    first = upload(client, case, png(), name="a.png", headers=keyed)
    # The client draws a new multipart boundary for the retry: still the same request.
    again = upload(client, case, png(), name="a.png", headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["evidence"] == first.json()["evidence"]
    assert len(stored(settings)) == 1
    other = upload(client, case, pdf(), name="a.pdf", headers=keyed)
    assert_problem(other, 422, field="Idempotency-Key")
    assert len(stored(settings)) == 1
    # After the case closed, the retry still answers what the upload did.
    client.post(f"/v1/disputes/{case['id']}/close", headers=MODERATOR,
                json={"reason": "done", "cancel_order": True})
    late = upload(client, case, png(), name="a.png", headers=keyed)
    assert late.status_code == 200 and late.headers["idempotent-replayed"] == "true"
    assert len(stored(settings)) == 1


@SQLITE_ONLY
def test_a_database_that_does_not_answer_in_time_is_503(
    client: TestClient[Any], case: dict[str, Any], settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline middleware leaves uploads alone; each step that waits on the database
    keeps the budget every other route has."""
    admit = EvidenceFiles.admit

    def slow_admit(self: EvidenceFiles, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.4)
        return admit(self, *args, **kwargs)

    monkeypatch.setattr(evidence_routes, "BUDGET", 0.1)
    monkeypatch.setattr(EvidenceFiles, "admit", slow_admit)
    response = upload(client, case, png(), name="a.png")
    assert assert_problem(response, 503)["type"].endswith("/store-timeout")
    assert response.headers["retry-after"]
    assert stored(settings) == set()


@SQLITE_ONLY
def test_a_malformed_form_or_a_bad_field_is_refused_and_stores_nothing(
    client: TestClient[Any], case: dict[str, Any], settings: Settings
) -> None:
    path = f"/v1/disputes/{case['id']}/evidence"
    no_file = client.post(path, headers=BUYER, files={"kind": (None, "photo")},
                          data={"description": "x"})
    assert_problem(no_file, 400, field="file")
    no_kind = client.post(path, headers=BUYER, files={"file": ("a.png", png(), "image/png")},
                          data={"description": "x"})
    assert_problem(no_kind, 400, field="kind")
    assert_problem(upload(client, case, png(), name="a.png", colour="red"), 400,
                   field="colour")
    cut = client.post(path, content=b"--xyz\r\nContent-Disposition: form-data; name=\"kind\"",
                      headers={**BUYER, "content-type": "multipart/form-data; boundary=xyz"})
    assert_problem(cut, 400)
    no_boundary = client.post(path, content=b"x",
                              headers={**BUYER, "content-type": "multipart/form-data"})
    assert_problem(no_boundary, 400)
    assert_problem(upload(client, case, png(), name="a.png", kind="rumour"), 422, field="kind")
    assert_problem(upload(client, case, png(), name="a.png", headers=ANALYST), 403)
    assert_problem(upload(client, case, png(), name="a.png", headers=OTHER_BUYER), 404)
    assert stored(settings) == set()


@SQLITE_ONLY
def test_a_moderator_asks_for_evidence_and_the_partys_upload_answers(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    path = f"/v1/disputes/{case['id']}/evidence-requests"
    asked = client.post(path, headers=MODERATOR,
                        json={"party": "buyer", "description": "a photo of the listing"})
    assert asked.status_code == 200, asked.text
    [request] = asked.json()["evidence_requests"]
    assert request["party"] == "buyer" and request["open"] is True
    assert request["due_at"] > request["requested_at"]
    assert_problem(client.post(path, headers=BUYER, json={"party": "buyer",
                                                          "description": "x"}), 403)
    assert_problem(client.post(path, headers=MODERATOR, json={"party": "courier",
                                                              "description": "x"}), 422,
                   field="party")
    # The buyer answers with a form whose file comes first, named in UTF-8 (RFC 5987).
    form = (
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename*=UTF-8''caf%C3%A9.txt\r\nContent-Type: text/plain\r\n\r\nhello café\n\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nthe menu\r\n"
        "--XyZ--\r\n"
    ).encode()
    answered = client.post(f"/v1/disputes/{case['id']}/evidence", content=form, headers={
        **BUYER, "content-type": "multipart/form-data; boundary=XyZ"})
    assert answered.status_code == 200, answered.text
    [item] = answered.json()["evidence"]
    assert (item["filename"], item["content_type"]) == ("café.txt", "text/plain")
    [request] = answered.json()["evidence_requests"]
    assert request["open"] is False and request["evidence_id"] == item["id"]


@SQLITE_ONLY
def test_the_openapi_document_describes_uploads_and_downloads(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    add = paths["/v1/disputes/{dispute_id}/evidence"]["post"]
    content = add["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    form = content["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary"
    assert set(form["required"]) == {"file", "kind", "description"}
    assert {"413", "415"} <= set(add["responses"])
    fetch = paths["/v1/disputes/{dispute_id}/evidence/{evidence_id}/file"]["get"]
    assert fetch["operationId"] == "getEvidenceFile"
    assert {"Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy"} <= set(
        fetch["responses"]["200"]["headers"])
    assert "image/png" in fetch["responses"]["200"]["content"]
    asked = paths["/v1/disputes/{dispute_id}/evidence-requests"]["post"]
    assert asked["operationId"] == "requestEvidence"
