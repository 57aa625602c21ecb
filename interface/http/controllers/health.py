"""Probes: ``/livez`` (the process answers), ``/readyz`` (it can serve), ``/health``.

Ready means the event store answers within its bounded wait AND every read
model trails the log by at most ``DISPUTEDESK_READY_MAX_LAG`` events: a worker
whose projections stalled serves stale lists, so it should leave the load
balancer until they catch up. No token needed; each answer is logged at debug.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anyio
import anyio.to_thread
from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

from application.disputes import DisputeDesk
from application.projections.catalog import READ_MODELS
from infrastructure.bootstrap import HEALTH_TIMEOUT, check_event_store
from infrastructure.logging import get_logger
from interface.http.auth import PUBLIC
from interface.http.metrics import QUIET
from interface.http.routes import get

log = get_logger("disputedesk.http")

_PROBE = {PUBLIC: True, QUIET: True}


class Liveness(Struct):
    status: str = "ok"


class ProjectionLag(Struct):
    position: int
    lag: int
    ready: bool


class Readiness(Struct, omit_defaults=True):
    """``store``: ``ok`` or ``unavailable``; ``projections`` and ``max_lag`` are given
    when a read model is behind (or not built: position -1)."""

    status: str
    store: str
    projections: dict[str, ProjectionLag] | None = None
    max_lag: int | None = None


@dataclass(frozen=True)
class Probes:
    """What readiness reads: the application, the read models' positions, the bound."""

    desk: DisputeDesk
    positions: Callable[[], Mapping[str, int]]
    max_lag: int

    def readiness(self) -> Readiness:
        """Blocking: the store's check, then each read model's lag behind the log."""
        check_event_store(self.desk, HEALTH_TIMEOUT)
        head = self.desk.recorder.max_notification_id() or 0
        positions = self.positions()
        lags: dict[str, ProjectionLag] = {}
        for name in READ_MODELS:
            position = positions.get(name)
            if position is None:
                lags[name] = ProjectionLag(position=-1, lag=head, ready=False)
                continue
            lag = max(0, head - position)
            lags[name] = ProjectionLag(position=position, lag=lag, ready=lag <= self.max_lag)
        if all(entry.ready for entry in lags.values()):
            return Readiness(status="ok", store="ok")
        return Readiness(status="unavailable", store="ok", projections=lags,
                         max_lag=self.max_lag)


async def _readiness(probes: Probes) -> Readiness:
    # The check runs in a thread this request abandons after HEALTH_TIMEOUT: on a
    # database that hangs, a query waits on its socket and no timeout of the
    # pool or of libpq ends it. The thread finishes when the connection does.
    try:
        with anyio.fail_after(HEALTH_TIMEOUT):
            return await anyio.to_thread.run_sync(probes.readiness, abandon_on_cancel=True)
    except Exception as error:  # any failure of the store means "unavailable"
        detail = str(error)
        if isinstance(error, TimeoutError) and not detail:
            detail = f"no answer within {HEALTH_TIMEOUT:g} s"
        log.warning("health.store_unavailable", error=detail, error_type=type(error).__name__)
        return Readiness(status="unavailable", store="unavailable")


def _answer(readiness: Readiness) -> Response[Readiness]:
    if readiness.status == "ok":
        return Response(readiness)
    if readiness.store == "ok":
        log.warning("health.projections_behind", projections={
            name: entry.lag for name, entry in (readiness.projections or {}).items()
        }, max_lag=readiness.max_lag)
    return Response(readiness, status_code=503)


_READY_DOC = (
    "200 `{\"status\": \"ok\", \"store\": \"ok\"}` when the event store answers and every "
    "read model trails the event log by at most `DISPUTEDESK_READY_MAX_LAG` events (default "
    "1000). Else 503: `\"store\": \"unavailable\"` when the store does not answer (reported "
    f"within about {HEALTH_TIMEOUT:g} s), or `\"store\": \"ok\"` with `projections` (each read "
    "model's `position`, `lag` and `ready`) and `max_lag` when a read model is behind. "
    "No token needed."
)
_NOT_READY = {503: ResponseSpec(Readiness, description="The store or a projection is not ready")}


class HealthController(Controller):
    path = "/"
    tags = ["health"]

    @get(
        "/livez",
        operation_id="getLivez",
        opt=_PROBE,
        security=[{}],
        summary="Liveness: the process answers",
        description="Always 200 `{\"status\": \"ok\"}` while the process serves requests; "
        "touches no store. No token needed.",
    )
    async def livez(self) -> Liveness:
        return Liveness()

    @get(
        "/readyz",
        operation_id="getReadyz",
        opt=_PROBE,
        security=[{}],
        summary="Readiness: the store answers and the projections keep up",
        description=_READY_DOC,
        responses=_NOT_READY,
    )
    async def readyz(self, probes: NamedDependency[Probes]) -> Response[Readiness]:
        return _answer(await _readiness(probes))

    @get(
        "/health",
        operation_id="getHealth",
        opt=_PROBE,
        security=[{}],
        summary="Readiness (the same answer as /readyz)",
        description=_READY_DOC,
        responses=_NOT_READY,
    )
    async def health(self, probes: NamedDependency[Probes]) -> Response[Readiness]:
        return _answer(await _readiness(probes))
