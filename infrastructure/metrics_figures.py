"""The gauges a scrape reads from the stores: how far behind each part of the system is.

Read by the worker that answers the scrape, from the database every worker
shares, so they are true whatever the worker count and never summed. Each
source is read on its own: one that fails is reported by
``disputedesk_figures_up{source}`` = 0 and leaves the others standing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from infrastructure.logging import get_logger
from infrastructure.metrics import Figure
from infrastructure.metrics_webhooks import WebhookCounts

__all__ = ["SWEEP_SCAN", "FigureSources", "read_figures"]

#: The most due disputes a scrape counts (the gauge then says "at least this many").
SWEEP_SCAN = 10_000

log = get_logger("disputedesk.metrics")


@dataclass(frozen=True)
class FigureSources:
    """Where the figures come from (plain calls; the composition root wires them)."""

    now: Callable[[], datetime]
    #: The last position recorded in the event log.
    head: Callable[[], int]
    #: Each served read model's position in the log.
    positions: Callable[[], Mapping[str, int]]
    #: Due instants of disputes whose next derived event is due by ``now`` (at most ``limit``).
    due: Callable[[datetime, int], Sequence[datetime]]
    webhooks: WebhookCounts | None = None
    idempotency_keys: Callable[[], int] | None = None


def _gauge(name: str, documentation: str, value: float) -> Figure:
    return Figure(name, documentation, (), (((), float(value)),))


def _log_figures(head: int) -> list[Figure]:
    return [_gauge("disputedesk_event_log_head", "The last position recorded in the event log",
                   head)]


def _projection_figures(sources: FigureSources, head: int) -> list[Figure]:
    positions = sorted(sources.positions().items())
    return [
        Figure("disputedesk_projection_position", "The log position each read model reached",
               ("read_model",), tuple(((name, ), float(p)) for name, p in positions)),
        Figure("disputedesk_projection_lag_events",
               "Events recorded in the log that a read model has not yet applied",
               ("read_model",),
               tuple(((name,), float(max(0, head - p))) for name, p in positions)),
    ]


def _sweeper_figures(sources: FigureSources) -> list[Figure]:
    now = sources.now()
    due = sources.due(now, SWEEP_SCAN)
    oldest = min(due, default=None)
    return [
        _gauge("disputedesk_sweeper_due_disputes",
               "Disputes with a derived event due and not yet recorded (as the disputes view "
               f"says; counted up to {SWEEP_SCAN})", len(due)),
        _gauge("disputedesk_sweeper_oldest_due_seconds",
               "How long ago the earliest unrecorded due instant passed (0: none)",
               max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0),
    ]


def _webhook_figures(counts: WebhookCounts, now: datetime, head: int) -> list[Figure]:
    numbers = counts.read(now)
    return [
        Figure("disputedesk_webhook_deliveries",
               "Webhook deliveries waiting for a 2xx (pending) or given up on (failed)",
               ("status",), ((("pending",), float(numbers.pending)),
                             (("failed",), float(numbers.failed)))),
        _gauge("disputedesk_webhook_oldest_pending_seconds",
               "Age of the oldest pending webhook delivery (0: none)",
               numbers.oldest_pending_seconds),
        _gauge("disputedesk_webhook_fanout_lag_events",
               "Events recorded in the log not yet turned into webhook deliveries",
               max(0, head - numbers.fanout_position)),
        _gauge("disputedesk_webhook_endpoints", "Registered webhook endpoints",
               numbers.endpoints),
        _gauge("disputedesk_webhook_endpoints_disabled",
               "Webhook endpoints disabled (by hand, or after failing too long)",
               numbers.endpoints_disabled),
        _gauge("disputedesk_webhook_endpoints_failing",
               "Webhook endpoints whose recent deliveries all failed", numbers.endpoints_failing),
    ]


def read_figures(sources: FigureSources) -> list[Figure]:
    """Every figure that could be read, and ``disputedesk_figures_up`` per source."""
    figures: list[Figure] = []
    up: list[tuple[tuple[str, ...], float]] = []
    head: int | None = None

    def attempt(source: str, read: Callable[[], list[Figure]]) -> None:
        try:
            figures.extend(read())
        except Exception as error:  # a source that fails is reported, never fatal
            log.warning("metrics.figures_failed", source=source, error=str(error),
                        error_type=type(error).__name__)
            up.append(((source,), 0.0))
            return
        up.append(((source,), 1.0))

    def read_head() -> list[Figure]:
        nonlocal head
        head = sources.head()
        return _log_figures(head)

    attempt("log", read_head)
    if head is not None:
        known: int = head
        attempt("projections", lambda: _projection_figures(sources, known))
        if sources.webhooks is not None:
            webhooks = sources.webhooks
            attempt("webhooks", lambda: _webhook_figures(webhooks, sources.now(), known))
    attempt("sweeper", lambda: _sweeper_figures(sources))
    if sources.idempotency_keys is not None:
        count = sources.idempotency_keys
        attempt("idempotency", lambda: [
            _gauge("disputedesk_idempotency_keys", "Idempotency keys held", count())
        ])
    figures.append(Figure("disputedesk_figures_up",
                          "1 when the figures of a source could be read at this scrape",
                          ("source",), tuple(up)))
    return figures
