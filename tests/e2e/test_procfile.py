"""The repository's Procfile, run by honcho against a fresh PostgreSQL database.

The deployment example must run as shipped: ``honcho start`` with the Procfile
at the repository's root starts ``serve`` (webhooks left to ``deliver``),
``project``, ``sweep`` and ``deliver`` against one database. The test places an
order and drives a command over HTTP, reads the case back from the disputes
view once the ``project`` process (the active projection worker; the servers'
own wait as standbys) has folded the command's event, receives the webhooks the
``deliver`` process sends to a local receiver, sees the sweep loop run, and
stops honcho with SIGTERM: every process must stop by itself with status 0.
The systemd units under ``deploy/`` (documentation: these machines have no
systemd as PID 1) must name the same processes and pass ``systemd-analyze
verify`` where it is installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.load.scenario import free_port
from bench.webhooks.receiver import Receiver
from interface.http.auth import issue_token
from tests.conftest import reset_postgres
from tests.e2e.careful_client import ROOT, SECRET, child_env

PROCFILE = ROOT / "Procfile"
DEPLOY = ROOT / "deploy"
PROCESSES = {"serve", "project", "sweep", "deliver"}
#: honcho's own line when a process ends: ``serve.1 stopped (rc=0)``.
STOPPED = re.compile(r"system\s+\| (\w+)\.\d+ stopped \(rc=(-?\d+)\)")

pytestmark = pytest.mark.slow


def procfile_processes(text: str) -> dict[str, str]:
    """``name: command`` lines, as honcho reads them (comments and blanks ignored)."""
    found = re.findall(r"^([A-Za-z0-9_-]+):\s*(.+)$", text, re.M)
    return {name: command for name, command in found}


def honcho() -> str:
    installed = Path(sys.executable).parent / "honcho"
    found = str(installed) if installed.exists() else shutil.which("honcho")
    if found is None:
        pytest.fail("honcho is not installed (it is a dev requirement)", pytrace=False)
    return found


class Honcho:
    """``honcho start`` in a process group of its own, its output in a file."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "honcho.log"
        empty_env_file = workdir / "empty.env"  # never read a developer's .env
        empty_env_file.write_text("")
        env = child_env(database_url)
        env.update({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
            "SWEEP_INTERVAL": "2",
        })
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [honcho(), "start", "--no-colour", "-f", str(PROCFILE), "-d", str(ROOT),
                 "-e", str(empty_env_file), "-p", str(self.port)],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines_of(self, process: str) -> list[str]:
        return [line for line in self.output().splitlines() if f" {process}.1 " in line]

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"{what}: not within {timeout} s\n--- honcho ---\n{self.output()[-6000:]}")

    def healthy(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.base}/health", timeout=2.0).status_code == 200
        return False

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM to honcho (as a supervisor stops it); its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"honcho did not stop within {timeout} s:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def deployment(postgres_url: str, tmp_path: Path) -> Iterator[Honcho]:
    reset_postgres(postgres_url)
    running = Honcho(postgres_url, tmp_path)
    try:
        running.wait_until("GET /health answered 200", running.healthy, timeout=90)
        yield running
    finally:
        if running.process.poll() is None:
            running.kill()


def _headers(role: str, subject: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role, subject)}", **extra}


def _post(http: httpx.Client, path: str, body: dict[str, Any], role: str, subject: str,
          key: str) -> dict[str, Any]:
    response = http.post(path, json=body, headers=_headers(role, subject, **{
        "Idempotency-Key": key}))
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_procfile_names_the_four_processes_and_leaves_webhooks_to_deliver() -> None:
    processes = procfile_processes(PROCFILE.read_text(encoding="utf-8"))
    assert set(processes) == PROCESSES
    assert "DISPUTEDESK_DELIVER_IN_SERVE=0" in processes["serve"]
    assert "DISPUTEDESK_DELIVER_IN_SERVE" not in processes["deliver"]


def test_the_systemd_units_run_the_same_processes_and_verify() -> None:
    units = sorted(DEPLOY.glob("disputedesk*.service")) + sorted(DEPLOY.glob("*.timer"))
    assert {u.name for u in units} >= {f"disputedesk-{p}.service" for p in PROCESSES}
    for name in PROCESSES:
        unit = (DEPLOY / f"disputedesk-{name}.service").read_text(encoding="utf-8")
        assert f"disputedesk {name}" in unit, f"disputedesk-{name}.service runs something else"
    serve = (DEPLOY / "disputedesk-serve.service").read_text(encoding="utf-8")
    assert "DISPUTEDESK_DELIVER_IN_SERVE=0" in serve
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    verified = subprocess.run(
        [analyze, "verify", "--man=no", *(str(u) for u in [*units, DEPLOY / "disputedesk.target"])],
        cwd=DEPLOY, capture_output=True, text=True, timeout=60, check=False,
    )
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


def test_the_procfile_runs_under_honcho_on_one_postgres(
    deployment: Honcho, receiver: Receiver
) -> None:
    with httpx.Client(base_url=deployment.base, timeout=15.0) as http:
        registered = http.post(
            "/v1/webhook-endpoints", headers=_headers("platform", "shop-1"),
            json={"url": receiver.url,
                  "event_types": ["dispute.created", "dispute.seller_contacted"]},
        )
        assert registered.status_code == 201, registered.text
        receiver.secrets.append(registered.json()["secret"])

        placed_at = (datetime.now(UTC) - timedelta(days=7)).isoformat()
        case = _post(http, "/v1/orders", {
            "order_id": "procfile-1", "buyer_id": "b-1", "seller_id": "s-1",
            "region": "US", "category": "general",
            "amount": {"amount": "25.00", "currency": "USD"}, "placed_at": placed_at,
        }, "platform", "shop-1", "procfile-order-1")
        dispute = case["id"]
        contacted = _post(http, f"/v1/disputes/{dispute}/seller-contacts", {
            "message": "Has it shipped?", "channel": "chat", "expects_reply": True,
        }, "buyer", "b-1", "procfile-contact-1")

        # The disputes view includes the command's event once `project` folded it.
        listed = http.get("/v1/disputes", params={"min_position": contacted["position"]},
                          headers=_headers("moderator", "m-1"))
        assert listed.status_code == 200, listed.text
        [row] = [r for r in listed.json()["data"] if r["id"] == dispute]
        assert (row["order_id"], row["status"]) == ("procfile-1", "awaiting_seller")

    assert any("projections.active" in line for line in deployment.lines_of("project")), (
        "the project process is not the active projection worker:\n"
        + "\n".join(deployment.lines_of("project"))
    )
    deployment.wait_until(
        "the deliver process delivered both webhooks, signed",
        lambda: {a.event.get("type") for a in receiver.received() if a.verified}
        >= {"dispute.created", "dispute.seller_contacted"},
        timeout=60,
    )
    assert {a.event["data"]["dispute_id"] for a in receiver.received()} == {dispute}
    deployment.wait_until(
        "the sweep loop swept",
        lambda: any("swept as of" in line for line in deployment.lines_of("sweep")),
        timeout=60,
    )

    deployment.stop()
    output = deployment.output()
    stopped = dict(STOPPED.findall(output))
    assert stopped == dict.fromkeys(PROCESSES, "0"), output[-4000:]
    assert "SIGKILL" not in output, output[-4000:]
