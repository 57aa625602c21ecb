"""Two processes building the application at once must not race on table creation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from infrastructure.bootstrap import build_application
from infrastructure.database_url import parse_database_url
from infrastructure.schema_lock import event_store_setup_lock
from infrastructure.settings import Settings


@pytest.mark.postgres
def test_building_the_application_waits_for_the_setup_lock(postgres_url: str) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(postgres_url)
    built = threading.Event()

    def build() -> None:
        app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": postgres_url}))
        built.set()
        app.close()

    with event_store_setup_lock(parse_database_url(postgres_url)):
        worker = threading.Thread(target=build)
        worker.start()
        assert not built.wait(1.0), "the application was built while another held the lock"
    assert built.wait(30.0), "the application was never built after the lock was released"
    worker.join(30.0)


def test_sqlite_needs_no_setup_lock(tmp_path: Path) -> None:
    url = parse_database_url(f"sqlite:///{tmp_path}/events.db")
    with event_store_setup_lock(url):
        app = build_application(Settings.from_env({"DISPUTEDESK_DATABASE_URL": url.to_url()}))
        app.close()
