"""The floor under the API's routes: the application behind bare Litestar routes.

Two routes that do only what the issue requires of every route (run the blocking
application in the worker-thread pool, answer with the case view) and nothing
the API adds (no token, guards, idempotency, request log or ETag, and none of
its server's background threads: projections, sweeper). Whatever the
API's routes measure above these is the cost of those features; what these
measure below the bare handler is the cost of the thread hop and the
application itself. Serve with ``uvicorn --factory bench.http.floor_app:app``;
the store is ``DISPUTEDESK_DATABASE_URL``.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Litestar, Response, get, post

from bench.http.orders import BUYER
from infrastructure.bootstrap import build_application
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from interface.http.runtime import freeze_startup_heap
from interface.http.schemas import CaseView, ContactSeller, case_view, prepare_struct_types


def app() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings.log_format)  # as the API's server: its commands log their events
    desk = build_application(settings)
    prepare_struct_types()

    @get("/floor/disputes/{dispute_id:uuid}", sync_to_thread=True)
    def read(dispute_id: UUID) -> Response[CaseView]:
        return Response(case_view(desk.case(dispute_id, BUYER)))

    @post("/floor/disputes/{dispute_id:uuid}/seller-contacts", sync_to_thread=True,
          status_code=200)
    def contact(dispute_id: UUID, data: ContactSeller) -> Response[CaseView]:
        view = desk.contact_seller(dispute_id, message=data.message, channel=data.channel,
                                   actor=BUYER)
        return Response(case_view(view))

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[read, contact, health],
        openapi_config=None,
        logging_config=None,
        on_startup=[freeze_startup_heap],
        on_shutdown=[desk.close],
    )
