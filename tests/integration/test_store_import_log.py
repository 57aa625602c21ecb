"""``disputedesk import-log``: verified, refused on a damaged file or a store in use,
resumable after an interruption; on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from application.log_import import ImportedEvent, LogImport
from application.log_import_file import scan
from application.store_export_format import Chain
from bench.projections.generate import generate
from infrastructure.bootstrap import build_application
from infrastructure.database_url import parse_database_url
from infrastructure.settings import Settings
from infrastructure.store_export_store import StoreImportTarget, open_event_store
from infrastructure.webhook_store import open_webhook_store
from interface.cli import app

END = "2026-11-30T00:00:00Z"
SECRET = "store-import-tests-secret-0123456789abcdef"


def invoke(url: str, *args: str) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISPUTEDESK_DATABASE_URL", url)
        patch.setenv("DISPUTEDESK_SECRET", SECRET)
        patch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
        return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of a small demo store (its events, two evidence files or more)."""
    where = tmp_path_factory.mktemp("source")
    url = f"sqlite:///{where}/source.db"
    made = invoke(url, "demo", "--orders", "60", "--seed", "2", "--end", END)
    assert made.exit_code == 0, made.output
    path = where / "source.jsonl"
    done = invoke(url, "export", str(path))
    assert done.exit_code == 0, done.output
    return path


def records(path: Path, kinds: Sequence[str] = ("event", "blob", "blob_chunk")
            ) -> list[dict[str, Any]]:
    with path.open("rb") as lines:
        found = [json.loads(line) for line in lines]
    for record in found:
        record.pop("chain", None)
    return [r for r in found if r["type"] in kinds]


def head(url: str) -> int:
    store = open_event_store(parse_database_url(url))
    try:
        return store.recorder.max_notification_id() or 0
    finally:
        store.close()


def assert_same_store(url: str, exported: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    done = invoke(url, "export", str(again))
    assert done.exit_code == 0, done.output
    assert records(again) == records(exported)


def test_an_export_imports_whole_and_keeps_ids_and_versions(
    database_url: str, exported: Path, tmp_path: Path
) -> None:
    done = invoke(database_url, "import-log", str(exported))
    assert done.exit_code == 0, done.output
    assert "notification ids kept" in done.stdout
    assert "disputedesk project --rebuild all" in done.stdout
    assert_same_store(database_url, exported, tmp_path)


@pytest.mark.parametrize(("damage", "line"), [
    ("change", 40), ("drop", 40), ("cut", None), ("after", None)])
def test_a_damaged_file_is_refused_at_its_line_and_nothing_is_written(
    database_url: str, exported: Path, tmp_path: Path, damage: str, line: int | None
) -> None:
    lines = exported.read_bytes().splitlines(keepends=True)
    if damage == "change":
        lines[39] = lines[39].replace(b'"originator_version":', b'"originator_version":1')
    elif damage == "drop":
        del lines[39]
    elif damage == "cut":
        lines = lines[:-1]
        line = len(lines) + 1
    else:
        lines.append(lines[1])
        line = len(lines)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"".join(lines))
    refused = invoke(database_url, "import-log", str(damaged))
    assert refused.exit_code == 2, refused.output
    assert f"line {line}:" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert head(database_url) == 0


def test_a_store_in_use_is_refused_with_one_line(database_url: str, exported: Path) -> None:
    build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})).close()
    before = head(database_url)
    assert before > 0  # the policy the application publishes when it starts
    refused = invoke(database_url, "import-log", str(exported))
    assert refused.exit_code == 2, refused.output
    assert "not empty" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert head(database_url) == before


class Interrupted(BaseException):
    """The process stopping mid-import (as a kill would)."""


class StopsAfter:
    """An import target that stops after ``batches`` transactions."""

    def __init__(self, target: StoreImportTarget, batches: int) -> None:
        self._target = target
        self._left = batches
        self.keeps_ids = target.keeps_ids

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def insert(self, events: Sequence[ImportedEvent], first_id: int) -> Sequence[int]:
        if self._left == 0:
            raise Interrupted
        self._left -= 1
        return self._target.insert(events, first_id)


def test_an_interrupted_import_continues_where_it_stopped(
    database_url: str, exported: Path, tmp_path: Path
) -> None:
    url = parse_database_url(database_url)
    with exported.open("rb") as source:
        facts = scan(source)
        source.seek(0)
        store = open_event_store(url)
        try:
            job = LogImport(StopsAfter(StoreImportTarget(store, url), 3), facts, batch=50)
            with pytest.raises(Interrupted):
                job.run(source)
        finally:
            store.close()
    assert head(database_url) == 150
    resumed = invoke(database_url, "import-log", str(exported))
    assert resumed.exit_code == 0, resumed.output
    assert f"{facts.events - 150:,} events" in resumed.stdout
    assert "150 were there already" in resumed.stdout
    assert_same_store(database_url, exported, tmp_path)


@pytest.fixture
def big_export(tmp_path: Path) -> Path:
    """An export of a few tens of thousands of events (the benchmarks' generator)."""
    url = f"sqlite:///{tmp_path}/big.db"
    desk = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url}))
    try:
        generate(desk, 30_000, seed=5)
    finally:
        desk.close()
    path = tmp_path / "big.jsonl"
    done = invoke(url, "export", str(path))
    assert done.exit_code == 0, done.output
    return path


@pytest.mark.slow
def test_an_import_killed_halfway_continues_when_run_again(
    database_url: str, big_export: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "DISPUTEDESK_DATABASE_URL": database_url,
           "DISPUTEDESK_SECRET": SECRET, "DISPUTEDESK_LOG_FORMAT": "json"}
    command = [sys.executable, "-c", "from interface.cli import main; main()", "import-log",
               str(big_export), "--batch-size", "100"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while child.poll() is None and head(database_url) < 2_000:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.communicate()
    killed_at = head(database_url)
    assert 0 < killed_at < len(records(big_export, ("event",))), "killed before it finished"
    resumed = invoke(database_url, "import-log", str(big_export))
    assert resumed.exit_code == 0, resumed.output
    assert f"{killed_at:,} were there already" in resumed.stdout
    assert_same_store(database_url, big_export, tmp_path)


def with_a_gap(exported: Path, path: Path, after: int, gap: int) -> None:
    """``exported`` with the ids after ``after`` moved up by ``gap`` (a log whose inserts
    once rolled back), plus a webhook endpoint and position naming ids past the gap."""
    chain = Chain()
    with exported.open("rb") as lines, path.open("wb") as out:
        for raw in lines:
            record = json.loads(raw)
            record.pop("chain", None)
            if record["type"] == "checksum":
                break
            if record["type"] == "event" and record["id"] > after:
                record["id"] += gap
            out.write(chain.line(record))
        endpoint = {"id": "ep-gap", "url": "https://hooks.example.com/in",
                    "event_types": '["dispute.opened"]', "description": "", "enabled": 1,
                    "disabled_reason": None, "created_at": 1.0e9, "created_position": 120,
                    "secrets": '["whsec_1"]', "previous_until": None, "failing_since": None}
        out.write(chain.line({"type": "webhook_endpoint", "row": endpoint}))
        out.write(chain.line({"type": "webhook_position", "name": "fanout", "position": 150}))
        out.write(chain.checksum())


def test_ids_with_gaps_are_kept_on_postgresql_and_renumbered_in_order_on_sqlite(
    database_url: str, exported: Path, tmp_path: Path
) -> None:
    gapped = tmp_path / "gapped.jsonl"
    with_a_gap(exported, gapped, after=100, gap=7)
    done = invoke(database_url, "import-log", str(gapped), "--batch-size", "40")
    assert done.exit_code == 0, done.output
    postgres = database_url.startswith("postgresql")
    events = records(gapped, ("event",))
    again = tmp_path / "again.jsonl"
    assert invoke(database_url, "export", str(again)).exit_code == 0
    moved = records(again, ("event",))
    if postgres:
        assert "notification ids kept" in done.stdout
        assert moved == events
    else:
        assert "renumbered" in done.stdout
        assert [e["id"] for e in moved] == list(range(1, len(events) + 1))
        assert [{**e, "id": 0} for e in moved] == [{**e, "id": 0} for e in events]
    hooks = open_webhook_store(parse_database_url(database_url))
    try:
        # 150 and 120 in the file; on a renumbered store, the ids of the same events.
        assert hooks.position() == (150 if postgres else 143)
        assert [e.created_position for e in hooks.endpoints()] == [120 if postgres else 113]
    finally:
        hooks.close()


def test_a_range_of_recorded_times_keeps_those_events_and_is_not_importable(
    database_url: str, exported: Path, tmp_path: Path
) -> None:
    events = records(exported, ("event",))
    stamps = sorted({datetime.fromisoformat(e["recorded_at"]) for e in events})
    start, stop = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]
    ranged = tmp_path / "ranged.jsonl"
    done = invoke(f"sqlite:///{exported.parent / 'source.db'}", "export", str(ranged),
                  "--from", start.isoformat(), "--to", stop.isoformat())
    assert done.exit_code == 0, done.output
    assert records(ranged, ("event",)) == [
        e for e in events if start <= datetime.fromisoformat(e["recorded_at"]) < stop]
    refused = invoke(database_url, "import-log", str(ranged))
    assert refused.exit_code == 2, refused.output
    assert "line 1: the file holds a range" in refused.stderr
    assert head(database_url) == 0
