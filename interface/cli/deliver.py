"""``disputedesk deliver``: deliver webhooks (``serve`` does it too, unless told not to).

Run it beside servers started with ``DISPUTEDESK_DELIVER_IN_SERVE=0``, or as
several processes on PostgreSQL: they share the work, and no delivery is
attempted by two at once. ``--once`` fans out what is new, attempts what is
due, waits for those attempts, and exits.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import typer
from rich.console import Console

from infrastructure.webhook_runtime import open_webhooks
from interface.cli.common import open_application, settings_of


def deliver(
    ctx: typer.Context,
    once: bool = typer.Option(
        False, "--once", help="Deliver what is due now, wait for those attempts, then exit."
    ),
) -> None:
    """Deliver the public events to the registered webhook endpoints.

    Without --once, run until stopped (Ctrl-C or SIGTERM). Exit status: 0 done;
    1 when the database cannot be reached; 2 bad usage or a store that cannot serve.
    """
    settings = settings_of(ctx)
    desk = open_application(settings)
    webhooks = open_webhooks(desk, settings)
    console = Console(stderr=True)
    try:
        if once:
            read, sent = 0, 0
            with ThreadPoolExecutor(settings.webhooks.concurrency) as pool:
                while True:
                    count, at_head = webhooks.delivery.fan_out()
                    read += count
                    if at_head:
                        break
                sent = webhooks.delivery.send_due(pool, limit=10_000)
            console.print(f"deliver: {read} new events fanned out, {sent} attempts made")
            return
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        webhooks.start_worker()
        console.print("deliver: delivering webhooks (Ctrl-C to stop)")
        stop.wait()
    finally:
        webhooks.close()
        desk.close()


def register(app: typer.Typer) -> None:
    app.command("deliver")(deliver)
