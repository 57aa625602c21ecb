"""``disputedesk orders load FILE``: JSON Lines or an array, outcomes summed up, exit status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from domain.dispute import dispute_id_for
from domain.errors import DisputeNotFound
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from interface.cli import app
from tests.api.conftest import ORDER

SECRET = "cli-orders-secret-0123456789abcdef0123456789"


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"DISPUTEDESK_DATABASE_URL": database_url, "DISPUTEDESK_SECRET": SECRET,
              "DISPUTEDESK_LOG_LEVEL": "WARNING"}
    monkeypatch.chdir(tmp_path)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def order(order_id: str, **changes: Any) -> dict[str, Any]:
    return {**ORDER, "order_id": order_id, **changes}


def recorded_buyers(env: dict[str, str], tmp_path: Path, *order_ids: str) -> list[str | None]:
    desk = build_application(Settings.from_env(env, cwd=tmp_path))
    try:
        buyers: list[str | None] = []
        for order_id in order_ids:
            try:
                buyers.append(desk.dispute(dispute_id_for(order_id)).buyer_id)
            except DisputeNotFound:
                buyers.append(None)
        return buyers
    finally:
        desk.close()


def test_a_json_lines_file_is_loaded_and_loading_it_again_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Given a file of 1,200 orders, one a line (more than one batch)
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(order(f"o-{n}")) + "\n" for n in range(1200)))
    # When it is loaded, twice
    first = CliRunner().invoke(app, ["orders", "load", str(path), "--batch", "500"])
    second = CliRunner().invoke(app, ["orders", "load", str(path)])
    # Then every order is created once, and the second load finds each unchanged
    assert first.exit_code == 0, first.output
    assert "1200 orders: 1200 created, 0 unchanged, 0 conflict, 0 invalid" in first.stdout
    assert second.exit_code == 0, second.output
    assert "1200 orders: 0 created, 1200 unchanged" in second.stdout
    assert recorded_buyers(env, tmp_path, "o-0", "o-1199") == ["b-1", "b-1"]


def test_invalid_and_conflicting_orders_are_listed_and_fail_the_exit_status(
    env: dict[str, str], tmp_path: Path
) -> None:
    # Given o-1 on record, and an array with a new order, o-1 changed and invalid ones
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([order("o-1")]))
    assert CliRunner().invoke(app, ["orders", "load", str(path)]).exit_code == 0
    path.write_text(json.dumps([order("o-2"), order("o-1", buyer_id="b-9"),
                                order("o-3", region="ZZ")]))
    # When it is loaded
    result = CliRunner().invoke(app, ["orders", "load", str(path)])
    # Then the good order is recorded, the others listed by place, and the status is 1
    assert result.exit_code == 1, result.output
    assert "3 orders: 1 created, 0 unchanged, 1 conflict, 1 invalid" in result.stdout
    assert ("line 2 (o-1): conflict: order o-1 is already recorded with another buyer_id"
            in result.stdout)
    assert "line 3 (o-3): invalid: region: unknown region 'ZZ'" in result.stdout
    assert recorded_buyers(env, tmp_path, "o-1", "o-2", "o-3") == ["b-1", "b-1", None]


def test_a_line_that_is_not_json_is_invalid_and_the_rest_load(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(order("o-1")) + "\n{not json\n" + json.dumps(order("o-2")) + "\n")
    result = CliRunner().invoke(app, ["orders", "load", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 2 (no order_id): invalid: not JSON" in result.stdout
    assert recorded_buyers(env, tmp_path, "o-1", "o-2") == ["b-1", "b-1"]
