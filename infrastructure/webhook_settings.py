"""The webhook settings, read from the environment (see :mod:`infrastructure.settings`).

================================================ ==========================================
``DISPUTEDESK_WEBHOOK_RETRY_HOURS``              how long a delivery is retried (72)
``DISPUTEDESK_WEBHOOK_DISABLE_AFTER_HOURS``      an endpoint failing this long is disabled (72)
``DISPUTEDESK_WEBHOOK_TIMEOUT``                  seconds one attempt may take (10)
``DISPUTEDESK_WEBHOOK_CONCURRENCY``              attempts in flight per worker (64)
``DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK``      ``1``: plain http to a loopback host (development)
``DISPUTEDESK_WEBHOOK_ALLOW_PRIVATE``            ``1``: endpoints on private addresses
``DISPUTEDESK_DELIVER_IN_SERVE``                 ``0``: ``serve`` does not deliver (run ``deliver``)
================================================ ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from application.webhooks import WebhookSettings
from infrastructure.settings_errors import SettingsError

__all__ = ["deliver_in_serve", "webhook_settings"]

Get = Callable[[str], str | None]


def flag_setting(get: Get, name: str, default: bool) -> bool:
    raw = get(name)
    if raw is None:
        return default
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0 (or unset), got {raw!r}")


def _positive(get: Get, name: str, default: float) -> float:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name} must be a positive number, got {raw!r}")
    return value


def webhook_settings(get: Get) -> WebhookSettings:
    concurrency = max(1, int(_positive(get, "DISPUTEDESK_WEBHOOK_CONCURRENCY", 64)))
    return WebhookSettings(
        retry_horizon=timedelta(hours=_positive(get, "DISPUTEDESK_WEBHOOK_RETRY_HOURS", 72)),
        disable_after=timedelta(
            hours=_positive(get, "DISPUTEDESK_WEBHOOK_DISABLE_AFTER_HOURS", 72)
        ),
        request_timeout=_positive(get, "DISPUTEDESK_WEBHOOK_TIMEOUT", 10.0),
        concurrency=concurrency,
        per_endpoint=max(1, concurrency // 2),  # one endpoint never takes every sender
        allow_http_loopback=flag_setting(get, "DISPUTEDESK_WEBHOOK_ALLOW_HTTP_LOOPBACK", False),
        allow_private=flag_setting(get, "DISPUTEDESK_WEBHOOK_ALLOW_PRIVATE", False),
    )


def deliver_in_serve(get: Get) -> bool:
    return flag_setting(get, "DISPUTEDESK_DELIVER_IN_SERVE", True)
