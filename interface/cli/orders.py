"""``disputedesk orders load FILE``: feed orders in bulk, as ``POST /v1/orders/batch`` does.

The file holds orders as the API takes them: JSON Lines (one order a line) or
one JSON array. They go through the same application code as the HTTP feed,
in batches; each order ends created, unchanged, conflict or invalid. Loading
the same file again records nothing (every order unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from application.order_feed import MAX_ORDERS, NewOrder, OrderOutcome, Refused, outcome_counts
from domain.dispute import Actor
from domain.errors import InvalidInput
from infrastructure.recorded_disputes import order_feed
from interface.cli.common import RUNTIME_ERROR, fail, open_application, open_input, settings_of
from interface.http.order_batch_schemas import batch_view, read_order

#: Who the events of a load name as their actor.
LOADER = Actor("platform", "cli:orders-load")
#: Problems listed in the summary (all are counted).
LISTED = 20

orders_app = typer.Typer(help="Orders in bulk.", no_args_is_help=True)


def _entries(source: IO[bytes]) -> Iterator[tuple[int, NewOrder | Refused]]:
    """(line number, order) for each order of a JSON array or of JSON Lines."""
    head = source.read(64).lstrip()
    source.seek(0)
    if head.startswith(b"["):
        try:
            items: Any = msgspec.json.decode(source.read())
        except msgspec.DecodeError as error:
            raise InvalidInput(f"the file is not a JSON array: {error}") from None
        for number, item in enumerate(items, 1):
            yield number, read_order(item)
        return
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            item = msgspec.json.decode(line)
        except msgspec.DecodeError as error:
            yield number, Refused(None, InvalidInput(f"not JSON: {error}"))
            continue
        yield number, read_order(item)


def _batches(entries: Iterator[tuple[int, NewOrder | Refused]], size: int
             ) -> Iterator[list[tuple[int, NewOrder | Refused]]]:
    batch: list[tuple[int, NewOrder | Refused]] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="JSON Lines (one order a line) or a JSON array; "
                               "- for standard input."),
    batch: int = typer.Option(500, "--batch", min=1, max=MAX_ORDERS,
                              help="Orders saved together (one transaction)."),
) -> None:
    """Record placed orders from a file, each judged alone (created, unchanged, conflict,
    invalid). Exit status: 0 all created or unchanged; 1 some were invalid or in
    conflict (listed), or the database could not be reached; 2 bad usage."""
    settings = settings_of(ctx)
    out = Console()
    err = Console(stderr=True)
    counts = dict.fromkeys((o.value for o in OrderOutcome), 0)
    problems: list[str] = []
    with ExitStack() as stack:
        source = open_input(stack, file)
        desk = open_application(settings)
        stack.callback(desk.close)
        feed = order_feed(desk)
        progress = stack.enter_context(Progress(
            TextColumn("orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True))
        task = progress.add_task("load", total=None)
        try:
            for chunk in _batches(_entries(source), batch):
                results = feed.place([entry for _, entry in chunk], LOADER)
                for key, value in outcome_counts(results).items():
                    counts[key] += value
                for (number, _), view in zip(chunk, batch_view(results).results, strict=True):
                    if view.outcome in ("conflict", "invalid"):
                        problems.append(f"line {number} ({view.order_id or 'no order_id'}): "
                                        f"{view.outcome}: {view.detail}")
                progress.advance(task, len(chunk))
        except InvalidInput as error:
            fail(f"{file}: {error.detail}")
    total = sum(counts.values())
    out.print(f"{total} orders: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for line in problems[:LISTED]:
        out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if len(problems) > LISTED:
        out.print(f"  ... and {len(problems) - LISTED} more")
    if problems:
        raise typer.Exit(RUNTIME_ERROR)


def register(app: typer.Typer) -> None:
    orders_app.command("load")(load)
    app.add_typer(orders_app, name="orders")
