"""``disputedesk policy list|show|publish``: list, read and publish policy versions."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
import typer

from application.policies import published_versions
from application.times import rfc3339
from domain.dispute import Actor
from domain.errors import DomainError
from domain.policy import PolicyError
from interface.cli.common import fail, open_application, settings_of

policy_app = typer.Typer(help="List, show and publish policy versions.", no_args_is_help=True)


@policy_app.command("list")
def list_versions(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON."),
) -> None:
    """Every published version, earliest effective_from first (of equals, the one
    published later is in force)."""
    desk = open_application(settings_of(ctx))
    try:
        versions = published_versions(desk)
    finally:
        desk.close()
    rows: list[dict[str, Any]] = [
        {
            "version": v.version,
            "effective_from": rfc3339(v.effective_from),
            "published_at": rfc3339(v.published_at),
            "published_by": {"role": v.actor_role, "id": v.actor_id},
        }
        for v in versions
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max([len("version"), *(len(row["version"]) for row in rows)])
    typer.echo(f"{'version':{width}}  {'effective from':20}  {'published at':27}  published by")
    for row in rows:
        by = row["published_by"]
        typer.echo(f"{row['version']:{width}}  {row['effective_from']:20}  "
                   f"{row['published_at']:27}  {by['role']} {by['id']}")


@policy_app.command("show")
def show(
    ctx: typer.Context,
    version: str | None = typer.Argument(None, help="A published version (default: current)."),
    output: str = typer.Option("toml", "--format", "-f", help="toml or json."),
) -> None:
    """Print the policy in force now, or VERSION."""
    if output not in ("toml", "json"):
        fail(f"--format must be toml or json; got {output!r}")
    desk = open_application(settings_of(ctx))
    try:
        policy = desk.current_policy() if version is None else desk.policy(version)
    finally:
        desk.close()
    if policy is None:
        fail(f"no policy version {version!r} is published")
    document = policy.to_document()
    if output == "json":
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(tomli_w.dumps(document), nl=False)


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        fail(f"{path} is not valid {kind}: {error}")
    if not isinstance(document, dict):
        fail(f"{path} must hold one policy document (an object/table)")
    return document


@policy_app.command("publish")
def publish(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A policy document, TOML (or JSON if *.json)."),
    actor_id: str = typer.Option("cli", "--as", help="Who publishes (recorded as an analyst)."),
) -> None:
    """Validate FILE and publish it as a new version; prints the version."""
    document = _read_document(file)
    desk = open_application(settings_of(ctx))
    try:
        published = desk.publish_policy(document, Actor("analyst", actor_id))
    except PolicyError as error:
        problems = "; ".join(error.problems)
        fail(f"{file} is not a publishable policy: {problems}")
    except DomainError as error:
        fail(error.detail)
    finally:
        desk.close()
    typer.echo(published["version"])


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
