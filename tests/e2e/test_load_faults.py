"""Load and faults, with nothing lost: a short run of bench.load against real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load.scenario import Config, run, summary
from tests.conftest import reset_postgres


@pytest.mark.postgres
def test_nothing_is_lost_under_load_and_faults(postgres_url: str, tmp_path: Path) -> None:
    reset_postgres(postgres_url)
    report = run(Config(database_url=postgres_url, workdir=tmp_path, seconds=15, users=100,
                        orders=120))
    print(summary(report))
    v = report["verification"]
    assert v["acked_commands"] > 100, summary(report)
    assert {f["fault"] for f in report["faults"]} == {
        "worker_sigkill", "worker_restart", "pg_terminate_backend"
    }
    # (a) every acknowledged command recorded exactly once
    assert v["lost_count"] == 0, v["lost"]
    assert v["duplicated_count"] == 0, v["duplicated"]
    assert v["repeated_texts"] == []
    # (b) no history has a gap
    assert v["history_gaps"] == []
    # (c) the read models caught up and equal a clean rebuild
    assert v["catch_up"]["caught_up"], v["catch_up"]
    assert v["list_version_mismatches"] == []
    assert v["read_models_differ"] == []
    # (d) no 5xx other than a read-model 503 with Retry-After
    assert {k: n for k, n in report["status_5xx"].items() if k != "503"} == {}, "\n".join(
        report["server_errors"]
    )
