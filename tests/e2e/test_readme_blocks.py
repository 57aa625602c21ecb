"""Every runnable block of README.md, run as written, top to bottom, as a new user would.

A block fenced ```sh is run; ```text is only shown (see ``readme_blocks``).
The blocks run in one ``bash -euo pipefail`` session in a scratch directory
that holds what a clone holds for them (the Makefile, pyproject.toml, and a
``.venv`` whose ``bin`` is this environment's), with no ``disputedesk`` on
``PATH``, no ``DISPUTEDESK_*`` setting and nothing under ``./var/``: the README
itself must put the command on ``PATH``, load the demo and start the server
(``make run``, in the background), and every token must be signed with the
development key the first command made under ``./var/``. Any HTTP error, an
empty token (401), a missing command or a failing ``make`` target stops the
session with the block that failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load.scenario import free_port
from tests.e2e.careful_client import ROOT
from tests.e2e.readme_blocks import (
    DONE_MARK,
    RUN_FENCE,
    SHOWN_FENCES,
    STEP_MARK,
    fenced_blocks,
    runnable_blocks,
    session_script,
)

README = ROOT / "README.md"
#: The README's runnable blocks, at least: a README that loses some fails here first.
MIN_BLOCKS = 20
#: Settings of a developer's or CI's environment that a new user's shell does not have.
FOREIGN = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "HOST", "PORT", "VIRTUAL_ENV", "ORDERS", "SEED")

pytestmark = pytest.mark.slow


def scratch_clone(workdir: Path) -> Path:
    """What the README's commands need of a clone, with this environment as its ``.venv``.

    ``pyproject.toml`` is dated at the epoch and ``.venv/.installed`` now, so
    ``make`` finds the virtualenv up to date and never reinstalls it from here.
    """
    workdir.mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, workdir / name)
    os.utime(workdir / "pyproject.toml", (0, 0))
    venv = workdir / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    (venv / ".installed").touch()
    return workdir


def new_user_env(port: int) -> dict[str, str]:
    """This environment less what a new user's shell lacks; the server's port; this code."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DISPUTEDESK_") and key not in FOREIGN}
    own_bin = str(Path(sys.executable).parent)
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry != own_bin]
    env.update({
        "PATH": os.pathsep.join(path),
        "PORT": str(port),  # the README's "To use another port: PORT=9000 make run"
        "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the virtualenv points at
    })
    return env


def _stop_leftover(pid_file: Path) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)


def test_every_fenced_block_says_whether_it_runs() -> None:
    blocks = fenced_blocks(README.read_text(encoding="utf-8"))
    unlabelled = [b.line for b in blocks if b.fence not in SHOWN_FENCES | {RUN_FENCE}]
    assert unlabelled == [], f"README blocks without a known fence at lines {unlabelled}"
    synopsis = [b.line for b in blocks if b.runs and "[--" in b.text]
    assert synopsis == [], f"usage synopses fenced {RUN_FENCE} at lines {synopsis}"


def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    for tool in ("bash", "curl", "jq", "date", "make", "setsid"):
        if shutil.which(tool) is None:
            pytest.skip(f"the README's blocks need {tool}")
    blocks = runnable_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= MIN_BLOCKS, f"the README has {len(blocks)} runnable blocks"
    clone = scratch_clone(tmp_path / "clone")
    port = free_port()
    script = tmp_path / "readme.sh"
    script.write_text(session_script(blocks, f"http://127.0.0.1:{port}"))
    pid_file, server_log = tmp_path / "server.pid", tmp_path / "server.log"
    env = new_user_env(port)
    env.update({"README_SERVER_PID": str(pid_file), "README_SERVER_LOG": str(server_log)})
    try:
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", str(script)], cwd=clone, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=420, check=False,
        )
    finally:
        _stop_leftover(pid_file)
    output = completed.stdout.decode(errors="replace")
    log = server_log.read_text(errors="replace") if server_log.exists() else "(no server log)"
    failed_at = [line for line in output.splitlines() if line.startswith(STEP_MARK)][-1:]
    assert completed.returncode == 0, (
        f"the README failed (exit {completed.returncode}) in {failed_at}:\n{output[-6000:]}\n"
        f"--- server log ---\n{log[-3000:]}"
    )
    assert DONE_MARK in output
    # A new user's store and key: the defaults, under ./var/ of the clone.
    assert (clone / "var" / "disputedesk.db").is_file()
    assert (clone / "var" / "dev-secret").is_file()
