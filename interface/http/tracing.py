"""OpenTelemetry tracing of the HTTP app, off unless the ``OTEL_*`` variables ask for it.

Litestar's OpenTelemetry plugin opens one server span per request around the
whole app, before routing, so it starts named by the method alone; the
``SpanNaming`` middleware, which runs once the route is known, renames it
``METHOD /route/{template}`` and sets ``http.route`` (never the raw path). The
query string in the span's attributes has its secrets hidden, as in the log.
Exporters are the SDK's by name (``OTEL_TRACES_EXPORTER``: ``otlp``, which is
OTLP over HTTP here, or ``console``); the service is ``OTEL_SERVICE_NAME``
(default ``disputedesk``); every other ``OTEL_*`` variable the SDK reads applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from litestar.enums import ScopeType
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span

from infrastructure.ops_settings import TRACES_EXPORTERS
from interface.http.query_redaction import redacted_query

__all__ = ["SpanNaming", "tracer_provider_from_env", "tracing_plugin"]

_DEFAULT_SERVICE = "disputedesk"
_URL_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query")


class TracingError(ValueError):
    """An exporter named in ``OTEL_TRACES_EXPORTER`` is not installed."""


def _exporter(name: str) -> SpanExporter:
    found = {point.name: point for point in entry_points(group=TRACES_EXPORTERS)}
    if name == "otlp" and "otlp" not in found:
        name = "otlp_proto_http"  # the OTLP exporter installed with disputedesk
    point = found.get(name)
    if point is None:
        raise TracingError(
            f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed; "
            f"use one of {', '.join(sorted({'otlp', *found}))} or none"
        )
    exporter: SpanExporter = point.load()()
    return exporter


def tracer_provider_from_env(exporters: Sequence[str]) -> TracerProvider | None:
    """A tracer provider exporting to ``exporters`` (None when there are none)."""
    if not exporters:
        return None
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: _DEFAULT_SERVICE}))
    provider = TracerProvider(resource=resource)
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The span's first name, before routing: the method (semantic conventions)."""
    return str(scope.get("method") or scope.get("type", "")), {}


def _hide_query_secrets(span: Span, scope: dict[str, Any]) -> None:
    attributes = getattr(span, "attributes", None) or {}
    raw: bytes = scope.get("query_string") or b""
    if not raw:
        return
    shown = redacted_query(raw) or ""
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            base = value.partition("?")[0]
            span.set_attribute(key, shown if key == "url.query" else f"{base}?{shown}")


def tracing_plugin(provider: TracerProvider) -> OpenTelemetryPlugin:
    return OpenTelemetryPlugin(OpenTelemetryConfig(
        tracer_provider=provider,
        scope_span_details_extractor=_method_only,
        server_request_hook_handler=_hide_query_secrets,
        exclude_spans=["receive", "send"],  # one span per request
        scopes={ScopeType.HTTP},
    ))


class SpanNaming:
    """Names the request's span after its route template, once routing found it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        template = scope.get("path_template")
        if span.is_recording() and template:
            span.update_name(f"{scope.get('method')} {template}")
            span.set_attribute("http.route", template)
        await self.app(scope, receive, send)
