"""POST /v1/simulations and ``disputedesk simulate``: one report, two interfaces."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar.testing import TestClient
from schemathesis.generation.modes import GenerationMode
from typer.testing import CliRunner

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.idempotency_store import open_idempotency_store
from infrastructure.settings import Settings
from interface.cli import app as cli_app
from interface.cli import simulate as simulate_cli
from interface.http.app import create_app
from tests.api.conftest import ANALYST, BUYER, MODERATOR, PLATFORM, SECRET, assert_problem
from tests.integration.test_simulator_support import (
    AS_OF,
    CHANGES,
    assert_known_answers,
    build_history,
)

URL = "/v1/simulations"


@pytest.fixture
def history(desk: DisputeDesk, manual_clock: ManualClock) -> DisputeDesk:
    build_history(desk, manual_clock)
    return desk


def test_given_history_when_analyst_simulates_then_report(
    client: TestClient[Any], history: DisputeDesk
) -> None:
    response = client.post(URL, json={"changes": CHANGES}, headers=ANALYST)
    assert response.status_code == 200, response.text
    report = response.json()
    assert_known_answers(report)
    for field in (
        "as_of", "baseline_policy_version", "candidate_policy_version", "events_replayed",
        "disputes", "derived", "changed_disputes", "retimed_disputes",
        "counterfactual_disputes", "counterfactual_facts", "baseline_matches_recorded",
        "sellers", "samples", "refund_exposure", "mismatched_disputes", "filters",
    ):
        assert field in report
    assert report["candidate_policy_version"] == "2027-01-default+candidate"
    [refused] = [s for s in report["samples"] if s["counterfactual"]]
    assert refused["impossible_fact"]["type"] == "RefundDenied"
    assert refused["change"] == "changed"


def test_given_whole_policy_and_filters_then_report_for_those_orders(
    client: TestClient[Any], history: DisputeDesk
) -> None:
    document = history.current_policy().with_changes(CHANGES, version="cand-1").to_document()
    body = {"policy": document, "region": "US", "as_of": AS_OF.isoformat()}
    response = client.post(URL, json=body, headers=ANALYST)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["candidate_policy_version"] == "cand-1"
    assert report["disputes"] == 5
    assert report["filters"]["region"] == "US"


@pytest.mark.parametrize("headers", [BUYER, MODERATOR, PLATFORM])
def test_given_other_roles_then_403(client: TestClient[Any], headers: dict[str, str]) -> None:
    assert_problem(client.post(URL, json={"changes": CHANGES}, headers=headers), 403)


def test_given_no_token_then_401(client: TestClient[Any]) -> None:
    assert_problem(client.post(URL, json={"changes": CHANGES}), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"changes": {"regions.US.ship_within_business_days": 0}},
         "regions.US.ship_within_business_days"),
        ({"changes": {"defaults.ship_within_busines_days": 3}},
         "defaults.ship_within_busines_days"),
        ({"changes": {"regions.US.ship_within_business_days": 9}},
         "defaults.auto_cancel_after_business_days"),
        ({"policy": {"version": "x"}}, "effective_from"),
        ({}, "policy"),
        ({"changes": CHANGES, "policy": {}}, "policy"),
        ({"changes": CHANGES, "as_of": "2027-01-01T00:00:00Z"}, "as_of"),
        ({"changes": CHANGES, "as_of": "2026-12-01T00:00:00"}, None),
        ({"changes": CHANGES, "placed_from": "2026-12-01T00:00:00Z",
          "placed_to": "2026-11-01T00:00:00Z"}, "placed_from"),
    ],
)
def test_given_invalid_request_then_422_naming_the_problem(
    client: TestClient[Any], body: dict[str, Any], field: str | None
) -> None:
    response = client.post(URL, json=body, headers=ANALYST)
    problem = assert_problem(response, 422, field=field)
    assert problem["detail"]


def test_given_every_problem_of_a_candidate_then_all_listed(
    client: TestClient[Any], desk: DisputeDesk
) -> None:
    document = desk.current_policy().to_document()
    document["defaults"]["ship_within_business_days"] = 0
    document["regions"]["US"]["timezone"] = "Mars/Olympus"
    problem = assert_problem(client.post(URL, json={"policy": document}, headers=ANALYST), 422)
    fields = {error["field"] for error in problem["errors"]}
    assert {"defaults.ship_within_business_days", "regions.US.timezone"} <= fields


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"changes": [1, 2]}', b'{"changes": {}, "unknown": 1}'],
)
def test_given_malformed_body_then_400(client: TestClient[Any], body: bytes) -> None:
    response = client.post(
        URL, content=body, headers={**ANALYST, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_simulation_is_in_the_openapi_document(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    operation = schema["paths"][URL]["post"]
    assert "analyst" in operation["description"]
    assert {"200", "422", "403"} <= set(operation["responses"])


# ---- the command line ---------------------------------------------------------------


@pytest.fixture
def cli_env(
    settings: Settings, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISPUTEDESK_SECRET", SECRET)
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
    # The command builds its application like every command does, on the test's clock.
    monkeypatch.setattr(
        simulate_cli, "open_application", lambda s: build_application(s, clock=manual_clock)
    )


SET_ARGS = [arg for key, value in CHANGES.items() for arg in ("--set", f"{key}={value}")]


def test_cli_json_is_exactly_the_api_report(
    client: TestClient[Any], history: DisputeDesk, cli_env: None
) -> None:
    body = {"changes": CHANGES, "region": "US", "as_of": AS_OF.isoformat()}
    api = client.post(URL, json=body, headers=ANALYST)
    assert api.status_code == 200, api.text
    result = CliRunner().invoke(
        cli_app,
        ["simulate", *SET_ARGS, "--region", "US", "--as-of", AS_OF.isoformat(), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api.json()


def test_cli_tables_and_html_report(history: DisputeDesk, cli_env: None, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = CliRunner().invoke(cli_app, ["simulate", *SET_ARGS, "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "Derived events" in result.stdout and "DeadlineMissed" in result.stdout
    text = page.read_text("utf-8")
    assert text.count("<svg") == 2
    assert "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text and "<script" not in text
    parser = HTMLParser()
    parser.feed(text)
    parser.close()


def test_cli_policy_file_equals_set_changes(
    history: DisputeDesk, cli_env: None, tmp_path: Path
) -> None:
    document = history.current_policy().with_changes(CHANGES).to_document()
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(document), "utf-8")
    by_file = CliRunner().invoke(cli_app, ["simulate", "--policy", str(path), "--json"])
    by_set = CliRunner().invoke(cli_app, ["simulate", *SET_ARGS, "--json"])
    assert by_file.exit_code == by_set.exit_code == 0, by_file.output + by_set.output
    assert json.loads(by_file.stdout) == {**json.loads(by_set.stdout), "changes": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "regions.US.ship_within_business_days=0"], "must be an integer >= 1"),
        (["--set", "nothing"], "key=value"),
        ([], "either"),
        (["--set", "defaults.review_window_days=5", "--as-of", "2026-12-01"], "UTC offset"),
        (["--set", "defaults.review_window_days=5", "--as-of", "2031-01-01T00:00:00Z"],
         "future"),
        (["--policy", "/nonexistent/candidate.toml"], "cannot read"),
    ],
)
def test_cli_refuses_bad_input_with_one_message(
    desk: DisputeDesk, cli_env: None, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli_app, ["simulate", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# ---- property-based: nothing an analyst sends makes it fail -----------------------------


def test_no_simulation_request_makes_the_server_fail(
    desk: DisputeDesk, settings: Settings, manual_clock: ManualClock
) -> None:
    build_history(desk, manual_clock)
    store = open_idempotency_store(settings.database)
    app = create_app(desk, settings, idempotency_store=store)
    try:
        schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
        operation = schema["/v1/simulations"]["POST"]
        statuses: set[int] = set()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, headers=ANALYST)

            @given(case=strategy)
            @hypothesis_settings(
                max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True, database=None,
            )
            def run(case: Any) -> None:
                response = case.call()
                assert response.status_code < 500, response.text[:500]
                statuses.add(response.status_code)
                if response.status_code == 200:
                    case.validate_response(response)

            run()
        assert {400, 422} <= statuses, statuses
    finally:
        store.close()
