"""Liveness and event-store reachability; no token needed."""

from __future__ import annotations

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from application.disputes import DisputeDesk
from infrastructure.bootstrap import HEALTH_TIMEOUT, check_event_store
from infrastructure.logging import get_logger
from interface.http.auth import PUBLIC
from interface.http.routes import get
from interface.http.schemas import Health

log = get_logger("disputedesk.http")


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/",
        sync_to_thread=True,
        opt={PUBLIC: True},
        security=[{}],
        summary="Liveness and store reachability",
        description="200 `{\"status\": \"ok\", \"store\": \"ok\"}` when the event store "
        "answers, else 503 with `\"store\": \"unavailable\"` (a database that does not "
        f"answer is reported within about {HEALTH_TIMEOUT:g} s). No token needed.",
        responses={503: ResponseSpec(Health, description="The event store does not answer")},
    )
    def health(self, desk: NamedDependency[DisputeDesk]) -> Response[Health]:
        try:
            check_event_store(desk, timeout=HEALTH_TIMEOUT)
        except Exception as error:  # any failure of the store means "unavailable"
            log.warning(
                "health.store_unavailable", error=str(error), error_type=type(error).__name__
            )
            return Response(Health(status="unavailable", store="unavailable"), status_code=503)
        return Response(Health(status="ok", store="ok"))
