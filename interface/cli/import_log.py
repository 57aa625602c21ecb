"""``disputedesk import-log FILE``: fill an empty store from an export, verified, resumable.

The whole file is checked first (hash chain, totals, evidence files' hashes); a
damaged or truncated file is refused naming the line, and nothing is written. Then
the events go in, in their order, in transactions of a few thousand; a run that was
stopped (even killed) continues where it stopped when run again with the same
file. A store that holds anything else is refused. Read models are not imported:
the command ends by saying how to rebuild them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from application.log_import import BATCH, IdsDiverged, ImportSummary, LogImport, StoreNotEmpty
from application.log_import_file import scan
from application.store_export_format import FileDamaged
from infrastructure.database_url import parse_database_url
from infrastructure.store_export_store import StoreImportTarget
from interface.cli.common import RUNTIME_ERROR, USAGE_ERROR, fail, open_input, settings_of
from interface.cli.store_files import open_events

REBUILD = "disputedesk project --rebuild all"


def import_log(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="A file written by disputedesk export (- for stdin)."),
    batch_size: int = typer.Option(
        BATCH, "--batch-size", min=1, max=100_000, help="Events per transaction."),
) -> None:
    """Import an export into an empty store; run again to resume (docs/moving-the-store.md).

    Exit status: 0 imported (or already imported); 1 the store numbered events
    unexpectedly (another process writing to it); 2 a damaged or truncated file, a
    store that is not empty, or one that cannot be opened."""
    settings = settings_of(ctx)
    url = parse_database_url(settings.database_url)
    err = Console(stderr=True)
    with ExitStack() as stack:
        source = open_input(stack, file)
        with _progress(err, "checking") as (progress, task):
            try:
                facts = scan(source, lambda line: progress.update(task, completed=line))
            except FileDamaged as error:
                fail(f"{file} is not an intact export, refused: {error}", USAGE_ERROR)
        store = open_events(settings, must_exist=False)
        stack.callback(store.close)
        try:
            job = LogImport(StoreImportTarget(store, url), facts, batch_size)
        except StoreNotEmpty as error:
            fail(f"{error}; import-log fills an empty store only", USAGE_ERROR)
        source.seek(0)
        with _progress(err, "import") as (progress, task):
            progress.update(task, total=facts.events, completed=job.already)
            try:
                summary = job.run(source, lambda done: progress.update(task, completed=done))
            except FileDamaged as error:
                fail(f"{file} changed while it was imported: {error}", USAGE_ERROR)
            except StoreNotEmpty as error:  # found before anything is written
                fail(f"{error}; import-log fills an empty store only", USAGE_ERROR)
            except IdsDiverged as error:
                fail(str(error), RUNTIME_ERROR)
    _report(summary, url.redacted())


@contextmanager
def _progress(err: Console, label: str) -> Iterator[tuple[Progress, TaskID]]:
    """A transient progress bar on standard error."""
    with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        yield progress, progress.add_task(label, total=None)


def _report(summary: ImportSummary, where: str) -> None:
    ids = ("notification ids kept" if summary.ids_kept
           else "notification ids renumbered in order (the file's have gaps)")
    typer.echo(
        f"imported {summary.imported:,} events into {where} ({summary.already:,} were there "
        f"already; {summary.events:,} in the file, {ids}); evidence files: "
        f"{summary.blobs_written:,} written, {summary.blobs_present:,} there already, "
        f"{summary.blobs_missing:,} missing from the export; {summary.records:,} webhook and "
        "idempotency records")
    typer.echo(f"read models are not imported; build them now: {REBUILD}")


def register(app: typer.Typer) -> None:
    app.command("import-log")(import_log)
