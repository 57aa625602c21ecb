"""``disputedesk simulate``: replay the history under a candidate policy.

The candidate is a whole policy file (``--policy FILE``, TOML or JSON) or
dotted changes over the current policy (``--set key=value``, repeatable;
values are read as JSON when they parse, else as text). The report is the
API's (``POST /v1/simulations``), built by the same function: ``--json``
prints it as is, ``--html FILE`` writes a self-contained page. A progress
bar on stderr follows the read; nothing is ever written to the event store.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from application.disputes import DisputeDesk
from application.simulator import SimulationRequest, build_request, run_simulation
from domain.errors import DomainError
from domain.policy import PolicyError
from infrastructure.history_reader import history_reader_for
from interface import policy_text
from interface.cli.common import RUNTIME_ERROR, fail, open_application, settings_of
from interface.report_html import figures_changed, render_report

TOP_SELLERS = 15
SHOWN_SAMPLES = 5


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value``; the value is JSON when it parses (3, true, null, "x"), else text."""
    try:
        return policy_text.parse_assignment(text)
    except ValueError as error:
        fail(f"--set takes key=value: {error}")


def parse_instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} must be an RFC 3339 instant such as 2026-11-26T12:00:00Z; got {text!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        fail(f"{option} must carry a UTC offset (Z or +HH:MM); got {text!r}")
    return value


def read_policy(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")
    try:
        return policy_text.parse_policy_document(text, is_json=path.suffix.lower() == ".json")
    except ValueError as error:
        fail(f"{path}: {error}")


def simulate(
    ctx: typer.Context,
    policy: Path | None = typer.Option(
        None, "--policy", help="A whole candidate policy document (TOML, or JSON if *.json)."
    ),
    assignments: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE",
        help="A dotted change over the current policy, e.g. "
        "regions.US.ship_within_business_days=3 (repeatable).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Replay the facts recorded by this instant (default: now)."
    ),
    region: str | None = typer.Option(None, "--region", help="Only orders of this region."),
    seller: str | None = typer.Option(None, "--seller", help="Only orders of this seller."),
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    placed_from: str | None = typer.Option(
        None, "--placed-from", help="Only orders placed at or after this instant."
    ),
    placed_to: str | None = typer.Option(
        None, "--placed-to", help="Only orders placed at or before this instant."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (the API's)."),
    html: Path | None = typer.Option(
        None, "--html", metavar="FILE", help="Also write a self-contained HTML report."
    ),
) -> None:
    """Replay the recorded history under a candidate policy and compare with the current one."""
    document = read_policy(policy) if policy is not None else None
    changes = dict(parse_assignment(item) for item in assignments) if assignments else None
    moment = parse_instant(as_of, "--as-of")
    start = parse_instant(placed_from, "--placed-from")
    end = parse_instant(placed_to, "--placed-to")
    desk = open_application(settings_of(ctx))
    try:
        try:
            request = build_request(
                current=desk.current_policy(),
                now=desk.clock.now(),
                policy=document,
                changes=changes,
                as_of=moment,
                region=region,
                seller_id=seller,
                category=category,
                placed_from=start,
                placed_to=end,
            )
        except PolicyError as error:
            fail("the candidate is not a valid policy:\n" + "\n".join(
                f"  - {problem}" for problem in error.problems
            ))
        except DomainError as error:
            fail(error.detail)
        report = _run(desk, request)
    finally:
        desk.close()
    if html is not None:
        try:
            html.write_text(render_report(report), "utf-8")
        except OSError as error:
            fail(f"cannot write {html}: {error}", RUNTIME_ERROR)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(Console(), report)
        if html is not None:
            Console(stderr=True).print(f"HTML report written to {html}")


def _run(desk: DisputeDesk, request: SimulationRequest) -> dict[str, Any]:
    console = Console(stderr=True)
    with Progress(
        TextColumn("replaying history"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("replay", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return run_simulation(desk, history_reader_for(desk), request, progress=advance)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The report as readable tables (the same figures as ``--json``)."""
    summary = Table(title="Simulation", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    filters = ", ".join(f"{k}={v}" for k, v in report["filters"].items() if v is not None)
    for label, value in (
        ("as of", report["as_of"]),
        ("baseline policy", report["baseline_policy_version"]),
        ("candidate policy", report["candidate_policy_version"]),
        ("filters", filters or "none"),
        ("events read / facts replayed", f"{report['events_read']} / {report['events_replayed']}"),
        ("disputes", str(report["disputes"])),
        ("retimed disputes (same events, other instants)", str(report["retimed_disputes"])),
        ("changed disputes (other events or status)", str(report["changed_disputes"])),
        (
            "counterfactual disputes (a fact the candidate refuses)",
            " ".join(
                [str(report["counterfactual_disputes"])]
                + [f"{kind} {n}" for kind, n in report["counterfactual_facts"].items()]
            ),
        ),
        (
            "baseline reproduces the record",
            "yes" if report["baseline_matches_recorded"]
            else f"NO ({report['mismatched_count']} disputes differ)",
        ),
    ):
        summary.add_row(label, value)
    console.print(summary)

    derived = Table(title="Derived events", title_justify="left")
    for column in ("type", "baseline", "candidate", "change"):
        derived.add_column(column, justify="left" if column == "type" else "right")
    for kind, counts in report["derived"].items():
        delta = counts["candidate"] - counts["baseline"]
        derived.add_row(kind, str(counts["baseline"]), str(counts["candidate"]), f"{delta:+d}")
    console.print(derived)

    if report["refund_exposure"]:
        exposure = Table(title="Refund exposure (automatic refunds)", title_justify="left")
        for column in ("currency", "baseline", "candidate"):
            exposure.add_column(column, justify="left" if column == "currency" else "right")
        for row in report["refund_exposure"]:
            exposure.add_row(
                row["currency"], row["baseline"]["amount"], row["candidate"]["amount"]
            )
        console.print(exposure)
    if report.get("return_postage_exposure"):
        postage = Table(title="Return postage the seller pays", title_justify="left")
        for column in ("currency", "baseline", "candidate"):
            postage.add_column(column, justify="left" if column == "currency" else "right")
        for row in report["return_postage_exposure"]:
            postage.add_row(row["currency"], row["baseline"]["amount"], row["candidate"]["amount"])
        console.print(postage)

    def change(seller: dict[str, Any]) -> float:
        rate = seller["late_dispatch_rate"]
        if rate["baseline"] is None or rate["candidate"] is None:
            return 0.0
        return abs(float(rate["candidate"]) - float(rate["baseline"]))

    changed = [s for s in report["sellers"] if figures_changed(s)]
    sellers = sorted(changed, key=lambda s: (-change(s), s["seller_id"]))[:TOP_SELLERS]
    if sellers:
        table = Table(
            title=f"Sellers whose figures change, the {len(sellers)} most changed "
            f"(of {len(changed)}; {len(report['sellers']) - len(changed)} unchanged)",
            title_justify="left",
        )
        for column in ("seller", "orders", "late baseline", "late candidate",
                       "auto-cancel baseline", "auto-cancel candidate"):
            table.add_column(column, justify="left" if column == "seller" else "right")
        for seller in sellers:
            late, cancel = seller["late_dispatch_rate"], seller["auto_cancel_rate"]
            table.add_row(
                seller["seller_id"], str(seller["orders"]),
                _rate(late["baseline"]), _rate(late["candidate"]),
                _rate(cancel["baseline"]), _rate(cancel["candidate"]),
            )
        console.print(table)

    if report["samples"]:
        samples = Table(
            title="Changed and counterfactual disputes (sample)", title_justify="left"
        )
        for column in ("order", "baseline", "candidate", "change", "impossible fact"):
            samples.add_column(column)
        for sample in report["samples"][:SHOWN_SAMPLES]:
            impossible = sample["impossible_fact"]
            samples.add_row(
                sample["order_id"],
                ", ".join(sample["baseline"]) or "—",
                ", ".join(sample["candidate"]) or "—",
                sample["change"],
                f"{impossible['type']}: {impossible['reason']}" if impossible else "—",
            )
        console.print(samples)
    if report["not_comparable"]:
        skipped = sum(row["disputes"] for row in report["not_comparable"])
        console.print(
            f"[yellow]{skipped} disputes were left out: the candidate has no rules for their "
            "region or category[/yellow]"
        )


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
