"""``disputedesk demo``: load a synthetic marketplace through the real application."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

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

from infrastructure.clock import ManualClock, SystemClock
from infrastructure.logging import configure_logging
from interface.cli.common import RUNTIME_ERROR, fail, open_application, settings_of
from interface.demo.profile import DEFAULT_PROFILE
from interface.demo.scenario import DemoError, DemoSummary, SellerFigures, loaded_orders, run_demo

FUTURE_TOLERANCE = timedelta(minutes=5)


def parse_end(text: str | None, now: datetime) -> datetime:
    """``--end`` as an aware instant, second precision; default: now."""
    if text is None:
        return now.replace(microsecond=0)
    try:
        end = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--end must be an RFC 3339 instant such as 2026-11-26T12:00:00Z; got {text!r}")
    if end.tzinfo is None or end.utcoffset() is None:
        fail(f"--end must carry a UTC offset (Z or +HH:MM); got {text!r}")
    if end > now + FUTURE_TOLERANCE:
        fail(f"--end {end.isoformat()} is in the future; the demo only writes the past")
    return end


def say(console: Console, text: str) -> None:
    """One plain line: no markup, no wrapping (it may be copied into a command)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _seller_rows(table: Table, title: str, sellers: list[SellerFigures]) -> None:
    for seller in sellers:
        rate = seller.late_dispatch_rate
        table.add_row(
            title,
            seller.seller_id,
            seller.tier,
            seller.region,
            f"{seller.late}/{seller.eligible}",
            "-" if rate is None else f"{rate:.0%}",
        )
        title = ""


def render(summary: DemoSummary, console: Console) -> None:
    """The summary as a few tables."""
    overview = Table(title="demo marketplace", show_header=False, title_justify="left")
    overview.add_row("orders", f"{summary.orders:,} ({summary.created:,} new)")
    if summary.already_loaded:
        overview.add_row("already loaded", f"{summary.already_loaded:,}")
    overview.add_row("events", f"{summary.events:,}")
    span = f"{summary.start:%Y-%m-%d %H:%M} .. {summary.end:%Y-%m-%d %H:%M} UTC"
    overview.add_row("window", f"{span} ({summary.days} days)")
    overview.add_row("sellers / buyers", f"{summary.sellers:,} / {summary.buyers:,}")
    overview.add_row(
        "regions", ", ".join(f"{k} {v:,}" for k, v in summary.orders_by_region.items())
    )
    overview.add_row("on weekends/holidays", f"{summary.non_business_day_orders:,}")
    overview.add_row("time", f"{summary.elapsed_seconds:.1f} s")
    overview.add_row(
        "rate",
        f"{summary.orders_per_second:,.0f} orders/s, {summary.events_per_second:,.0f} events/s",
    )
    if summary.refused:
        overview.add_row("refused", ", ".join(f"{k} {v}" for k, v in summary.refused.items()))
    console.print(overview)

    statuses = Table(title="disputes by status", title_justify="left")
    statuses.add_column("status")
    statuses.add_column("disputes", justify="right")
    for status, count in sorted(summary.disputes_by_status.items(), key=lambda kv: -kv[1]):
        statuses.add_row(status, f"{count:,}")
    console.print(statuses)

    events = Table(title="events by type", title_justify="left")
    events.add_column("type")
    events.add_column("events", justify="right")
    for kind, count in sorted(summary.events_by_type.items(), key=lambda kv: -kv[1]):
        events.add_row(kind, f"{count:,}")
    console.print(events)

    tiers = Table(title="late dispatch by seller tier", title_justify="left")
    for column in ("tier", "sellers", "orders", "late dispatch"):
        tiers.add_column(column, justify="left" if column == "tier" else "right")
    for name, row in summary.tiers.items():
        rate = row["late_dispatch_rate"]
        tiers.add_row(
            name,
            f"{row['sellers']:,}",
            f"{row['orders']:,}",
            "-" if rate is None else f"{rate:.1%}",
        )
    console.print(tiers)

    sellers = Table(title="sellers by late-dispatch rate", title_justify="left")
    for column in ("", "seller", "tier", "region", "late/eligible", "rate"):
        sellers.add_column(column)
    _seller_rows(sellers, "worst", summary.worst_sellers)
    _seller_rows(sellers, "best", summary.best_sellers)
    console.print(sellers)


def demo(
    ctx: typer.Context,
    orders: int = typer.Option(1000, "--orders", min=1, help="How many orders to generate."),
    seed: int = typer.Option(
        1, "--seed", help="Same --orders, --seed, --days and --end: the same marketplace."
    ),
    days: int = typer.Option(
        DEFAULT_PROFILE.days, "--days", min=1, help="Spread the orders over this many days."
    ),
    end: str | None = typer.Option(
        None,
        "--end",
        help="The demo's 'now' (RFC 3339 with offset); default: the current time. "
        "Pass the printed value to reproduce a run exactly.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Load into a store that already holds some of these orders (they are skipped).",
    ),
) -> None:
    """Load a realistic synthetic marketplace (sellers, buyers, regions, holidays, disputes)."""
    settings = settings_of(ctx)
    # One INFO line per event would drown the progress bar (and cost time).
    configure_logging(settings.log_format, "WARNING", stream=sys.stderr)
    end_at = parse_end(end, SystemClock().now())
    err = Console(stderr=True)
    clock = ManualClock(end_at)
    desk = open_application(settings, clock=clock)
    try:
        found = loaded_orders(desk, seed=seed, orders=orders)
        if found and not resume:
            fail(
                f"already loaded: this store holds orders of seed {seed} "
                f"({', '.join(found[:3])}{', ...' if len(found) > 3 else ''}); "
                "use another --seed, an empty store, or --resume to skip them",
                RUNTIME_ERROR,
            )
        say(
            err,
            f"demo: {orders:,} orders, seed {seed}, {days} days up to {end_at.isoformat()} "
            f"into {settings.database.redacted()}",
        )
        say(
            err,
            f"demo: reproduce with --orders {orders} --seed {seed} --days {days} "
            f"--end {end_at.isoformat()}",
        )
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]demo"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("orders, {task.fields[events]:,} events"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("demo", total=orders, events=0)

            def report(done: int, events: int) -> None:
                progress.update(task, completed=done, events=events)

            summary = run_demo(
                desk, clock, orders=orders, seed=seed, end=end_at, days=days, progress=report
            )
    except DemoError as error:
        fail(str(error))
    finally:
        desk.close()
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        render(summary, Console())
        if summary.already_loaded:
            say(err, f"demo: {summary.already_loaded:,} orders were already loaded (skipped)")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
