"""Prometheus metrics of a served process (prometheus-client).

Counters and the latency histogram live in the process that counts them. Under
``serve --workers N`` every worker writes its values to files in the directory
``PROMETHEUS_MULTIPROC_DIR`` names (``serve`` makes a private one before the
workers start), and a scrape of any worker sums them all. Figures that describe
the stores (projection lag, webhook backlog, ...) are read from the database at
scrape time by the worker that answers, so they are never summed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from application.command_outcomes import Outcome

__all__ = [
    "MULTIPROC_ENV",
    "Figure",
    "Metrics",
    "multiprocess_dir",
    "private_multiprocess_dir",
]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Request latency buckets (s): a case read from memory takes milliseconds, a
#: command tens of them, a request that cannot finish is cut at its deadline.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Figure:
    """One gauge read at scrape time: its samples as (label values, value)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    samples: tuple[tuple[tuple[str, ...], float], ...]


def multiprocess_dir() -> str | None:
    """The directory the workers share values through, when there is one."""
    return os.environ.get(MULTIPROC_ENV) or None


def private_multiprocess_dir() -> Callable[[], None]:
    """Make a private directory for the workers' values and name it in the environment.

    Call it before the worker processes start (they inherit the environment and
    read it when they import prometheus-client). Returns the call that removes it.
    """
    path = tempfile.mkdtemp(prefix="disputedesk-metrics-")  # mode 0700
    os.environ[MULTIPROC_ENV] = path

    def remove() -> None:
        if os.environ.get(MULTIPROC_ENV) == path:
            del os.environ[MULTIPROC_ENV]
        shutil.rmtree(path, ignore_errors=True)

    return remove


class _Figures(Collector):
    """The figures of one scrape, as a collector."""

    def __init__(self, figures: Sequence[Figure]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        for figure in self._figures:
            family = GaugeMetricFamily(
                figure.name, figure.documentation, labels=list(figure.labels)
            )
            for values, value in figure.samples:
                family.add_metric(list(values), value)
            yield family


class Metrics:
    """The counters of one app, and their rendering for a scrape.

    Also a command observer (:class:`application.command_outcomes.CommandObserver`).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._shared = multiprocess_dir()
        if self._shared is None:
            ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "disputedesk_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "disputedesk_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "disputedesk_commands",
            "Commands on disputes, by command and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "disputedesk_events_appended",
            "Events this process's commands and sweeps appended to the log, by type",
            ["event_type"],
            registry=self.registry,
        )
        #: 1 per serving worker (under several workers, one sample per ``pid``).
        self.workers = Gauge(
            "disputedesk_workers",
            "Worker processes serving the API (one sample per pid under several workers)",
            registry=self.registry,
            multiprocess_mode="liveall",
        )

    # ---- a worker's life -------------------------------------------------------------

    def serving(self) -> None:
        self.workers.set(1)

    def stopped(self) -> None:
        """This worker ends: its live gauges leave the shared directory."""
        self.workers.set(0)
        if self._shared is not None:
            mark_process_dead(os.getpid(), self._shared)  # type: ignore[no-untyped-call]

    # ---- counting --------------------------------------------------------------------

    def request_done(self, method: str, route: str, status: int, seconds: float | None) -> None:
        self.requests.labels(method, route, str(status)).inc()
        if seconds is not None:
            self.latency.labels(method, route).observe(seconds)

    def command_done(self, command: str, outcome: Outcome) -> None:
        self.commands.labels(command, outcome.value).inc()

    def events_appended(self, event_types: list[str]) -> None:
        for name in event_types:
            self.events.labels(name).inc()

    # ---- scraping --------------------------------------------------------------------

    def render(self, figures: Iterable[Figure], accept: str | None) -> tuple[bytes, str]:
        """The exposition of every counter (of every worker) and ``figures``."""
        registry = CollectorRegistry(auto_describe=False)
        if self._shared is not None:
            MultiProcessCollector(registry, path=self._shared)  # type: ignore[no-untyped-call]
        else:
            registry.register(_Counted(self.registry))
        registry.register(_Figures(tuple(figures)))
        encoder, content_type = choose_encoder(accept or "")
        return encoder(registry), content_type


class _Counted(Collector):
    """This process's own registry, as a collector of the scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()
