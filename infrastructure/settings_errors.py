"""The error a bad setting raises: settings and database URLs both raise it."""

from __future__ import annotations

__all__ = ["SettingsError"]


class SettingsError(ValueError):
    """A configuration value is missing or wrong; the message says how to fix it."""
