"""The ``disputedesk`` command line (typer).

Each command lives in its own module with a ``register(app)`` function, and is
added here with one line. To add a command ``foo``: write ``interface/cli/foo.py``
with ``def register(app: typer.Typer) -> None`` (use ``common.settings_of(ctx)``
and ``common.open_application(settings)``), then add ``foo.register(app)`` below.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from importlib import metadata

import typer

from infrastructure.private_files import PRIVATE_UMASK
from infrastructure.settings import SettingsError
from interface.cli import (
    audit,
    common,
    deliver,
    demo,
    export,
    history,
    import_log,
    orders,
    policy,
    project,
    serve,
    simulate,
    sweep,
    token,
)

app = typer.Typer(
    name="disputedesk",
    help="Event-sourced case management for marketplace orders that are not shipped.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(wanted: bool) -> None:
    """``--version``: the installed package's version (its metadata), then exit."""
    if wanted:
        try:
            version = metadata.version("disputedesk")
        except metadata.PackageNotFoundError:  # run from a tree that was never installed
            version = "unknown (not installed)"
        typer.echo(f"disputedesk {version}")
        raise typer.Exit()


# Before any command: settings and logging (common.start), or only the version.
def _start(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    common.start(ctx)


app.callback()(_start)

serve.register(app)
token.register(app)
policy.register(app)
demo.register(app)
project.register(app)
simulate.register(app)
sweep.register(app)
deliver.register(app)
history.register(app)
export.register(app)
import_log.register(app)
orders.register(app)
audit.register(app)


def main() -> None:
    # Whatever this process creates (stores, their -wal/-shm files, var/, the
    # development key, lock files), by our code or a library's, only its user may read.
    os.umask(PRIVATE_UMASK)
    try:
        app()
    except SettingsError as error:
        print(f"disputedesk: {error}", file=sys.stderr)
        sys.exit(common.USAGE_ERROR)
    except sqlite3.Error as error:  # a store that became unusable after it opened
        problem = common.store_problem(error)
        if problem is None or problem[1] != common.USAGE_ERROR:
            raise  # not the file's fault: a bug, shown as one
        print(f"disputedesk: the store failed: {problem[0]}", file=sys.stderr)
        sys.exit(common.USAGE_ERROR)
