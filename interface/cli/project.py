"""``disputedesk project``: run the read-model projections, or rebuild one.

- ``disputedesk project``: follow the event log forever (the worker for
  PostgreSQL deployments; on SQLite ``serve`` already runs one in-process).
  Two workers may run: one is active, the other waits as a standby.
- ``--once``: catch up with the head, then exit. If another worker is active
  (``serve``, or another ``project``), it keeps the views current: say so and
  exit with status 1 rather than wait for it as a standby.
- ``--rebuild NAME`` (disputes, scorecard, metrics or all): build a new version
  from zero while the current one keeps serving, then switch to it.
- ``--status``: the versions, their lanes and positions.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from application.disputes import DisputeDesk
from application.projections import engine
from application.projections.catalog import ALL, READ_MODELS
from application.projections.rebuild import RebuildError, rebuild
from application.projections.worker import Outcome
from infrastructure.settings import Settings
from infrastructure.stores.runtime import make_worker, projection_source, store_opener
from interface.cli.common import RUNTIME_ERROR, USAGE_ERROR, fail, open_application, settings_of

NAMES = ", ".join([*READ_MODELS, ALL])


def project(
    ctx: typer.Context,
    once: bool = typer.Option(
        False, "--once",
        help="Catch up with the head, then exit (status 0). If another worker is running "
        "the projections, exit at once with status 1: they are being kept current by it.",
    ),
    batch_size: int = typer.Option(
        engine.DEFAULT_BATCH_SIZE, "--batch-size", min=1, max=100_000,
        help="Events per transaction.",
    ),
    rebuild_name: str | None = typer.Option(
        None, "--rebuild", metavar="NAME",
        help=f"Rebuild a read model from zero into a new version ({NAMES}).",
    ),
    status: bool = typer.Option(False, "--status", help="Show versions and positions."),
) -> None:
    """Run the read-model projections (or rebuild one).

    Without --once, follow the log until stopped; while another worker is active,
    wait as its standby. Exit status: 0 done; 1 with --once when another worker is
    running the projections, or when the database cannot be reached or a rebuild
    fails; 2 bad usage, or a store that cannot serve (not a database, damaged,
    read-only, cannot be created).
    """
    settings = settings_of(ctx)
    if rebuild_name is not None and rebuild_name not in (*READ_MODELS, ALL):
        fail(f"--rebuild takes one of {NAMES}; got {rebuild_name!r}", USAGE_ERROR)
    desk = open_application(settings, read_models=True)
    try:
        if status:
            _status(desk, settings)
        elif rebuild_name is not None:
            _rebuild(desk, settings, rebuild_name, batch_size)
        else:
            _follow(desk, settings, batch_size, once)
    finally:
        desk.close()


def _follow(desk: DisputeDesk, settings: Settings, batch_size: int, once: bool) -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    worker = make_worker(desk, settings, batch_size=batch_size, name="project")
    # Following forever, wait as a standby; catching up once, never wait for another.
    if worker.run(stop, once=once, standby=not once) is Outcome.OTHER_ACTIVE:
        fail(
            "another worker is running the projections; they are being kept current by it, "
            "so --once has nothing to do",
            RUNTIME_ERROR,
        )


def _status(desk: DisputeDesk, settings: Settings) -> None:
    store = store_opener(desk, settings)()
    try:
        table = Table("read model", "version", "schema", "status", "lane", "position")
        for info in store.versions():
            table.add_row(
                info.name, str(info.version), str(info.schema), info.status, info.lane,
                str(store.lane_position(info.lane)),
            )
        Console().print(table)
    finally:
        store.close()


def _rebuild(desk: DisputeDesk, settings: Settings, name: str, batch_size: int) -> None:
    source = projection_source(desk)
    store = store_opener(desk, settings)()
    console = Console(stderr=True)
    head = source.max_notification_id()
    columns = (
        TextColumn(f"rebuilding {name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events  {task.fields[rate]:>8,.0f}/s"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("rebuild", total=head, rate=0.0)

            def on_batch(p: engine.Progress) -> None:
                total = max(source.max_notification_id(), p.position)
                rate = p.processed / p.elapsed if p.elapsed > 0 else 0.0
                progress.update(task, completed=p.position, total=total, rate=rate)

            started = time.monotonic()
            result = rebuild(source, store, name, batch_size=batch_size, on_batch=on_batch)
            progress.update(task, completed=progress.tasks[0].total)
    except RebuildError as error:
        fail(str(error), RUNTIME_ERROR)
    finally:
        store.close()
    versions = ", ".join(f"{n} v{v}" for n, v in sorted(result.versions.items()))
    seconds = time.monotonic() - started
    rate = result.events / result.seconds if result.seconds else 0.0
    if result.switched:
        typer.echo(f"rebuilt {versions}: {result.events:,} events in {seconds:.1f} s "
                   f"({rate:,.0f}/s); now serving")
    else:
        typer.echo(f"rebuilt {versions}: {result.events:,} events in {seconds:.1f} s; the "
                   "running worker will switch to it when it next runs")


def register(app: typer.Typer) -> None:
    app.command("project")(project)
