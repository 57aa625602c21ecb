"""``disputedesk token``: print a development bearer token, and nothing else, on stdout."""

from __future__ import annotations

import re
from datetime import timedelta

import typer

from domain.dispute import ROLES
from interface.cli.common import fail, settings_of
from interface.http.auth import (
    DEFAULT_TTL,
    MAX_SUBJECT_LENGTH,
    SecretError,
    issue_token,
    resolve_secret,
    subject_problem,
)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"s": 1, "": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d`` or plain seconds."""
    match = _DURATION.match(text.lower())
    if match is None or int(match[1]) <= 0:
        raise ValueError(f"--ttl must look like 30m, 12h or 7d; got {text!r}")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def token(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    subject: str = typer.Option(
        ...,
        "--subject",
        help="The buyer's or seller's id, or a staff id (the `sub` claim): printable, "
        f"at most {MAX_SUBJECT_LENGTH} characters.",
    ),
    ttl: str = typer.Option(
        f"{int(DEFAULT_TTL.total_seconds() // 3600)}h",
        "--ttl",
        help="How long the token is valid: 30m, 12h, 7d...",
    ),
    supervisor: bool = typer.Option(
        False,
        "--supervisor",
        help="A supervising moderator's token (`supervisor: true`): may read the access "
        "audit. Moderators only.",
    ),
) -> None:
    """Print a signed bearer token for ROLE and SUBJECT."""
    settings = settings_of(ctx)
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}; got {role!r}")
    if supervisor and role != "moderator":
        fail(f"--supervisor is for moderators only; got --role {role}")
    problem = subject_problem(subject.strip())
    if problem is not None:
        fail(f"--subject: {problem}")
    try:
        lifetime = parse_ttl(ttl)
        secret = resolve_secret(settings)
    except (ValueError, SecretError) as error:
        fail(str(error))
    typer.echo(issue_token(secret, role, subject, ttl=lifetime, supervisor=supervisor))
    if not settings.identity.dev_tokens:
        typer.echo("disputedesk: note: with DISPUTEDESK_JWKS_* set, the API refuses development "
                   "tokens unless DISPUTEDESK_ALLOW_DEV_TOKENS=1", err=True)


def register(app: typer.Typer) -> None:
    app.command("token")(token)
