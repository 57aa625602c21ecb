"""Liveness and event-store reachability; no token needed."""

from __future__ import annotations

import anyio
import anyio.to_thread
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
        operation_id="getHealth",
        opt={PUBLIC: True},
        security=[{}],
        summary="Liveness and store reachability",
        description="200 `{\"status\": \"ok\", \"store\": \"ok\"}` when the event store "
        "answers, else 503 with `\"store\": \"unavailable\"` (a database that is down or "
        f"does not answer is reported within about {HEALTH_TIMEOUT:g} s). No token needed.",
        responses={503: ResponseSpec(Health, description="The event store does not answer")},
    )
    async def health(self, desk: NamedDependency[DisputeDesk]) -> Response[Health]:
        # The check runs in a thread this request abandons after HEALTH_TIMEOUT: on a
        # database that hangs, a query waits on its socket and no timeout of the
        # pool or of libpq ends it. The thread finishes when the connection does.
        try:
            with anyio.fail_after(HEALTH_TIMEOUT):
                await anyio.to_thread.run_sync(
                    check_event_store, desk, HEALTH_TIMEOUT, abandon_on_cancel=True
                )
        except Exception as error:  # any failure of the store means "unavailable"
            detail = str(error)
            if isinstance(error, TimeoutError) and not detail:
                detail = f"no answer within {HEALTH_TIMEOUT:g} s"
            log.warning(
                "health.store_unavailable", error=detail, error_type=type(error).__name__
            )
            return Response(Health(status="unavailable", store="unavailable"), status_code=503)
        return Response(Health(status="ok", store="ok"))
