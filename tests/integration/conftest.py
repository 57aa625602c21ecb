"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.disputes import DisputeDesk
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings
from tests.integration.test_projections_support import build


@pytest.fixture
def desks(
    database_url: str, manual_clock: ManualClock
) -> Iterator[tuple[DisputeDesk, DisputeDesk]]:
    """Two applications on one store: they stand for two server processes."""
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url})
    first = build_application(settings, clock=manual_clock)
    second = build_application(settings, clock=manual_clock)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def app(database_url: str, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    """One application on the test's store, with the read models set up."""
    application = build(database_url, manual_clock)
    try:
        yield application
    finally:
        application.close()
