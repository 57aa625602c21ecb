"""Evidence files: does a large upload stay out of the server's memory?

Starts the API as a real server process (uvicorn, one worker) under a policy that
allows 50 MB files, streams a 50 MB file to ``POST /v1/disputes/{id}/evidence``
(``multipart/form-data``, generated as it is sent), then downloads it back, hashing
it on the way. The server's peak resident memory (``VmHWM`` in
``/proc/<pid>/status``) is read after a warm-up upload and after each transfer: the
growth is what the 50 MB cost. Target: under 20 MB each way. On SQLite (files on
disk) and PostgreSQL (rows of a table), when reachable.

    .venv/bin/python -m bench.evidence [--mb 50] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.http.__main__ import postgres_database, stop_group
from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application, bundled_policy_text
from infrastructure.settings import Settings
from interface.http.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "evidence.json"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
BUYER = Actor("buyer", "b-bench")
TARGET_MB = 20.0
CHUNK = 64 * 1024
LINE = b"the buyer's chat log, line after line of plain text, as evidence.\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of process ``pid``, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return round(fields["VmHWM"], 1), round(fields["VmRSS"], 1)


@contextlib.contextmanager
def _server(env: dict[str, str], cwd: Path, log: Path) -> Iterator[tuple[int, int]]:
    """A server process on a free port: yields (port, pid); stopped after."""
    port = _free_port()
    argv = [sys.executable, "-m", "uvicorn", "interface.http.app:app_from_env", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log",
            "--log-level", "warning"]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=out,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 40
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/health", timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /health in time; see {log}")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        stop_group(process)


def _content(size: int) -> Iterator[bytes]:
    """``size`` bytes of plain text, generated a chunk at a time."""
    block = LINE * (CHUNK // len(LINE) + 1)
    sent = 0
    while sent < size:
        part = block[: min(CHUNK, size - sent)]
        sent += len(part)
        yield part


def _upload(port: int, dispute_id: str, token: str, size: int) -> tuple[int, str, float]:
    """Stream a form with a ``size``-byte text file; (status, body, seconds)."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nchat_log\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
        "the whole conversation\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chat.txt\""
        "\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from _content(size)
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.perf_counter()
    connection.request(
        "POST", f"/v1/disputes/{dispute_id}/evidence", body=body(),
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Length": str(len(head) + size + len(tail))},
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, text, time.perf_counter() - started


def _download(port: int, path: str, token: str) -> tuple[int, str, int, float]:
    """Fetch a file a chunk at a time: (status, SHA-256, size, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    digest, size = hashlib.sha256(), 0
    while chunk := response.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    connection.close()
    return response.status, digest.hexdigest(), size, time.perf_counter() - started


def _expected_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in _content(size):
        digest.update(chunk)
    return digest.hexdigest()


def _policy(work: Path, mb: int) -> Path:
    path = work / "policy.toml"
    path.write_text(
        bundled_policy_text()
        .replace('version = "2027-01-default"', 'version = "2027-01-bench-evidence"')
        .replace("evidence_file_max_mb = 10", f"evidence_file_max_mb = {mb}")
        .replace("evidence_case_max_mb = 50", f"evidence_case_max_mb = {2 * mb}"),
        encoding="utf-8",
    )
    return path


def _seed(env: dict[str, str]) -> str:
    """One order of BUYER, placed an hour ago; its dispute id."""
    desk = build_application(Settings.from_env(env))
    try:
        view, _ = desk.place_order(
            order_id="o-evidence", buyer_id=BUYER.id, seller_id="s-bench", region="US",
            category="general", amount=Money.of("25.00", "USD"),
            placed_at=datetime.now(UTC) - timedelta(hours=1), actor=Actor("platform", "bench"),
        )
        return str(view["id"])
    finally:
        desk.close()


def measure(store: str, database_url: str, work: Path, mb: int) -> dict[str, Any]:
    size = mb * 1_000_000
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPUTEDESK_SECRET": SECRET,
           "DISPUTEDESK_LOG_FORMAT": "json", "DISPUTEDESK_DATABASE_URL": database_url,
           "DISPUTEDESK_POLICY": str(_policy(work, mb))}
    dispute_id = _seed(env)
    token = issue_token(SECRET, "buyer", BUYER.id, ttl=timedelta(hours=1))
    with _server(env, work, work / f"server-{store}.log") as (port, pid):
        # Warm up: the first upload and download load what they need.
        status, text, _ = _upload(port, dispute_id, token, 200_000)
        assert status == 200, text
        warm = json.loads(text)["evidence"][-1]["file_url"]
        assert _download(port, warm, token)[0] == 200
        before, rss_before = _peak_rss_mb(pid)
        status, text, up_seconds = _upload(port, dispute_id, token, size)
        if status != 200:
            raise RuntimeError(f"the {mb} MB upload answered {status}: {text[:300]}")
        after_upload, _ = _peak_rss_mb(pid)
        item = json.loads(text)["evidence"][-1]
        got, sha256, got_size, down_seconds = _download(port, item["file_url"], token)
        after_download, rss_after = _peak_rss_mb(pid)
    expected = _expected_sha256(size)
    ok_bytes = got == 200 and got_size == size and sha256 == item["sha256"] == expected
    upload_growth = round(after_upload - before, 1)
    download_growth = round(after_download - after_upload, 1)
    return {
        "store": store, "file_mb": mb, "bytes": size,
        "peak_rss_mb": {"before": before, "after_upload": after_upload,
                        "after_download": after_download},
        "rss_mb": {"before": rss_before, "after": rss_after},
        "upload_growth_mb": upload_growth, "download_growth_mb": download_growth,
        "upload_mb_per_s": round(mb / up_seconds, 1),
        "download_mb_per_s": round(mb / down_seconds, 1),
        "bytes_match": ok_bytes,
        "met": ok_bytes and upload_growth < TARGET_MB and download_growth < TARGET_MB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="the file's size (and the limit)")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        work = Path(tmp)
        for store in args.stores.split(","):
            if store == "sqlite":
                runs.append(measure(store, f"sqlite:///{work}/events.db", work, args.mb))
            elif store == "postgres":
                with postgres_database() as url:
                    if url is not None:
                        runs.append(measure(store, url, work, args.mb))
            else:
                parser.error(f"unknown store {store!r}")
            if runs and runs[-1]["store"] == store:
                r = runs[-1]
                print(f"{store:8} {r['file_mb']} MB: server peak RSS +{r['upload_growth_mb']} MB "
                      f"uploading ({r['upload_mb_per_s']} MB/s), +{r['download_growth_mb']} MB "
                      f"downloading ({r['download_mb_per_s']} MB/s); bytes match: "
                      f"{r['bytes_match']}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_mb": TARGET_MB, "runs": runs,
    }, indent=2))
    if not all(r["met"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
