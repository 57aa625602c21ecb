"""``GET /metrics``: the Prometheus exposition, outside the API's JWT auth.

With ``DISPUTEDESK_METRICS_TOKEN`` set, a scrape must send it as a bearer token
(Prometheus: ``authorization: {credentials: ...}``); otherwise none is needed.
The figures read from the stores get a bounded wait, like ``/readyz``: a
database that hangs costs the scrape its figures (``disputedesk_figures_up`` 0),
never the counters.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from infrastructure.metrics import Figure, Metrics
from infrastructure.metrics_figures import FigureSources, read_figures
from interface.http.auth import PUBLIC
from interface.http.routes import get

__all__ = ["QUIET", "Scrape", "metrics_route"]

#: A route whose ``http.request`` line is written at debug (probes and scrapes).
QUIET = "quiet_access_log"
#: How long a scrape waits for the figures read from the stores (s).
FIGURES_TIMEOUT = 3.0


@dataclass(frozen=True)
class Scrape:
    """What a scrape needs: the app's counters, where figures come from, the token."""

    metrics: Metrics
    sources: FigureSources
    token: str | None = None

    def check(self, authorization: str | None) -> None:
        if self.token is None:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            raise NotAuthorizedException(
                detail="/metrics needs the metrics token (DISPUTEDESK_METRICS_TOKEN) as a "
                "bearer token",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )


def _unread() -> list[Figure]:
    return [Figure("disputedesk_figures_up",
                   "1 when the figures of a source could be read at this scrape",
                   ("source",), ((("all",), 0.0),))]


@get(
    "/metrics",
    operation_id="getMetrics",
    opt={PUBLIC: True, QUIET: True},
    include_in_schema=False,
)
async def metrics_route(
    request: Request[Any, Any, Any], scrape: NamedDependency[Scrape]
) -> Response[bytes]:
    scrape.check(request.headers.get("authorization"))
    try:
        with anyio.fail_after(FIGURES_TIMEOUT):
            figures = await anyio.to_thread.run_sync(
                read_figures, scrape.sources, abandon_on_cancel=True
            )
    except TimeoutError:
        figures = _unread()
    body, content_type = await anyio.to_thread.run_sync(
        scrape.metrics.render, figures, request.headers.get("accept")
    )
    # Litestar adds the charset itself; the encoder's own would be said twice.
    return Response(body, media_type=content_type.replace("; charset=utf-8", ""))
