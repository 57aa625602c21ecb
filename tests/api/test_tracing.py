"""OpenTelemetry: one span per request, named by its route template; its log lines carry it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from application.disputes import DisputeDesk
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from interface.http.app import create_app
from tests.api.conftest import BUYER, ORDER, PLATFORM

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def traced(
    desk: DisputeDesk, settings: Settings
) -> Iterator[tuple[TestClient[Any], InMemorySpanExporter, io.StringIO]]:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(desk, settings, tracer_provider=provider)) as client:
        yield client, exporter, stream
    provider.shutdown()


def _request_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line.get("event") == "http.request"]


def test_one_span_per_request_named_by_its_route_and_in_its_log_line(
    traced: tuple[TestClient[Any], InMemorySpanExporter, io.StringIO],
) -> None:
    client, exporter, stream = traced
    placed = client.post("/v1/orders", json=ORDER, headers=PLATFORM)
    assert placed.status_code == 201
    dispute_id = placed.json()["id"]
    exporter.clear()
    stream.seek(0)
    stream.truncate()

    assert client.get(f"/v1/disputes/{dispute_id}?token=s3cret", headers=BUYER).status_code == 200
    assert client.get("/nowhere").status_code == 404

    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GET /v1/disputes/{dispute_id}", "GET"]
    assert all(span.kind is SpanKind.SERVER for span in spans)
    read, unrouted = spans
    assert read.attributes is not None
    assert read.attributes["http.route"] == "/v1/disputes/{dispute_id}"
    assert "s3cret" not in json.dumps(dict(read.attributes))

    [read_line, unrouted_line] = _request_lines(stream)
    assert read_line["path"] == f"/v1/disputes/{dispute_id}"
    assert read_line["query"] == "token=***"
    assert read_line["trace_id"] == format(read.context.trace_id, "032x")
    assert read_line["span_id"] == format(read.context.span_id, "016x")
    assert unrouted_line["trace_id"] == format(unrouted.context.trace_id, "032x")
    assert read_line["trace_id"] != unrouted_line["trace_id"]


def test_without_tracing_lines_carry_no_trace_id(
    client: TestClient[Any],
) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    assert client.get("/v1/policies/current", headers=BUYER).status_code == 200
    [line] = _request_lines(stream)
    assert "trace_id" not in line
