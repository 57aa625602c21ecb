"""The README's walk-through, run as written against a real ``disputedesk serve``.

The section "Walk-through: a case from order to final refund" of README.md is a
sequence of ```sh blocks. This test extracts them (``readme_blocks``, which
``test_readme_blocks`` uses to run the whole README), points them at a server of
its own (a fresh SQLite file; the README's ``http://127.0.0.1:8000`` becomes the
server's address) and runs them, in order, in one ``bash -euo pipefail``
session whose ``disputedesk`` is this checkout's and whose ``DISPUTEDESK_SECRET``
is the server's (so ``disputedesk token`` makes tokens the server accepts).

``curl`` is run with ``--fail-with-body``: a documented route that no longer
exists, or a body the API refuses, stops the walk-through with the problem
document. At the end the store must hold what the README says happened: one case,
ruled ``refund_partial``, overturned on appeal to ``refund_full``, paid in full
due by due, and closed with nothing owed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from interface.http.auth import issue_token
from tests.e2e.careful_client import ROOT, SECRET, Server, child_env
from tests.e2e.readme_blocks import DONE_MARK, Block, runnable_blocks, session_script

README = ROOT / "README.md"
SECTION = "Walk-through: a case from order to final refund"
#: The walk-through's steps, at least: a README that loses some fails here first.
MIN_BLOCKS = 12

pytestmark = pytest.mark.slow


def walkthrough_blocks(readme: str) -> list[Block]:
    """The ```sh blocks of the walk-through section, in order."""
    titles = [line for line in readme.splitlines() if line.strip() == f"## {SECTION}"]
    assert len(titles) == 1, f"README.md has {len(titles)} sections titled {SECTION!r}"
    blocks = runnable_blocks(readme, SECTION)
    assert len(blocks) >= MIN_BLOCKS, f"the walk-through has {len(blocks)} sh blocks"
    return blocks


def checkout_command(bin_dir: Path) -> None:
    """``bin_dir/disputedesk``: this checkout's command line, whatever else is installed."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "disputedesk"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec '{sys.executable}' -c 'from interface.cli import main; main()' \"$@\"\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@dataclass
class Run:
    returncode: int
    output: str
    server_log: str


def run_walkthrough(readme: str, workdir: Path, server: Server) -> Run:
    """Run the walk-through of ``readme`` in ``workdir`` against ``server`` (running)."""
    bin_dir = workdir / "bin"
    checkout_command(bin_dir)
    script = workdir / "walkthrough.sh"
    script.write_text(session_script(walkthrough_blocks(readme), server.base))
    env = child_env(server.database_url)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["DISPUTEDESK_LOG_FORMAT"] = "json"
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", str(script)], cwd=workdir, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=120, check=False,
    )
    return Run(completed.returncode, completed.stdout.decode(errors="replace"),
               server.log_tail())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    for tool in ("bash", "curl", "jq", "date"):
        if shutil.which(tool) is None:
            pytest.skip(f"the README's walk-through needs {tool}")
    running = Server(f"sqlite:///{tmp_path}/walkthrough.db", tmp_path / "server.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _get(http: httpx.Client, path: str, role: str, subject: str) -> Any:
    token = issue_token(SECRET, role, subject)
    response = http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


def _amount(money: dict[str, str]) -> Decimal:
    return Decimal(money["amount"])


def test_the_readme_walkthrough_runs_as_written(server: Server, tmp_path: Path) -> None:
    run = run_walkthrough(README.read_text(encoding="utf-8"), tmp_path / "shell", server)
    assert run.returncode == 0, (
        f"the README's walk-through failed (exit {run.returncode}):\n{run.output[-6000:]}\n"
        f"--- server log ---\n{run.server_log}"
    )
    assert DONE_MARK in run.output

    with httpx.Client(base_url=server.base, timeout=10.0) as http:
        feed = _get(http, "/v1/events?limit=500", "platform", "checker")
        assert feed["next_cursor"] is None, "a fresh store's feed fits one page"
        events = feed["data"]
        [created] = [e for e in events if e["type"] == "dispute.created"]
        dispute = created["dispute_id"]
        case = _get(http, f"/v1/disputes/{dispute}", "moderator", "checker")
        messages = _get(http, f"/v1/disputes/{dispute}/messages", "moderator", "checker")

    # The conversation: the buyer asked for an answer, the seller promised a date.
    contact, response = messages["data"]
    assert (contact["author_role"], contact["expects_reply"]) == ("buyer", True)
    assert response["author_role"] == "seller" and response["promised_ship_date"] is not None
    # The ship-by had passed; the buyer asked the platform with evidence; the ruling was
    # partial, the seller's appeal overturned it to a full refund by another moderator.
    types = [e["type"] for e in events]
    assert "dispute.deadline_missed" in types
    intervention = case["intervention"]
    assert intervention["evidence_ids"] and intervention["evidence_ids"][0] in {
        e["id"] for e in case["evidence"]
    }
    assert (intervention["outcome"], intervention["reason_code"]) == (
        "refund_partial", "not_shipped_in_time",
    )
    assert intervention["note"]  # public: the parties see it
    [decision] = case["appeal"]["decisions"]
    assert (decision["decision"], decision["outcome"], decision["appellants"]) == (
        "overturn", "refund_full", ["seller"],
    )
    assert decision["decided_by"] != intervention["ruled_by"]
    # Paid in full, due by due (the due id as the key), nothing owed, and closed.
    amount = _amount(case["amount"])
    dues = case["refund"]["dues"]
    assert [d["reason"] for d in dues] == ["ruling", "appeal"]
    assert [d["status"] for d in dues] == ["paid", "paid"]
    assert [d for d in dues if d["status"] == "open"] == []
    assert sum(_amount(d["amount"]) for d in dues) == amount
    assert _amount(case["refund"]["paid_amount"]) == amount
    paid = [e["data"] for e in events if e["type"] == "dispute.refund_paid"]
    assert sorted(p["due_id"] for p in paid) == sorted(d["due_id"] for d in dues)
    assert sum(_amount(p["amount"]) for p in paid) == amount
    assert case["status"] == "closed"
    assert types[-1] == "dispute.closed"
    assert not [e for e in events if e["type"] == "dispute.refund_due"
                and e["data"]["due_id"] not in {d["due_id"] for d in dues}]
