"""The composition root: settings in, a ready application out."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from application.disputes import DisputeDesk
from application.ports import Clock
from domain.policy import Policy, parse_policy
from infrastructure.clock import SystemClock
from infrastructure.commit_counter import SQLiteCommitCounter
from infrastructure.database_url import eventsourcing_env, parse_database_url
from infrastructure.schema_lock import event_store_setup_lock
from infrastructure.settings import Settings


def bundled_policy_text() -> str:
    return resources.files("infrastructure").joinpath("policies/default.toml").read_text("utf-8")


def load_policy(path: Path | None) -> Policy:
    """The configured policy file, or the one shipped with the project."""
    return parse_policy(path.read_text("utf-8") if path is not None else bundled_policy_text())


def build_application(
    settings: Settings, clock: Clock | None = None, *, serial_commands: bool | None = None
) -> DisputeDesk:
    """``serial_commands``: whether commands take turns; by default on SQLite only
    (the store admits one writer at a time)."""
    url = parse_database_url(settings.database_url)
    env = eventsourcing_env(url, name=DisputeDesk.name)
    policy = load_policy(settings.policy_path)
    commits = SQLiteCommitCounter(url.sqlite_path) if url.sqlite_path is not None else None
    try:
        with event_store_setup_lock(url):
            return DisputeDesk(
                env=env,
                clock=clock or SystemClock(),
                default_policy=policy,
                commits=commits,
                serial_commands=(
                    url.sqlite_path is not None if serial_commands is None else serial_commands
                ),
            )
    except BaseException:
        if commits is not None:
            commits.close()
        raise
