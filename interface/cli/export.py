"""``disputedesk export [FILE|-] [--from T] [--to T]``: the store as one verifiable file.

The event log (or the events recorded in a range of time) as JSON Lines, then the
evidence files those events name and, for the whole log, webhook endpoints, their
fan-out position and pending deliveries, and idempotency keys within their
retention; a checksum line closes it (docs/moving-the-store.md). A FILE is written
beside itself as ``FILE.partial`` and renamed when complete. Progress and the
summary go to standard error.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from application.store_export import ExportSummary, StoreExport
from infrastructure.clock import SystemClock
from infrastructure.database_url import parse_database_url
from infrastructure.store_export_store import StoreExportSource
from interface.cli.common import USAGE_ERROR, fail, settings_of
from interface.cli.store_files import instant, open_events


def export(
    ctx: typer.Context,
    file: str = typer.Argument("-", help="Where to write the export; - (default): stdout."),
    recorded_from: str | None = typer.Option(
        None, "--from", help="Only events recorded at or after this instant (RFC 3339)."),
    recorded_to: str | None = typer.Option(
        None, "--to", help="Only events recorded before this instant (RFC 3339)."),
) -> None:
    """Export the event log and what a rebuild cannot make (docs/moving-the-store.md).

    Read models are not exported: they are rebuilt from the events. With --from or
    --to only the events recorded in that range and their evidence files are written.
    Exit status: 0 written; 2 bad usage or a store that cannot be opened."""
    settings = settings_of(ctx)
    start, stop = instant("--from", recorded_from), instant("--to", recorded_to)
    if start is not None and stop is not None and stop <= start:
        fail("--to must be after --from", USAGE_ERROR)
    url = parse_database_url(settings.database_url)
    err = Console(stderr=True)
    with ExitStack() as stack:
        store = open_events(settings, must_exist=True)
        stack.callback(store.close)
        source = StoreExportSource(store, url)
        stack.callback(source.close)
        out, finish = _output(stack, file)
        with Progress(TextColumn("[bold]export"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("events {task.fields[rate]:>10,.0f}/s"), TimeElapsedColumn(),
                      console=err, transient=True) as progress:
            task = progress.add_task("export", total=None, rate=0.0)
            began = time.perf_counter()

            def report(position: int, head: int) -> None:
                rate = position / max(time.perf_counter() - began, 1e-9)
                progress.update(task, completed=position, total=head, rate=rate)

            summary = StoreExport(source, start, stop).write(
                out, SystemClock().now(), time.perf_counter, report)
        finish()
    _report(summary, file, err)


def _output(stack: ExitStack, file: str) -> tuple[BinaryIO, Callable[[], None]]:
    """The stream to write and what completes it (a rename for a file)."""
    if file == "-":
        return sys.stdout.buffer, sys.stdout.buffer.flush
    final = Path(file)
    partial = final.with_name(final.name + ".partial")
    try:
        out = stack.enter_context(partial.open("wb"))
    except OSError as error:
        fail(f"cannot write {file}: {error.strerror or error}", USAGE_ERROR)
    stack.callback(lambda: partial.unlink(missing_ok=True))

    def finish() -> None:
        out.flush()
        os.fsync(out.fileno())
        os.replace(partial, final)

    return out, finish


def _report(summary: ExportSummary, file: str, err: Console) -> None:
    where = "standard output" if file == "-" else file
    rate = summary.events / summary.seconds if summary.seconds > 0 else 0.0
    err.print(
        f"exported {summary.events:,} events (head {summary.head:,}), {summary.blobs:,} "
        f"evidence files, {summary.side_records:,} webhook and idempotency records to {where}"
        f" in {summary.seconds:.1f} s ({rate:,.0f} events/s); sha256 {summary.sha256}",
        markup=False, highlight=False, soft_wrap=True)
    for blob_id in summary.blobs_missing:
        err.print(f"warning: evidence file {blob_id} is named by an event but missing from the "
                  "store; the export says so", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
