"""What every command shares: settings and logging set up once, error exits."""

from __future__ import annotations

from typing import NoReturn

import psycopg
import typer
from eventsourcing.persistence import PersistenceError

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, SettingsError

USAGE_ERROR = 2
RUNTIME_ERROR = 1


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """One line on stderr, then exit; never a traceback."""
    typer.echo(f"disputedesk: {message}", err=True)
    raise typer.Exit(code)




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


def open_application(settings: Settings) -> DisputeDesk:
    """Build the application, turning an unreachable or bad store into one line."""
    try:
        return build_application(settings)
    except SettingsError as error:
        fail(str(error))
    except (PersistenceError, psycopg.Error, OSError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        fail(
            f"cannot open the event store at {settings.database.redacted()}: {first_line}",
            RUNTIME_ERROR,
        )
