"""The ``disputedesk`` command line (typer).

Each command lives in its own module with a ``register(app)`` function, and is
added here with one line. To add a command ``foo``: write ``interface/cli/foo.py``
with ``def register(app: typer.Typer) -> None`` (use ``common.settings_of(ctx)``
and ``common.open_application(settings)``), then add ``foo.register(app)`` below.
"""

from __future__ import annotations

import sys

import typer

from infrastructure.settings import SettingsError
from interface.cli import common, demo, policy, project, serve, simulate, sweep, token

app = typer.Typer(
    name="disputedesk",
    help="Event-sourced case management for marketplace orders that are not shipped.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(common.start)

serve.register(app)
token.register(app)
policy.register(app)
demo.register(app)
project.register(app)
simulate.register(app)
sweep.register(app)


def main() -> None:
    try:
        app()
    except SettingsError as error:
        print(f"disputedesk: {error}", file=sys.stderr)
        sys.exit(2)
