"""The operations settings, read from the environment (see :mod:`infrastructure.settings`).

================================= ===============================================================
``DISPUTEDESK_METRICS_TOKEN``      a bearer token ``/metrics`` requires (unset: none needed)
``DISPUTEDESK_READY_MAX_LAG``      events a projection may trail the log while ready (1000)
``DISPUTEDESK_CORS_ORIGINS``       comma-separated origins browsers may call from (unset: none)
``DISPUTEDESK_THREADS``            threads per server process for blocking work: commands, store
                                   reads (1 to 256; unset: Python's default, CPUs + 4, at most 32)
``OTEL_TRACES_EXPORTER``           e.g. ``otlp`` or ``console``: tracing on (unset or ``none``: off;
                                   ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`` alone means ``otlp``)
``OTEL_SDK_DISABLED``              ``true``: tracing off whatever else says
================================= ===============================================================

Kept apart from the core settings so that each concern reads its own variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from infrastructure.settings_errors import SettingsError

__all__ = ["OpsSettings", "ops_settings"]

Get = Callable[[str], str | None]

DEFAULT_READY_MAX_LAG = 1000
#: The most threads ``DISPUTEDESK_THREADS`` may ask for.
MAX_THREADS = 256
#: The entry-point group under which the OpenTelemetry SDK's span exporters register.
TRACES_EXPORTERS = "opentelemetry_traces_exporter"
_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$")


@dataclass(frozen=True, slots=True)
class OpsSettings:
    """Metrics, probes, CORS, tracing and threads: what a platform's operators set."""

    metrics_token: str | None = None
    ready_max_lag: int = DEFAULT_READY_MAX_LAG
    cors_origins: tuple[str, ...] = ()
    #: Names of the span exporters (``OTEL_TRACES_EXPORTER``); empty: tracing is off.
    traces_exporters: tuple[str, ...] = ()
    #: Threads per server process for blocking work (None: Python's default).
    threads: int | None = None

    def __repr__(self) -> str:  # never print the token
        token = "'***'" if self.metrics_token else "None"
        return (
            f"OpsSettings(metrics_token={token}, ready_max_lag={self.ready_max_lag}, "
            f"cors_origins={self.cors_origins!r}, traces_exporters={self.traces_exporters!r}, "
            f"threads={self.threads!r})"
        )


def _max_lag(get: Get) -> int:
    raw = get("DISPUTEDESK_READY_MAX_LAG")
    if raw is None:
        return DEFAULT_READY_MAX_LAG
    if not raw.isdigit():
        raise SettingsError(
            f"DISPUTEDESK_READY_MAX_LAG must be a whole number of events >= 0, got {raw!r}"
        )
    return int(raw)


def _threads(get: Get) -> int | None:
    raw = get("DISPUTEDESK_THREADS")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_THREADS:
        raise SettingsError(
            f"DISPUTEDESK_THREADS must be a whole number of threads from 1 to {MAX_THREADS} "
            f"(or unset for Python's default), got {raw!r}"
        )
    return int(raw)


def _origins(get: Get) -> tuple[str, ...]:
    raw = get("DISPUTEDESK_CORS_ORIGINS")
    if raw is None:
        return ()
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise SettingsError(
                "DISPUTEDESK_CORS_ORIGINS must list origins such as https://ops.example.com "
                f"(scheme, host and optional port, comma-separated) or *, got {origin!r}"
            )
    return origins


def _exporters(get: Get) -> tuple[str, ...]:
    disabled = (get("OTEL_SDK_DISABLED") or "").lower()
    if disabled == "true":
        return ()
    raw = get("OTEL_TRACES_EXPORTER")
    if raw is None:
        endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ("otlp",) if endpoint else ()
    names = tuple(name.strip().lower() for name in raw.split(",") if name.strip())
    names = tuple(name for name in names if name != "none")
    # "otlp" is OTLP over HTTP here (the exporter installed with disputedesk).
    known = {"otlp", *(point.name for point in entry_points(group=TRACES_EXPORTERS))}
    for name in names:
        if name not in known:
            raise SettingsError(
                f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed; use one of "
                f"{', '.join(sorted(known))}, or none"
            )
    return names


def ops_settings(get: Get) -> OpsSettings:
    return OpsSettings(
        metrics_token=get("DISPUTEDESK_METRICS_TOKEN"),
        ready_max_lag=_max_lag(get),
        cors_origins=_origins(get),
        traces_exporters=_exporters(get),
        threads=_threads(get),
    )
