"""A store that cannot serve is one line on stderr and exit status 2, for every command.

The cases: an events file that is not a database (random bytes), a database
path whose parent is a regular file (it cannot be created), a damaged views
file, and a read-only store. Tests run as root, which ignores permission bits:
a file of mode 0400 is still writable by root. The read-only case therefore
marks the file immutable with ``chattr +i`` (which binds root too) and is
skipped where that is not possible. Commands run in-process through typer's
runner (with ``uvicorn.run`` replaced, so ``serve`` can never start a server),
and the command line's own entry point once more in a child process.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infrastructure.bootstrap import bundled_policy_text
from interface.cli import app

SECRET = "cli-store-tests-secret-0123456789abcdef0123"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose store is ``events.db``; returns the store's path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", f"sqlite:///{tmp_path}/events.db")
    monkeypatch.setenv("DISPUTEDESK_SECRET", SECRET)
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
    return tmp_path / "events.db"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What ``serve`` handed to uvicorn (it must be nothing here)."""
    started: list[object] = []
    monkeypatch.setattr("interface.cli.serve.uvicorn.run",
                        lambda app, **options: started.append(app))
    return started


def _policy_file(tmp_path: Path) -> Path:
    """A policy that would be published, were the store usable."""
    path = tmp_path / "candidate.toml"
    text = bundled_policy_text().replace('"2027-01-default"', '"2099-01"')
    path.write_text(text.replace("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"))
    return path


#: Every command that opens the store, as arguments (``{policy}``: a policy file).
COMMANDS = {
    "serve": ["serve", "--port", "8765"],
    "project --once": ["project", "--once"],
    "project --status": ["project", "--status"],
    "sweep": ["sweep"],
    "demo": ["demo", "--orders", "2", "--seed", "1"],
    "simulate": ["simulate", "--set", "regions.US.ship_within_business_days=3"],
    "policy show": ["policy", "show"],
    "policy publish": ["policy", "publish", "{policy}"],
}
#: The commands that also open the read-model store.
READ_MODEL_COMMANDS = ["serve", "project --once", "sweep"]


def _invoke(name: str, tmp_path: Path) -> Any:
    args = [arg.replace("{policy}", str(_policy_file(tmp_path))) for arg in COMMANDS[name]]
    return CliRunner().invoke(app, args, catch_exceptions=False)


def _assert_one_line_and_2(result: Any, *expected: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("disputedesk: ")
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    line: str = lines[0]
    return line


@pytest.fixture(scope="module")
def working_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working store, views included, made by ``project --once`` in a child process.

    Not in this process: SQLite reuses a file descriptor that a connection of the
    same process still holds, so a file made read-only afterwards would not be.
    """
    where = tmp_path_factory.mktemp("working-store")
    environ = {**os.environ, "DISPUTEDESK_DATABASE_URL": f"sqlite:///{where}/events.db",
               "DISPUTEDESK_SECRET": SECRET, "DISPUTEDESK_LOG_FORMAT": "json"}
    made = subprocess.run(
        [sys.executable, "-c", "from interface.cli import main; main()", "project", "--once"],
        capture_output=True, text=True, timeout=120, env=environ, cwd=where,
    )
    assert made.returncode == 0, made.stderr
    return where


def _make_store(env: Path, working_store: Path) -> None:
    """A copy of the working store at ``env`` (and its views next to it)."""
    for name in ("events.db", "events-views.db"):
        assert not (working_store / f"{name}-wal").exists()  # closed cleanly: all in the file
        shutil.copyfile(working_store / name, env.with_name(name))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_events_file_that_is_not_a_database(
    env: Path, tmp_path: Path, servers: list[object], command: str
) -> None:
    env.write_bytes(os.urandom(8192))
    result = _invoke(command, tmp_path)
    _assert_one_line_and_2(result, "event store", str(env), "not an SQLite database")
    assert servers == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_store_whose_directory_cannot_be_created(
    env: Path, tmp_path: Path, servers: list[object], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    monkeypatch.setenv("DISPUTEDESK_DATABASE_URL", f"sqlite:///{blocker}/events.db")
    result = _invoke(command, tmp_path)
    _assert_one_line_and_2(result, "event store", str(blocker))
    assert servers == []
    assert blocker.read_text().startswith("a file where")


@pytest.mark.parametrize("command", READ_MODEL_COMMANDS)
def test_a_views_file_that_is_not_a_database(
    env: Path, tmp_path: Path, servers: list[object], command: str, working_store: Path
) -> None:
    _make_store(env, working_store)
    views = env.with_name("events-views.db")
    views.write_bytes(os.urandom(8192))
    result = _invoke(command, tmp_path)
    _assert_one_line_and_2(result, "read-model store", str(views), "not an SQLite database")
    assert servers == []


# -- read-only -------------------------------------------------------------------------


@contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """``path`` read-only even for root, while the block runs (or the test is skipped)."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed: no way to make a file read-only for root")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {made.stderr.decode().strip()}")
    try:
        try:
            with open(path, "ab"):
                writable = True
        except PermissionError:
            writable = False
        if writable:
            pytest.skip("an immutable file is still writable here")
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.fixture
def read_only_events(env: Path, working_store: Path) -> Iterator[Path]:
    _make_store(env, working_store)
    with _immutable(env):
        yield env


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_only_events_file(
    read_only_events: Path, tmp_path: Path, servers: list[object], command: str
) -> None:
    result = _invoke(command, tmp_path)
    _assert_one_line_and_2(result, "event store", str(read_only_events), "read-only")
    assert servers == []


def test_a_read_only_views_file(
    env: Path, tmp_path: Path, servers: list[object], working_store: Path
) -> None:
    _make_store(env, working_store)
    views = env.with_name("events-views.db")
    with _immutable(views):
        result = _invoke("project --once", tmp_path)
    _assert_one_line_and_2(result, "read-model store", str(views), "read-only")
    assert servers == []


# -- the entry point itself ---------------------------------------------------------------


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from interface.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(), cwd=cwd,
    )


def test_the_command_line_says_it_in_one_line_and_exits_2(env: Path, tmp_path: Path) -> None:
    env.write_bytes(b"SQLite format 2\x00" + os.urandom(4096))
    result = _run("project", "--once", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not an SQLite database" in lines[0], result.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_command_line_creates_var_and_its_stores_private(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPUTEDESK_DATABASE_URL")  # the default: ./var/disputedesk.db
    monkeypatch.delenv("DISPUTEDESK_SECRET")  # a development key under ./var/
    token = _run("token", "--role", "buyer", "--subject", "b-1", cwd=tmp_path)
    assert token.returncode == 0, token.stderr
    project = _run("project", "--once", cwd=tmp_path)
    assert project.returncode == 0, project.stderr
    var = tmp_path / "var"
    assert oct(_mode(var)) == oct(0o700)
    made = {path.name: oct(_mode(path)) for path in var.iterdir()}
    assert {"dev-secret", "disputedesk.db", "disputedesk-views.db"} <= set(made), made
    assert made == {name: oct(0o600) for name in made}
