"""``disputedesk audit``: the access audit, read from the store (who read which case's
history and evidence files), newest first, as a table or (``--json``) JSON lines.

The same entries and filters as ``GET /v1/audit/access``; whoever may open the store
may read it. Exit status: 0 done; 1 or 2 a store that cannot be opened or read.
"""

from __future__ import annotations

import json
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from application.access_audit import AccessEntry, AccessQuery
from application.public_events import rfc3339
from infrastructure.access_audit_store import access_log_at
from interface.cli.common import USAGE_ERROR, fail, settings_of, store_problem
from interface.cli.store_files import instant

#: The most entries one run prints.
MAX_LIMIT = 10_000
#: The table's width when the output is not a terminal.
PIPED_WIDTH = 200


def _dispute(text: str | None) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text.strip())
    except ValueError:
        fail(f"--dispute must be a dispute id (a UUID), got {text!r}", USAGE_ERROR)


def _row(entry: AccessEntry) -> dict[str, object]:
    record = entry.record
    return {
        "id": entry.seq, "at": rfc3339(record.at), "actor_role": record.actor_role,
        "actor_id": record.actor_id, "dispute_id": str(record.dispute_id),
        "read": record.read.value, "evidence_id": record.evidence_id,
        "channel": record.channel.value, "request_id": record.request_id,
    }


def _table(entries: list[AccessEntry]) -> Table:
    table = Table(title="access audit (newest first)", title_justify="left")
    for column in ("id", "at", "moderator", "dispute", "read", "channel", "request"):
        table.add_column(column, no_wrap=column in ("id", "at", "dispute"))
    for entry in entries:
        row = _row(entry)
        what = str(row["read"]) + (f" {row['evidence_id']}" if row["evidence_id"] else "")
        table.add_row(str(row["id"]), str(row["at"]), str(row["actor_id"]),
                      str(row["dispute_id"]), what, str(row["channel"]),
                      str(row["request_id"] or ""))
    return table


def audit(
    ctx: typer.Context,
    moderator: str | None = typer.Option(None, "--moderator", help="Only this moderator's reads."),
    dispute: str | None = typer.Option(None, "--dispute", help="Only reads of this dispute id."),
    since: str | None = typer.Option(
        None, "--since", help="Only reads at or after this instant (RFC 3339)."),
    until: str | None = typer.Option(
        None, "--until", help="Only reads before this instant (RFC 3339)."),
    before: int | None = typer.Option(
        None, "--before", min=1, help="Only entries older than this id (the next page)."),
    limit: int = typer.Option(50, "--limit", min=1, max=MAX_LIMIT, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
) -> None:
    """Print who read which case's history and evidence files (moderators' reads)."""
    settings = settings_of(ctx)
    start, stop = instant("--since", since), instant("--until", until)
    if start is not None and stop is not None and stop <= start:
        fail("--until must be after --since", USAGE_ERROR)
    query = AccessQuery(limit=limit, before_seq=before, actor_id=moderator,
                        dispute_id=_dispute(dispute), since=start, until=stop)
    try:
        with access_log_at(settings.database) as log:
            entries = log.entries(query)
    except Exception as error:
        problem = store_problem(error, sqlite=settings.database.is_sqlite)
        if problem is None:
            raise
        message, code = problem
        fail(f"cannot read the access audit at {settings.database.redacted()}: {message}", code)
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(_row(entry), ensure_ascii=False))
        return
    out = Console(highlight=False)
    if not out.is_terminal:  # piped: the rows whole, not folded to 80 columns
        out = Console(highlight=False, width=PIPED_WIDTH)
    out.print(_table(entries))


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
