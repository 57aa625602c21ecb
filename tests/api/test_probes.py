"""/livez, /readyz and /health: readiness follows the projections' lag, liveness does not."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.settings import Settings
from infrastructure.stores.runtime import Projections
from interface.http.app import create_app
from tests.api.conftest import ORDER, PLATFORM


class StoppedProjections:
    """A projection worker that never runs: the read models stay where they are."""

    running = False

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


@pytest.fixture
def stalled(desk: DisputeDesk, settings: Settings) -> Iterator[tuple[TestClient[Any], int]]:
    """An app whose projections do not run, ready while at most one more event is recorded."""
    max_lag = (desk.recorder.max_notification_id() or 0) + 1
    ops = dataclasses.replace(settings.ops, ready_max_lag=max_lag)
    app = create_app(desk, dataclasses.replace(settings, ops=ops),
                     projections=StoppedProjections())  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client, max_lag


def test_readyz_turns_503_past_the_lag_bound_while_livez_stays_200(
    stalled: tuple[TestClient[Any], int], desk: DisputeDesk
) -> None:
    client, max_lag = stalled
    assert client.get("/readyz").json() == {"status": "ok", "store": "ok"}
    for n in range(2):
        order = {**ORDER, "order_id": f"o-{n}"}
        assert client.post("/v1/orders", json=order, headers=PLATFORM).status_code == 201
    head = desk.recorder.max_notification_id() or 0
    assert head > max_lag

    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert (body["status"], body["store"], body["max_lag"]) == ("unavailable", "ok", max_lag)
    assert set(body["projections"]) == {"disputes", "scorecard", "metrics"}
    assert body["projections"]["disputes"] == {"position": 0, "lag": head, "ready": False}
    assert client.get("/health").json() == body  # the alias answers the same
    assert client.get("/health").status_code == 503

    live = client.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_readyz_recovers_once_the_projections_catch_up(
    stalled: tuple[TestClient[Any], int], desk: DisputeDesk, settings: Settings
) -> None:
    client, _ = stalled
    for n in range(2):
        order = {**ORDER, "order_id": f"o-{n}"}
        assert client.post("/v1/orders", json=order, headers=PLATFORM).status_code == 201
    assert client.get("/readyz").status_code == 503
    worker = Projections(desk, settings)
    worker.start()
    try:
        for _ in range(400):  # bounded: the worker catches up with a handful of events
            answer = client.get("/readyz")
            if answer.status_code == 200:
                break
            time.sleep(0.05)
        assert answer.status_code == 200 and answer.json() == {"status": "ok", "store": "ok"}
    finally:
        worker.stop()


def test_probes_need_no_token_and_are_in_the_schema(client: TestClient[Any]) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path, operation_id in (("/livez", "getLivez"), ("/readyz", "getReadyz"),
                               ("/health", "getHealth")):
        operation = paths[path]["get"]
        assert operation["operationId"] == operation_id
        assert operation["tags"] == ["health"]
    assert "/metrics" not in paths
