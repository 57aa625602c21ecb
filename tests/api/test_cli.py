"""The command line: token, policy show/publish, serve's refusals, settings errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
import typer
from typer.testing import CliRunner

from interface.cli import app
from interface.cli.serve import serve as serve_command
from interface.cli.token import parse_ttl

SECRET = "cli-tests-secret-0123456789abcdef0123456789"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
        "DISPUTEDESK_SECRET": SECRET,
        "DISPUTEDESK_LOG_FORMAT": "json",
    }
    monkeypatch.chdir(tmp_path)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from interface.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
        cwd=os.getcwd(),
    )


def test_token_prints_only_the_token(env: dict[str, str]) -> None:
    result = _run("token", "--role", "buyer", "--subject", "b-1", "--ttl", "30m")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["role"] == "buyer" and claims["sub"] == "b-1"
    assert claims["exp"] - claims["iat"] == 1800


@pytest.mark.parametrize(
    "args",
    [
        ["token", "--role", "admin", "--subject", "x"],
        ["token", "--role", "buyer", "--subject", " "],
        ["token", "--role", "buyer", "--subject", "x", "--ttl", "forever"],
    ],
)
def test_token_refuses_bad_arguments(env: dict[str, str], args: list[str]) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == "" or "Usage" not in result.stdout


def test_parse_ttl() -> None:
    assert parse_ttl("12h").total_seconds() == 43200
    assert parse_ttl("90").total_seconds() == 90
    assert parse_ttl("7d").days == 7
    with pytest.raises(ValueError):
        parse_ttl("0m")


def test_a_bad_setting_is_one_line_and_exit_2(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", "mysql://nope")
    result = _run("token", "--role", "buyer", "--subject", "b-1")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISPUTEDESK_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_policy_show_and_publish(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["policy", "show"])
    assert shown.exit_code == 0, shown.output
    assert 'version = "2027-01-default"' in shown.stdout
    as_json = runner.invoke(app, ["policy", "show", "2027-01-default", "--format", "json"])
    document = json.loads(as_json.stdout)
    assert document["version"] == "2027-01-default"

    document.update({"version": "2099-01", "effective_from": "2099-01-01T00:00:00Z"})
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps(document))
    published = runner.invoke(app, ["policy", "publish", str(candidate)])
    assert published.exit_code == 0, published.output
    assert published.stdout.strip() == "2099-01"
    again = runner.invoke(app, ["policy", "publish", str(candidate)])
    assert again.exit_code == 2
    assert "already published" in again.stderr

    toml_file = tmp_path / "shown.toml"
    toml_file.write_text(runner.invoke(app, ["policy", "show", "2099-01"]).stdout)
    assert "2099-01" in toml_file.read_text()


def test_policy_publish_reports_problems_on_stderr(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = "x"\n')
    result = CliRunner().invoke(app, ["policy", "publish", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "effective_from" in result.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n")
    assert CliRunner().invoke(app, ["policy", "publish", str(broken)]).exit_code == 2
    missing = CliRunner().invoke(app, ["policy", "show", "1999"])
    assert missing.exit_code == 2


def test_serve_refuses_several_workers_on_sqlite(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []

    def fake_run(app: object, **options: object) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr("interface.cli.serve.uvicorn.run", fake_run)
    result = CliRunner().invoke(
        app, ["serve", "--port", "8123", "--workers", "3"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "SQLite" in result.stderr and "1 worker" in result.stderr
    assert "http://127.0.0.1:8123" in result.stdout
    assert "disputedesk token --role buyer --subject b-1" in result.stdout
    assert len(calls) == 1 and "workers" not in calls[0]
    assert calls[0]["log_config"] is None
    assert serve_command.__doc__


def test_serve_runs_workers_on_postgres(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", postgres_url)
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(
        "interface.cli.serve.uvicorn.run",
        lambda app, **options: calls.append({"app": app, **options}),
    )
    result = CliRunner().invoke(app, ["serve", "--workers", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert calls == [{
        "app": "interface.http.app:app_from_env", "factory": True, "workers": 2,
        "host": "127.0.0.1", "port": 8000, "log_config": None, "access_log": False,
    }]


def test_project_help_documents_the_exit_status_of_once() -> None:
    group: Any = typer.main.get_command(app)
    project = group.commands["project"]
    (once,) = [param for param in project.params if param.name == "once"]
    assert "status 1" in once.help and "another worker" in once.help
    assert "Exit status" in project.help and "1 with --once" in project.help
