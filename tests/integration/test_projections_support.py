"""Helpers shared by the projection tests (no tests here)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from application.disputes import DisputeDesk
from application.projections.catalog import READ_MODELS
from application.projections.ports import ReadModelStore
from application.projections.records import CURRENT, VersionInfo
from application.projections.runner import Projector
from application.projections.source import ApplicationSource
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from infrastructure.stores import tables
from infrastructure.stores.runtime import store_opener

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = Actor("platform", "feed")
MODERATOR = Actor("moderator", "m-1")


def settings_for(database_url: str) -> Settings:
    return Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})


def build(database_url: str, clock: ManualClock) -> DisputeDesk:
    return build_application(settings_for(database_url), clock=clock)


def store_for(app: DisputeDesk, database_url: str) -> ReadModelStore:
    return store_opener(app, settings_for(database_url))()


@contextmanager
def opened_store(app: DisputeDesk, database_url: str) -> Iterator[ReadModelStore]:
    store = store_for(app, database_url)
    try:
        yield store
    finally:
        store.close()


def catch_up(app: DisputeDesk, database_url: str, *, batch_size: int = 500) -> dict[str, int]:
    with opened_store(app, database_url) as store:
        projector = Projector(ApplicationSource(app), store, batch_size=batch_size)
        projector.handover()
        projector.catch_up()
        return projector.positions()


def place(app: DisputeDesk, order_id: str, *, buyer: str = "b-1", seller: str = "s-1",
          amount: str = "25.00", region: str = "US", category: str = "general") -> Any:
    view, _ = app.place_order(
        order_id=order_id, buyer_id=buyer, seller_id=seller, region=region, category=category,
        amount=Money.of(amount, app.current_policy().regions[region].currency or "USD"),
        placed_at=app.clock.now(), actor=PLATFORM,
    )
    return view


def current_versions(store: ReadModelStore) -> dict[str, VersionInfo]:
    return {v.name: v for v in store.versions() if v.status == CURRENT}


def _rows(store: ReadModelStore, sql: str) -> list[tuple[Any, ...]]:
    session: Any = store.session  # type: ignore[attr-defined]
    return [tuple(row) for row in session.fetchall(sql)]


def dump(store: ReadModelStore, versions: dict[str, int] | None = None) -> dict[str, Any]:
    """Every row of the given (default: current) versions, keyed by table base name."""
    if versions is None:
        versions = {name: info.version for name, info in current_versions(store).items()}
    found: dict[str, Any] = {}
    for name in READ_MODELS:
        for base in tables.MODEL_TABLES[name]:
            table = tables.table(base, versions[name])
            found[base] = sorted(_rows(store, f"SELECT * FROM {table}"), key=repr)
    # Counters that net to zero are kept as rows of zero; they mean the same as no row.
    found["rm_status_counts"] = [r for r in found["rm_status_counts"] if r[1]]
    return found


def lane_position(store: ReadModelStore, lane: str) -> int:
    return store.lane_position(lane)


def cli(database_url: str, *args: str, log_file: Path | None = None,
        extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``disputedesk ARGS`` as a child process (JSON logs to ``log_file``)."""
    env = {
        **os.environ,
        "DISPUTEDESK_DATABASE_URL": database_url,
        "DISPUTEDESK_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    stderr: Any = open(log_file, "ab") if log_file is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-c", "from interface.cli import main; main()", *args],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    finally:
        if log_file is not None:
            stderr.close()
