"""Moving a demo store from SQLite to PostgreSQL: export, import-log, project --rebuild.

Every case (its view and its history through the application), every read model,
the evidence files' bytes, webhook endpoints with their position and pending
deliveries, and idempotency keys must be the same on both stores afterwards.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from application.disputes import DisputeDesk
from application.idempotency import CaseOutcome
from application.projections.records import DisputeQuery, QueueQuery, SellerQuery
from application.webhooks import Endpoint, NewDelivery
from domain.dispute import Actor, Dispute
from infrastructure.blob_store import open_blob_store
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.database_url import parse_database_url
from infrastructure.idempotency_store import open_idempotency_store
from infrastructure.settings import Settings
from infrastructure.stores import open_reader
from infrastructure.webhook_store import open_webhook_store
from interface.cli import app
from tests.conftest import reset_postgres

END = "2026-11-30T00:00:00Z"
MODERATOR = Actor("moderator", "mod-move")
NOW = 1_796_000_000_000_000  # an instant (µs) after the demo's end, for time-dependent reads


def cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", url)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_SECRET", "store-move-tests-secret-0123456789abcdef")
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")


def add_webhooks_and_keys(url: str) -> None:
    """What a served store holds beside its events: an endpoint, its position, a
    pending delivery and an idempotency key."""
    database = parse_database_url(url)
    hooks = open_webhook_store(database)
    now = datetime.now(UTC)
    try:
        hooks.add_endpoint(Endpoint("ep-move", "https://hooks.example.com/in",
                                    ("dispute.opened",), "the move test", True, now,
                                    secrets=("whsec_one",)))
        assert hooks.fan_out(0, 40, [NewDelivery("ep-move", 37, "dispute.opened",
                                                 "d-37", '{"id": 37}')],
                             now, frozenset({"ep-move"}))
    finally:
        hooks.close()
    keys = open_idempotency_store(database)
    try:
        assert keys.reserve("platform:feed", "key-1", "fp", "claim", now,
                            stale_before=now) is None
        keys.complete("platform:feed", "key-1", "claim",
                      CaseOutcome(201, (("etag", '"3"'),), "d-1", 3, position=12))
    finally:
        keys.close()


def dispute_ids(desk: DisputeDesk) -> list[UUID]:
    found: list[UUID] = []
    start = 1
    while page := desk.recorder.select_notifications(start, 500,
                                                     topics=[Dispute.OrderPlaced.TOPIC]):
        found += [UUID(str(n.originator_id)) for n in page]
        start = page[-1].id + 1
    return found


def cases(url: str) -> dict[UUID, Any]:
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}),
                             clock=ManualClock(datetime.fromisoformat(END)))
    try:
        return {d: (desk.case(d, MODERATOR), desk.history(d, MODERATOR))
                for d in dispute_ids(desk)}
    finally:
        desk.close()


def read_models(url: str) -> dict[str, Any]:
    reader = open_reader(parse_database_url(url))
    try:
        disputes: list[Any] = []
        after = None
        while rows := reader.list_disputes(DisputeQuery(after=after, limit=100)).value:
            disputes += rows
            after = (rows[-1].placed_at, rows[-1].dispute_id)
        sellers = reader.sellers(SellerQuery(now=NOW, limit=100)).value
        return {
            "disputes": disputes,
            "queue": reader.moderation_queue(QueueQuery(limit=100, now=NOW)).value,
            "sellers": sellers,
            "scorecards": {s.seller_id: reader.seller_figures(s.seller_id, NOW).value
                           for s in sellers},
            "metrics": reader.metrics().value,
            "position": reader.position(),
        }
    finally:
        reader.close()


def beside_events(url: str, blob_ids: list[str]) -> dict[str, Any]:
    database = parse_database_url(url)
    hooks, keys = open_webhook_store(database), open_idempotency_store(database)
    blobs = open_blob_store(database)
    now = datetime.now(UTC)
    try:
        return {
            "endpoints": hooks.endpoints(),
            "position": hooks.position(),
            "deliveries": hooks.deliveries("ep-move", None, 10),
            "key": keys.reserve("platform:feed", "key-1", "fp", "other", now, stale_before=now),
            "blobs": {blob_id: b"".join(blobs.open(blob_id)) for blob_id in blob_ids},
        }
    finally:
        hooks.close()
        keys.close()


def exported_blob_ids(path: Path) -> list[str]:
    with path.open("rb") as lines:
        return [r["blob_id"] for r in map(json.loads, lines) if r["type"] == "blob"]


def test_a_demo_store_moves_from_sqlite_to_postgresql_in_three_commands(
    env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    source = f"sqlite:///{tmp_path}/var/disputedesk.db"
    cli(monkeypatch, source, "demo", "--orders", "300", "--seed", "1", "--end", END)
    add_webhooks_and_keys(source)
    cli(monkeypatch, source, "project", "--rebuild", "all")
    reset_postgres(postgres_url)
    export = tmp_path / "store.jsonl"

    cli(monkeypatch, source, "export", str(export))
    said = cli(monkeypatch, postgres_url, "import-log", str(export))
    cli(monkeypatch, postgres_url, "project", "--rebuild", "all")

    assert "notification ids kept" in said
    assert "disputedesk project --rebuild all" in said
    blob_ids = exported_blob_ids(export)
    assert blob_ids, "the demo uploads evidence files"
    before, after = cases(source), cases(postgres_url)
    assert len(before) == 300
    assert after == before
    assert read_models(postgres_url) == read_models(source)
    moved = beside_events(postgres_url, blob_ids)
    assert moved == beside_events(source, blob_ids)
    assert [e.id for e in moved["endpoints"]] == ["ep-move"]
    assert moved["position"] == 40
    assert moved["key"] is not None and moved["key"].outcome.position == 12

    back, home = tmp_path / "back.jsonl", f"sqlite:///{tmp_path}/home/disputedesk.db"
    cli(monkeypatch, postgres_url, "export", str(back))
    cli(monkeypatch, home, "import-log", str(back))
    assert beside_events(home, blob_ids) == moved

