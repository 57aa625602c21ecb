"""``disputedesk sweep``: record the derived events that are due, once."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import typer

from application.disputes import DisputeDesk
from application.due_index import ReadModelDueIndex
from application.projections.queries import ReadModelQueries
from application.sweeper import Sweeper
from domain.errors import DomainError
from infrastructure.settings import Settings
from infrastructure.stores import open_reader
from infrastructure.stores.runtime import make_worker
from interface.cli.common import fail, open_application, settings_of

#: How long to wait for another active projection worker before trusting its index.
STANDBY_GRACE = 2.0


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--now must be an RFC 3339 instant such as 2026-11-26T12:00:00Z, got {text!r}")
    if value.tzinfo is None:
        fail("--now must carry a UTC offset (e.g. Z or +00:00)")
    return value


def sweep(
    ctx: typer.Context,
    now: str | None = typer.Option(
        None, "--now", help="Sweep as of this earlier instant (RFC 3339); default: now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Record each derived event that is due (idempotent; safe beside other sweepers)."""
    settings = settings_of(ctx)
    instant = _instant(now)
    desk = open_application(settings, read_models=True)
    try:
        _catch_up_index(desk, settings)
        queries = ReadModelQueries(open_reader(settings.database), desk.clock)
        try:
            result = Sweeper(desk, ReadModelDueIndex(queries)).sweep(instant)
        except DomainError as error:
            fail(error.detail)
        finally:
            queries.reader.close()
    finally:
        desk.close()
    report = result.to_dict()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"swept as of {report['now']}: {report['examined']} disputes due, "
        f"{len(report['recorded'])} derived events recorded"
    )
    for row in report["recorded"]:
        typer.echo(f"  {row['dispute_id']}  {row['type']:<22} at {row['occurred_at']}")


def _catch_up_index(desk: DisputeDesk, settings: Settings) -> None:
    """Bring the due index up to the head, unless another worker keeps it current."""
    worker = make_worker(desk, settings, name="sweep")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"once": True})
    thread.start()
    started = time.monotonic()
    while thread.is_alive():
        thread.join(0.1)
        if not worker.active.is_set() and time.monotonic() - started > STANDBY_GRACE:
            stop.set()  # another worker is active and follows the log
    thread.join()


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
