"""How one HTTP app is watched: metrics, probes, tracing and CORS, wired in one place.

``create_app`` builds one :class:`Observability` and takes its middleware,
hooks, dependencies, plugins and routes; each part lives in its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins import PluginProtocol
from litestar.types import BeforeMessageSendHookHandler, ControllerRouterHandler, Middleware
from opentelemetry.sdk.trace import TracerProvider

from application.command_outcomes import COMMAND_OUTCOMES
from application.disputes import DisputeDesk
from infrastructure.metrics import Metrics
from infrastructure.metrics_figures import FigureSources
from infrastructure.metrics_webhooks import WebhookCounts
from infrastructure.settings import Settings
from interface.http.controllers.health import Probes
from interface.http.controllers.read_models import ReadModelRoutes
from interface.http.cors import cors_config
from interface.http.idempotency import IdempotencyState
from interface.http.metrics import Scrape, metrics_route
from interface.http.middleware import RequestContextMiddleware, request_id_sender
from interface.http.tracing import SpanNaming, tracer_provider_from_env, tracing_plugin

__all__ = ["Observability"]


@dataclass
class Observability:
    metrics: Metrics
    scrape: Scrape
    probes: Probes
    cors: CORSConfig | None
    #: The tracer provider (None: tracing off); ``owned``: made here, shut down here.
    tracer_provider: TracerProvider | None = None
    owned_provider: bool = False
    _stops: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        application: DisputeDesk,
        settings: Settings,
        read_models: ReadModelRoutes,
        idempotency: IdempotencyState,
        *,
        tracer_provider: TracerProvider | None = None,
    ) -> Observability:
        """``tracer_provider``: trace with it (else as the ``OTEL_*`` variables say)."""
        owned = tracer_provider is None
        provider = tracer_provider or tracer_provider_from_env(settings.ops.traces_exporters)

        def due(now: datetime, limit: int) -> list[datetime]:
            return [case.at for case in read_models.queries().due(now, limit).value]

        def idempotency_keys() -> int:
            keys = idempotency.keys
            if keys is None:
                raise LookupError("the idempotency store is not open")
            return keys.store.count()

        sources = FigureSources(
            now=application.clock.now,
            head=lambda: application.recorder.max_notification_id() or 0,
            positions=lambda: read_models.queries().positions(),
            due=due,
            webhooks=WebhookCounts(settings.database),
            idempotency_keys=idempotency_keys,
        )
        metrics = Metrics()
        return cls(
            metrics=metrics,
            scrape=Scrape(metrics, sources, settings.ops.metrics_token),
            probes=Probes(application, sources.positions, settings.ops.ready_max_lag),
            cors=cors_config(settings.ops.cors_origins),
            tracer_provider=provider,
            owned_provider=owned and provider is not None,
        )

    # ---- what create_app takes -----------------------------------------------------------

    @property
    def route_handlers(self) -> list[ControllerRouterHandler]:
        return [metrics_route]

    @property
    def middleware(self) -> list[Middleware]:
        """Outermost first: the request's context (log, metrics), then its span's name."""
        parts: list[Middleware] = [
            DefineMiddleware(RequestContextMiddleware, observe=self.metrics.request_done)
        ]
        if self.tracer_provider is not None:
            parts.append(SpanNaming)
        return parts

    @property
    def before_send(self) -> BeforeMessageSendHookHandler:
        return request_id_sender(self.metrics.request_done)

    @property
    def plugins(self) -> list[PluginProtocol]:
        if self.tracer_provider is None:
            return []
        return [tracing_plugin(self.tracer_provider)]

    @property
    def dependencies(self) -> dict[str, Provide]:
        scrape, probes = self.scrape, self.probes
        return {
            "scrape": Provide(lambda: scrape, use_cache=True, sync_to_thread=False),
            "probes": Provide(lambda: probes, use_cache=True, sync_to_thread=False),
        }

    def start(self) -> None:
        """Count commands from now on (``on_startup``)."""
        self.metrics.serving()
        self._stops.append(self.metrics.stopped)
        self._stops.append(COMMAND_OUTCOMES.subscribe(self.metrics))

    def stop(self) -> None:
        """Stop counting; flush and end the spans of a provider made here (``on_shutdown``)."""
        while self._stops:
            self._stops.pop()()
        if self.owned_provider and self.tracer_provider is not None:
            self.tracer_provider.shutdown()
