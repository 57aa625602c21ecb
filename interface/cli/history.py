"""``disputedesk import FILE``: bring in a platform's history (JSON Lines, ``-``: stdin).

Each refused line is printed on standard output as ``line N: reason``, then the
summary (``--json``: one JSON object instead, the refused lines in it). Progress
and the logs go to standard error. Exit status: 0 when every line was accepted
(recorded, or recognised from an earlier run), 1 when some were refused, 2 for
bad usage (a file that cannot be read, bad settings).
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from application.history_import import HistoryImport, ImportProgress, ImportSummary, Rejection
from interface.cli.common import RUNTIME_ERROR, open_application, open_input, settings_of

#: Orders imported at once on PostgreSQL (their round trips and commits overlap).
POSTGRES_WORKERS = 4


def _render(summary: ImportSummary, console: Console) -> None:
    table = Table(title="history import", show_header=False, title_justify="left")
    table.add_row("lines", f"{summary.lines:,}")
    table.add_row(
        "orders",
        f"{summary.orders:,}: {summary.orders_created:,} created, "
        f"{summary.orders_updated:,} updated, {summary.orders_unchanged:,} unchanged, "
        f"{summary.orders_rejected:,} refused",
    )
    table.add_row(
        "facts",
        f"{summary.facts_recorded:,} recorded, {summary.facts_unchanged:,} unchanged, "
        f"{summary.facts_rejected:,} refused",
    )
    table.add_row("derived events", f"{summary.derived_recorded:,} recorded")
    table.add_row("events", f"{summary.events_recorded:,} recorded (none sent out)")
    table.add_row("time", f"{summary.seconds:.1f} s, {summary.orders_per_second:,.0f} orders/s")
    console.print(table)


def import_history(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="A JSON Lines history file, or - for standard input."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=32,
        help="Orders imported at once, each in its own transaction "
        "(default: 4 on PostgreSQL, 1 on SQLite, which has one writer).",
    ),
) -> None:
    """Import history from before day one: one fact a line (README, "Bringing your history").

    Each fact is recorded as of its own time, derived events as they fell due then;
    nothing imported is sent out (no webhook, feed or stream message). A second run of
    the same file records nothing. Refused lines are listed with their numbers."""
    settings = settings_of(ctx)
    if workers is None:
        workers = 1 if settings.database.is_sqlite else POSTGRES_WORKERS
    out = Console(soft_wrap=True, highlight=False)
    err = Console(stderr=True)
    with ExitStack() as stack:
        source = open_input(stack, file)
        desk = open_application(settings)
        stack.callback(desk.close)
        importer = HistoryImport.for_desk(desk)
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]import"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lines, {task.fields[orders]:,} orders, {task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("import", total=None, orders=0, rate=0.0)
            began = time.perf_counter()

            def report(done: ImportProgress) -> None:
                rate = done.orders_done / max(time.perf_counter() - began, 1e-9)
                progress.update(task, total=done.lines, completed=done.lines_done,
                                orders=done.orders_done, rate=rate)

            def refused(rejection: Rejection) -> None:
                if not as_json:
                    out.print(f"line {rejection.line}: {rejection.reason}", markup=False)

            summary = importer.run(source, progress=report, rejected=refused,
                                   workers=workers)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        _render(summary, out)
    if summary.facts_rejected:
        raise typer.Exit(RUNTIME_ERROR)


def register(app: typer.Typer) -> None:
    app.command("import")(import_history)
