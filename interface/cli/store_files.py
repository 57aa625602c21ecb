"""What ``export`` and ``import-log`` share: opening the bare event store, one-line failures."""

from __future__ import annotations

from datetime import datetime

from infrastructure.database_url import parse_database_url
from infrastructure.settings import Settings
from infrastructure.store_export_store import EventStore, open_event_store
from interface.cli.common import USAGE_ERROR, fail, store_problem


def open_events(settings: Settings, *, must_exist: bool) -> EventStore:
    """The configured event store; one line and exit when it cannot be opened."""
    url = parse_database_url(settings.database_url)
    if must_exist and url.sqlite_path is not None and not url.sqlite_path.exists():
        fail(f"there is no store at {url.redacted()}", USAGE_ERROR)
    try:
        return open_event_store(url)
    except Exception as error:
        problem = store_problem(error, sqlite=url.is_sqlite)
        if problem is None:
            raise
        fail(f"cannot open the event store at {url.redacted()}: {problem[0]}", problem[1])


def instant(option: str, text: str | None) -> datetime | None:
    """An RFC 3339 option with its offset, or None when not given."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} must be an RFC 3339 instant such as 2026-11-26T12:00:00Z, got {text!r}")
    if value.tzinfo is None:
        fail(f"{option} must carry a UTC offset (e.g. Z or +00:00)")
    return value
