"""``disputedesk serve``: the HTTP API under uvicorn.

With ``--workers N`` the workers count their metrics into a private directory
made here before they start (``PROMETHEUS_MULTIPROC_DIR``) and removed when the
server ends, so a scrape of any worker sums them all. Access lines are the app's
own ``http.request`` (uvicorn's access log stays off).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import typer
import uvicorn

from infrastructure.metrics import private_multiprocess_dir
from infrastructure.ops_settings import MAX_THREADS
from infrastructure.rate_limiter import rate_limit_backend
from interface.cli.common import fail, open_application, settings_of
from interface.http.app import server_app
from interface.http.auth import SecretError, resolve_secret
from interface.http.runtime import default_threads

FACTORY = "interface.http.app:app_from_env"


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Processes behind the one port (PostgreSQL only)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=MAX_THREADS,
        help="Threads per worker for blocking work: commands, store reads (default: "
        "DISPUTEDESK_THREADS, else Python's, CPUs + 4 and at most 32).",
    ),
) -> None:
    """Serve the HTTP API (OpenAPI at /schema)."""
    settings = settings_of(ctx)
    if threads is not None:
        settings = replace(settings, ops=replace(settings.ops, threads=threads))
        os.environ["DISPUTEDESK_THREADS"] = str(threads)  # the workers read their own
    database = settings.database
    if workers > 1 and database.is_sqlite:
        typer.echo(
            f"disputedesk: --workers {workers} refused: the SQLite event store allows one "
            "writing process (several would fail each other's writes with 'database is "
            "locked'); serving with 1 worker. Use PostgreSQL (DISPUTEDESK_DATABASE_URL="
            "postgresql://...) for more.",
            err=True,
        )
        workers = 1
    try:
        resolve_secret(settings)  # made once here, before any worker starts
    except SecretError as error:
        fail(str(error))
    # Open the stores before saying anything: a store that cannot serve is one line.
    desk = open_application(settings, read_models=True)
    if workers > 1:
        desk.close()  # each worker process opens its own
    url = f"http://{host}:{port}"
    typer.echo(f"disputedesk: serving on {url} ({workers} worker{'s' * (workers > 1)}, "
               f"events in {database.redacted()})")
    typer.echo(f"  API docs:     {url}/schema")
    typer.echo(f"  console:      {url}/console (sign in with a moderator's or analyst's token)")
    typer.echo(f"  rate limits:  {rate_limit_backend(settings.limits)}")
    typer.echo(f"  threads:      {_threads(settings.ops.threads)} per worker for commands "
               "and store reads")
    prog = _program()
    if settings.identity.dev_tokens:
        typer.echo(f"  get a token:  TOKEN=$({prog} token --role buyer --subject b-1)")
        typer.echo(
            f"  then:         curl -H \"Authorization: Bearer $TOKEN\" {url}/v1/policies/current"
        )
    else:
        typer.echo(f"  tokens:       from the identity provider {settings.identity.issuer} "
                   "(development tokens are refused)")
    options = {"host": host, "port": port, "log_config": None, "access_log": False}
    if workers > 1:
        remove_metrics_dir = private_multiprocess_dir()  # before the workers start
        try:
            uvicorn.run(FACTORY, factory=True, workers=workers, **options)  # type: ignore[arg-type]
        finally:
            remove_metrics_dir()
        return
    if not desk.has_disputes():
        typer.echo(
            "  the store is empty: load a demo marketplace with\n"
            f"                {prog} demo --orders 1000 --seed 1"
        )
    uvicorn.run(server_app(desk, settings), **options)  # type: ignore[arg-type]


def _threads(size: int | None) -> str:
    return str(size) if size is not None else f"{default_threads()} (default)"


def _program() -> str:
    """How the user invoked us (``.venv/bin/disputedesk`` under ``make run``)."""
    invoked = Path(sys.argv[0])
    if invoked.name == "disputedesk" and invoked.exists():
        try:
            return os.path.relpath(invoked)
        except ValueError:
            return str(invoked)
    return "disputedesk"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
