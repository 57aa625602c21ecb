"""The app as ``serve`` runs it: background work on and the start-up heap frozen."""

from __future__ import annotations

import gc

from litestar.testing import TestClient

from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from interface.http.app import server_app
from interface.http.routes import GuardedRoute


def test_a_server_freezes_its_start_up_heap_and_serves(settings: Settings) -> None:
    gc.unfreeze()
    try:
        with TestClient(server_app(build_application(settings), settings)) as client:
            # Full collections no longer walk what start-up built (their pauses set the p99).
            assert gc.get_freeze_count() > 10_000
            assert client.get("/health").json() == {"status": "ok", "store": "ok"}
    finally:
        gc.unfreeze()


def test_every_guarded_route_hands_its_guards_the_handler_itself(settings: Settings) -> None:
    desk = build_application(settings)
    try:
        app = server_app(desk, settings)
        guarded = [
            handler
            for route in app.routes
            for handler in getattr(route, "route_handlers", ())
            if handler.resolve_guards()
        ]
        assert len(guarded) > 20
        # Litestar's own handlers copy themselves for every guard call, on every request.
        assert [h for h in guarded if not isinstance(h, GuardedRoute)] == []
    finally:
        desk.close()
