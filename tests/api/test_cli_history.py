"""``disputedesk import`` and ``disputedesk policy list``: history from before day one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.history_import.generate import generate
from interface.cli import app

SECRET = "cli-tests-secret-0123456789abcdef0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", f"sqlite:///{tmp_path}/events.db")
    monkeypatch.setenv("DISPUTEDESK_SECRET", SECRET)
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")


def publish_2025(tmp_path: Path) -> None:
    runner = CliRunner()
    document = json.loads(runner.invoke(app, ["policy", "show", "--format", "json"]).stdout)
    document.update(version="2025-history", effective_from="2025-01-01T00:00:00Z")
    path = tmp_path / "2025.json"
    path.write_text(json.dumps(document))
    published = runner.invoke(app, ["policy", "publish", str(path)])
    assert published.exit_code == 0, published.output


def test_policy_list_shows_every_version_oldest_effective_first(
    env: None, tmp_path: Path
) -> None:
    publish_2025(tmp_path)
    listed = CliRunner().invoke(app, ["policy", "list"])
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.splitlines()
    assert rows[0].split()[:2] == ["version", "effective"]
    assert [row.split()[0] for row in rows[1:]] == ["2025-history", "2027-01-default"]
    as_json = json.loads(CliRunner().invoke(app, ["policy", "list", "--json"]).stdout)
    assert as_json[0]["version"] == "2025-history"
    assert as_json[0]["published_by"] == {"role": "analyst", "id": "cli"}
    assert as_json[1]["effective_from"] == "2026-01-01T00:00:00Z"


def test_import_reports_refused_lines_and_records_nothing_the_second_time(
    env: None, tmp_path: Path
) -> None:
    publish_2025(tmp_path)
    source = io.BytesIO()
    history = generate(source, 30, seed=3)
    path = tmp_path / "history.jsonl"
    path.write_bytes(source.getvalue())
    runner = CliRunner()
    first = runner.invoke(app, ["import", str(path)])
    assert first.exit_code == 1, first.output
    reported = [line for line in first.stdout.splitlines() if line.startswith("line ")]
    assert [int(line.split()[1].rstrip(":")) for line in reported] == sorted(history.bad_lines)
    assert "30 created" in first.stdout
    second = runner.invoke(app, ["import", "-", "--json"], input=source.getvalue())
    assert second.exit_code == 1, second.output
    summary = json.loads(second.stdout)
    assert summary["orders_unchanged"] == 30
    assert summary["facts_recorded"] == summary["events_recorded"] == 0
    assert summary["facts_rejected"] == 5
    assert [r["line"] for r in summary["rejections"]] == sorted(history.bad_lines)


def test_import_of_clean_lines_exits_0_and_a_missing_file_2(env: None, tmp_path: Path) -> None:
    publish_2025(tmp_path)
    path = tmp_path / "clean.jsonl"
    generate(buffer := io.BytesIO(), 5, seed=4, bad=False)
    path.write_bytes(buffer.getvalue())
    done = CliRunner().invoke(app, ["import", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["orders_created"] == 5
    missing = CliRunner().invoke(app, ["import", str(tmp_path / "nowhere.jsonl")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
