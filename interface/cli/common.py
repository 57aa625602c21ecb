"""What every command shares: settings and logging set up once, error exits.

Exit status: 0 done; 1 the command could not finish (a database that cannot be
reached, a refusal at run time); 2 bad usage or configuration, which includes a
store that cannot serve: a file that is not a database or is damaged, a
read-only one, one that cannot be created. Either way one line on stderr,
never a traceback.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import IO, NoReturn

import psycopg
import typer
from eventsourcing.persistence import PersistenceError

from application.disputes import DisputeDesk
from application.ports import Clock
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, SettingsError
from infrastructure.sqlite_persistence import UnusableStore, unusable_store
from infrastructure.stores import open_store

USAGE_ERROR = 2
RUNTIME_ERROR = 1
#: How far down ``__cause__`` / ``__context__`` to look for the error that explains.
_MAX_CAUSES = 8


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """One line on stderr, then exit; never a traceback."""
    typer.echo(f"disputedesk: {message}", err=True)
    raise typer.Exit(code)


def open_input(stack: ExitStack, file: str) -> IO[bytes]:
    """A file to read twice (check, then load): ``-`` is standard input, kept in a
    temporary file first. One line and exit when it cannot be read."""
    if file == "-":
        spooled = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
        shutil.copyfileobj(sys.stdin.buffer, spooled)
        spooled.seek(0)
        return spooled
    try:
        return stack.enter_context(Path(file).open("rb"))
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}")


def start(ctx: typer.Context) -> None:
    """Read the settings and configure logging, once, before any command."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        fail(str(error))
    configure_logging(settings.log_format)
    ctx.obj = settings


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # pragma: no cover - start() always runs first
        raise RuntimeError("the CLI callback did not run")
    return settings


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < _MAX_CAUSES and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def store_problem(error: BaseException, *, sqlite: bool = True) -> tuple[str, int] | None:
    """(one line, exit status) when ``error`` says a store cannot be opened or used;
    None for any other error.

    On SQLite, a file that cannot serve (not a database, damaged, read-only, a
    directory that cannot be created or written) is status 2: waiting will not
    help, the setting or the file must change. A database that cannot be reached
    or is busy is status 1.
    """
    chain = _causes(error)
    for cause in chain:
        if isinstance(cause, UnusableStore):
            return f"{cause.path} is not usable: {cause.reason}", USAGE_ERROR
        if isinstance(cause, sqlite3.Error):
            unusable = unusable_store("the store", cause)
            if unusable is not None:
                return f"{unusable.reason}: {_first_line(cause)}", USAGE_ERROR
            return _first_line(cause), RUNTIME_ERROR
        if isinstance(cause, OSError) and not isinstance(cause, psycopg.Error):
            where = f": {cause.filename}" if cause.filename else ""
            reason = f"{cause.strerror or _first_line(cause)}{where}"
            return reason, USAGE_ERROR if sqlite else RUNTIME_ERROR
    for cause in chain:
        if isinstance(cause, (PersistenceError, psycopg.Error)):
            return _first_line(cause), RUNTIME_ERROR
    return None


def _fail_store(settings: Settings, what: str, error: BaseException) -> None:
    """Exit with one line if ``error`` is about the store; return otherwise (re-raise it)."""
    database = settings.database
    problem = store_problem(error, sqlite=database.is_sqlite)
    if problem is None:
        return
    message, code = problem
    fail(f"cannot open the {what} at {database.redacted()}: {message}", code)


def open_application(
    settings: Settings, *, clock: Clock | None = None, read_models: bool = False
) -> DisputeDesk:
    """Build the application, turning a store that cannot be opened into one line.

    ``read_models``: also open the read-model store once (for the commands that
    use it: ``serve``, ``project``, ``sweep``), so that a damaged or read-only
    views file is reported here rather than retried forever by a worker.
    """
    try:
        desk = build_application(settings, clock=clock)
    except SettingsError as error:
        fail(str(error))
    except Exception as error:
        _fail_store(settings, "event store", error)
        raise
    if read_models:
        try:
            open_store(settings.database, application_name=desk.name).close()
        except Exception as error:
            desk.close()
            _fail_store(settings, "read-model store", error)
            raise
    return desk
