"""``disputedesk --version``: the installed package's version, from its metadata."""

from __future__ import annotations

from importlib import metadata

from typer.testing import CliRunner

from interface.cli import app


def test_version_prints_the_installed_version_and_exits_0() -> None:
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0, done.output
    assert done.stdout == f"disputedesk {metadata.version('disputedesk')}\n"
