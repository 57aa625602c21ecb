"""``disputedesk token --supervisor`` and ``disputedesk audit`` (the access audit read
from the store, filtered as the API filters it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import jwt
import pytest
from typer.testing import CliRunner

from application.access_audit import AccessRecord, Channel, Read
from infrastructure.access_audit_store import access_log_at
from infrastructure.database_url import parse_database_url
from interface.cli import app

SECRET = "cli-audit-secret-0123456789abcdef0123456789"
CASE = UUID(int=5)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/events.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", url)
    monkeypatch.setenv("DISPUTEDESK_SECRET", SECRET)
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
    return url


def test_token_supervisor_is_for_moderators_only(database: str) -> None:
    made = CliRunner().invoke(app, ["token", "--role", "moderator", "--subject", "m-9",
                                    "--supervisor"])
    refused = CliRunner().invoke(app, ["token", "--role", "buyer", "--subject", "b-1",
                                       "--supervisor"])

    assert made.exit_code == 0, made.output
    assert jwt.decode(made.stdout.strip(), SECRET, algorithms=["HS256"])["supervisor"] is True
    assert refused.exit_code == 2 and "moderators only" in refused.output


def test_audit_prints_the_reads_newest_first_filtered(database: str) -> None:
    at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with access_log_at(parse_database_url(database)) as log:
        for moderator, read, evidence in (("m-1", Read.HISTORY, None),
                                          ("m-2", Read.HISTORY, None),
                                          ("m-1", Read.EVIDENCE_FILE, "ev-3")):
            log.record(AccessRecord(at, "moderator", moderator, CASE, read, Channel.API,
                                    evidence, "req"))

    as_json = CliRunner().invoke(app, ["audit", "--moderator", "m-1", "--json"])
    table = CliRunner().invoke(app, ["audit", "--dispute", str(CASE), "--limit", "2"])
    bad = CliRunner().invoke(app, ["audit", "--dispute", "not-a-uuid"])

    assert as_json.exit_code == 0, as_json.output
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(row["actor_id"], row["read"], row["evidence_id"]) for row in rows] == [
        ("m-1", "evidence_file", "ev-3"), ("m-1", "history", None)]
    assert rows[0]["at"] == "2026-11-21T09:00:00Z" and rows[0]["dispute_id"] == str(CASE)
    assert table.exit_code == 0, table.output
    assert "evidence_file ev-3" in table.stdout and "m-2" in table.stdout
    assert table.stdout.count(str(CASE)) == 2
    assert bad.exit_code == 2 and "UUID" in bad.output
