"""The app as ``serve`` runs it: background work on and the start-up heap frozen."""

from __future__ import annotations

import gc

from litestar.testing import TestClient

from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from interface.http.app import server_app


def test_a_server_freezes_its_start_up_heap_and_serves(settings: Settings) -> None:
    gc.unfreeze()
    try:
        with TestClient(server_app(build_application(settings), settings)) as client:
            # Full collections no longer walk what start-up built (their pauses set the p99).
            assert gc.get_freeze_count() > 10_000
            assert client.get("/health").json() == {"status": "ok", "store": "ok"}
    finally:
        gc.unfreeze()
