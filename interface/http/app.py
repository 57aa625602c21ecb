"""The Litestar application: routes, auth, errors, idempotency, OpenAPI, observability.

With :func:`infrastructure.bootstrap.build_application` this is the composition
root of a served process (:func:`app_from_env`, ``serve``): the application,
then the HTTP app and the workers it owns (projections, the sweeper, the purge
of idempotency keys), each started at start-up and stopped at shutdown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import ControllerRouterHandler
from opentelemetry.sdk.trace import TracerProvider

from application.disputes import DisputeDesk
from application.due_index import ReadModelDueIndex
from application.idempotency import IdempotencyKeys, IdempotencyStore
from application.sweeper import Sweeper, start_sweeping
from application.webhook_endpoints import WebhookEndpoints
from domain.dispute import Actor
from infrastructure.bootstrap import build_application
from infrastructure.idempotency_store import open_idempotency_store
from infrastructure.logging import configure_logging, get_logger
from infrastructure.periodic import every
from infrastructure.private_files import PRIVATE_UMASK
from infrastructure.rate_limiter import RateLimiter
from infrastructure.settings import Settings
from infrastructure.stores.runtime import Projections
from infrastructure.webhook_runtime import Webhooks, open_webhooks
from interface.console.router import console_router, template_config
from interface.http.auth import Auth, resolve_secret
from interface.http.body_limits import BodyLimitMiddleware
from interface.http.controllers.appeals import AppealsController, ReasonCodesController
from interface.http.controllers.audit import AuditController
from interface.http.controllers.deadlines import DeadlinesController
from interface.http.controllers.disputes import DisputesController
from interface.http.controllers.events import EventsController
from interface.http.controllers.evidence import EvidenceController
from interface.http.controllers.health import HealthController
from interface.http.controllers.orders import OrdersController
from interface.http.controllers.policies import PoliciesController
from interface.http.controllers.read_models import ReadModelRoutes
from interface.http.controllers.sellers import seller_routes
from interface.http.controllers.simulations import SimulationsController
from interface.http.controllers.webhooks import WebhooksController
from interface.http.deadline import DeadlineMiddleware
from interface.http.errors import exception_handlers
from interface.http.guards import actor_of
from interface.http.idempotency import IdempotencyMiddleware, IdempotencyState
from interface.http.observability import Observability
from interface.http.openapi import ClosedStructSchemaPlugin, openapi_config
from interface.http.rate_limits import RateLimitMiddleware
from interface.http.runtime import freeze_startup_heap, thread_pool
from interface.http.schemas import prepare_struct_types
from interface.http.stream_caps import StreamCap
from interface.http.strict_body import strict_json_body

API_VERSION = "1"
#: How often ``serve`` forgets idempotency keys past their retention (s).
PURGE_INTERVAL = 600.0
log = get_logger("disputedesk.http")

#: The routes of this module's areas; other areas arrive through ``extra_route_handlers``.
ROUTE_HANDLERS: tuple[ControllerRouterHandler, ...] = (
    HealthController,
    OrdersController,
    DisputesController,
    EvidenceController,
    AppealsController,
    PoliciesController,
    ReasonCodesController,
    SimulationsController,
    DeadlinesController,
    EventsController,
    WebhooksController,
    AuditController,
)

Hook = Callable[[], Any]


def _provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return actor_of(request)


def create_app(
    application: DisputeDesk,
    settings: Settings,
    *,
    extra_route_handlers: Sequence[ControllerRouterHandler] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    idempotency_store: IdempotencyStore | None = None,
    background: bool = False,
    sweep_interval: float = 5.0,
    projections: Projections | None = None,
    webhooks: Webhooks | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Litestar:
    """The HTTP API over one shared application.

    Handlers get ``desk`` (the application) and ``actor`` (the caller) injected.
    The idempotency store opens at start-up on the events' database, unless one
    is given; the application is the caller's to close (pass ``on_shutdown``).
    At start-up the app begins following the event log (``projections``, this
    process's projection worker, built here unless given); they stop at
    shutdown. ``background``: also sweep deadlines every ``sweep_interval``
    seconds, purge expired idempotency keys and (unless the settings say another
    process does) deliver webhooks, as ``serve`` does. ``webhooks``: the webhook
    parts to use (opened on the events' database at start-up unless given; the
    app keeps them in ``app.state.webhooks``). ``tracer_provider``: trace every request
    with it (else tracing follows the ``OTEL_*`` variables: off unless they ask).
    Metrics (``/metrics``), probes, CORS: ``interface/http/observability.py``.
    Request rates, open streams and body sizes are limited as ``settings.limits`` and
    ``interface/http/body_limits.py`` say.
    """
    prepare_struct_types()  # before any worker thread converts a response
    secret = resolve_secret(settings)
    auth = Auth.build(secret, settings.identity)
    idempotency = IdempotencyState()
    projections = projections or Projections(application, settings)
    read_models = ReadModelRoutes(settings, application)
    watch = Observability.build(application, settings, read_models, idempotency,
                                tracer_provider=tracer_provider)
    limiter = RateLimiter(settings.limits, watch.metrics.registry)
    stream_cap = StreamCap(settings.limits.max_streams)
    rate_limits = ([DefineMiddleware(RateLimitMiddleware, limiter=limiter)]
                   if settings.limits.rate_limited else [])

    def say_rate_limits() -> None:
        if settings.limits.rate_limited and not limiter.shared:
            log.warning("rate_limit.per_process", detail="request rates are counted by each "
                        "process alone: set DISPUTEDESK_REDIS_URL to share them across "
                        "workers and hosts")
        else:
            log.info("rate_limit.backend", backend=limiter.describe())

    def open_idempotency() -> None:
        store = idempotency_store
        if store is None:
            store = open_idempotency_store(settings.database)
            idempotency.owned.append(store)
        idempotency.keys = IdempotencyKeys(store, application.clock)
        idempotency.render_case = lambda dispute_id, version, actor: (
            application.case_as_answered(dispute_id, actor, version)
        )
        purge_idempotency_keys()

    def purge_idempotency_keys() -> None:
        keys = idempotency.keys
        if keys is None:
            return
        purged = keys.purge_expired()
        if purged:
            log.info("idempotency.purged", keys=purged)

    sweepers: list[Sweeper] = []
    stops: list[Callable[[], None]] = []

    def provide_sweeper() -> Sweeper:
        if not sweepers:
            sweepers.append(Sweeper(application, ReadModelDueIndex(read_models.queries())))
        return sweepers[0]

    hooks: list[Webhooks] = []

    def open_webhook_parts(app: Litestar) -> None:
        parts = webhooks or open_webhooks(application, settings)
        hooks.append(parts)
        app.state.webhooks = parts

    def provide_webhooks() -> WebhookEndpoints:
        return hooks[0].endpoints

    def start_background() -> None:
        read_models.queries()  # sets the read-model store up before the worker starts
        projections.start()
        if background and settings.deliver_in_serve:
            hooks[0].start_worker()
        if background:
            stops.append(start_sweeping(provide_sweeper(), sweep_interval))
            stops.append(every(PURGE_INTERVAL, purge_idempotency_keys, "idempotency-purge"))

    def stop_background() -> None:
        while stops:
            stops.pop()()
        projections.stop()

    def close_webhooks() -> None:
        while hooks:
            parts = hooks.pop()
            if webhooks is None:
                parts.close()
            else:
                while parts.workers:
                    parts.workers.pop().stop()

    def close_idempotency() -> None:
        idempotency.keys = None
        while idempotency.owned:
            idempotency.owned.pop().close()

    return Litestar(
        route_handlers=[*ROUTE_HANDLERS, read_models.router, seller_routes(read_models),
                        console_router(secret, auth.verifier, read_models.queries,
                                       secure_cookies=settings.console_secure_cookies),
                        *watch.route_handlers, *extra_route_handlers],
        template_config=template_config(),
        dependencies={
            "desk": Provide(lambda: application, use_cache=True, sync_to_thread=False),
            "actor": Provide(_provide_actor, sync_to_thread=False),
            "sweeper": Provide(provide_sweeper, sync_to_thread=True),
            "webhooks": Provide(provide_webhooks, sync_to_thread=False),
            "stream_cap": Provide(lambda: stream_cap, use_cache=True, sync_to_thread=False),
            **watch.dependencies,
        },
        middleware=[
            *watch.middleware,
            DeadlineMiddleware,
            BodyLimitMiddleware,
            auth.jwt.middleware,
            *rate_limits,
            DefineMiddleware(IdempotencyMiddleware, state=idempotency),
        ],
        exception_handlers=exception_handlers(),
        plugins=[ClosedStructSchemaPlugin(), *watch.plugins],
        cors_config=watch.cors,
        before_request=strict_json_body,
        before_send=[watch.before_send],
        on_startup=[thread_pool(settings.ops.threads), say_rate_limits, open_idempotency,
                    open_webhook_parts, start_background, watch.start, *on_startup],
        on_shutdown=[watch.stop, stop_background, close_webhooks, read_models.close,
                     *on_shutdown, close_idempotency],
        openapi_config=openapi_config([auth.jwt.openapi_components],
                                      [auth.jwt.security_requirement], version=API_VERSION),
        logging_config=None,
        debug=False,
    )


def server_app(application: DisputeDesk, settings: Settings) -> Litestar:
    """The app as a server runs it: background work on, the start-up heap frozen."""
    return create_app(
        application,
        settings,
        on_startup=[freeze_startup_heap],
        on_shutdown=[application.close],
        background=True,
    )


def app_from_env() -> Litestar:
    """The ASGI app factory for ``uvicorn --factory`` (one application per process)."""
    os.umask(PRIVATE_UMASK)  # what the process creates (the SQLite store) is private
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    return server_app(build_application(settings), settings)
