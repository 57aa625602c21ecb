"""GET /metrics: counters move by exactly what a scripted workload did; the token; gauges."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from application.disputes import DisputeDesk
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings, SettingsError
from interface.http.app import create_app
from tests.api.conftest import BUYER, ORDER, PLATFORM, SECRET, SELLER, assert_problem

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SHIPMENT = {"carrier": "UPS", "tracking_number": "1Z", "shipped_at": "2026-11-20T18:30:00Z"}


def scrape(client: TestClient[Any], headers: dict[str, str] | None = None) -> Samples:
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def test_counters_move_by_exactly_the_workload(
    client: TestClient[Any], desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    head_before = desk.recorder.max_notification_id() or 0
    before = scrape(client)
    assert total(before, "disputedesk_http_requests_total") == 0

    placed = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert placed.status_code == 201, placed.text
    manual_clock.advance(timedelta(hours=1))
    case_path = f"/v1/disputes/{placed.json()['id']}"
    assert client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=SELLER).status_code == 200
    # Shipping twice is refused by the case's state: a command that ends "refused".
    assert_problem(client.post("/v1/orders/o-1/shipments", json=SHIPMENT, headers=SELLER), 409)
    for _ in range(3):
        assert client.get(case_path, headers=BUYER).status_code == 200
    assert client.get(case_path).status_code == 401
    assert client.get(f"/nowhere/{placed.json()['id']}").status_code == 404

    after = scrape(client)
    requests = "disputedesk_http_requests_total"
    assert value(after, requests, method="POST", route="/v1/orders", status="201") == 1
    shipments = "/v1/orders/{order_id}/shipments"
    assert value(after, requests, method="POST", route=shipments, status="200") == 1
    assert value(after, requests, method="POST", route=shipments, status="409") == 1
    disputes = "/v1/disputes/{dispute_id}"
    assert value(after, requests, method="GET", route=disputes, status="200") == 3
    assert value(after, requests, method="GET", route=disputes, status="401") == 1
    assert value(after, requests, method="GET", route="unmatched", status="404") == 1
    assert value(after, requests, method="GET", route="/metrics", status="200") == 1  # the first
    assert total(after, requests) == 9
    # Labelled by template only: no raw path (with its id) ever becomes a label.
    assert not any(placed.json()["id"] in str(labels) for _, labels in after)
    latency = "disputedesk_http_request_duration_seconds_count"
    assert value(after, latency, method="GET", route=disputes) == 4

    commands = "disputedesk_commands_total"
    assert value(after, commands, command="place_order", outcome="ok") == 1
    assert value(after, commands, command="ship", outcome="ok") == 1
    assert value(after, commands, command="ship", outcome="refused") == 1
    assert total(after, commands) == 3

    appended = "disputedesk_events_appended_total"
    assert value(after, appended, event_type="OrderPlaced") == 1
    assert value(after, appended, event_type="OrderShipped") == 1
    head_after = desk.recorder.max_notification_id() or 0
    assert total(after, appended) == head_after - head_before  # every event, once
    assert value(after, "disputedesk_event_log_head") == head_after


def test_a_replayed_request_is_counted_as_replayed(client: TestClient[Any]) -> None:
    key = {**PLATFORM, "Idempotency-Key": "k-1"}
    assert client.post("/v1/orders", json=ORDER, headers=key).status_code == 201
    assert client.post("/v1/orders", json=ORDER, headers=key).status_code == 201
    samples = scrape(client)
    commands = "disputedesk_commands_total"
    # The retry is answered by the idempotency layer: no second command runs.
    assert value(samples, commands, command="place_order", outcome="ok") == 1
    assert value(samples, "disputedesk_idempotency_keys") == 1


@pytest.fixture
def guarded(desk: DisputeDesk, settings: Settings) -> Iterator[TestClient[Any]]:
    ops = dataclasses.replace(settings.ops, metrics_token="scrape-me-0123456789")
    with TestClient(create_app(desk, dataclasses.replace(settings, ops=ops))) as client:
        yield client


def test_a_metrics_token_when_set_is_required(guarded: TestClient[Any]) -> None:
    missing = guarded.get("/metrics")
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401)
    api_token = guarded.get("/metrics", headers=PLATFORM)  # an API token is not the one
    assert_problem(api_token, 401)
    scrape(guarded, {"Authorization": "Bearer scrape-me-0123456789"})
    # Probes stay open whatever the metrics token.
    assert guarded.get("/livez").status_code == 200


def test_without_a_token_setting_none_is_needed(client: TestClient[Any]) -> None:
    assert client.get("/metrics").status_code == 200


def test_due_events_not_yet_swept_show_as_sweeper_lag(
    client: TestClient[Any], manual_clock: ManualClock
) -> None:
    assert client.post("/v1/orders", json=ORDER, headers=PLATFORM).status_code == 201
    first = scrape(client)
    assert value(first, "disputedesk_sweeper_due_disputes") == 0
    manual_clock.advance(timedelta(days=30))  # every deadline of the order has passed
    # The projection records the order's next due instant shortly after the command.
    late = scrape(client)
    for _ in range(100):
        if value(late, "disputedesk_sweeper_due_disputes") == 1:
            break
        late = scrape(client)
    assert value(late, "disputedesk_sweeper_due_disputes") == 1
    assert value(late, "disputedesk_sweeper_oldest_due_seconds") > 0


def test_settings_read_the_operations_variables(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "DISPUTEDESK_SECRET": SECRET,
        "DISPUTEDESK_METRICS_TOKEN": "t0k",
        "DISPUTEDESK_READY_MAX_LAG": "50",
        "DISPUTEDESK_CORS_ORIGINS": "https://ops.example.com, http://localhost:5173",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    }, cwd=tmp_path)
    assert settings.ops.metrics_token == "t0k" and "t0k" not in repr(settings.ops)
    assert settings.ops.ready_max_lag == 50
    assert settings.ops.cors_origins == ("https://ops.example.com", "http://localhost:5173")
    assert settings.ops.traces_exporters == ("otlp",)
    plain = Settings.from_env({}, cwd=tmp_path).ops
    assert (plain.metrics_token, plain.ready_max_lag, plain.cors_origins,
            plain.traces_exporters) == (None, 1000, (), ())
    disabled = Settings.from_env({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"},
                                 cwd=tmp_path)
    assert disabled.ops.traces_exporters == ()
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
        Settings.from_env({"OTEL_TRACES_EXPORTER": "zipkin-nowhere"}, cwd=tmp_path)
