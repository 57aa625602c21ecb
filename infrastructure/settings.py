"""Process configuration, read once from the environment.

=========================== ====================================================
``DISPUTEDESK_DATABASE_URL`` ``sqlite:///path.db`` or ``postgresql://user:pass@host:5432/db``
                             (default ``sqlite:///./var/disputedesk.db``; relative
                             SQLite paths are made absolute from the current directory)
``DISPUTEDESK_SECRET``       key that signs API tokens (unset: the interface layer
                             generates a development key under ``var_dir``)
``DISPUTEDESK_POLICY``       a policy TOML file to use instead of the bundled default
``DISPUTEDESK_LOG_FORMAT``   ``console`` or ``json`` (unset: console on a terminal)
``DISPUTEDESK_WEBHOOK_*``    how webhooks are delivered (:mod:`infrastructure.webhook_settings`)
``DISPUTEDESK_METRICS_TOKEN``, ``DISPUTEDESK_READY_MAX_LAG``, ``DISPUTEDESK_CORS_ORIGINS``,
``OTEL_*``                   metrics, probes, CORS, tracing (:mod:`infrastructure.ops_settings`)
``DISPUTEDESK_JWKS_*``, ``DISPUTEDESK_TOKEN_*``, ``DISPUTEDESK_ROLE_*``,
``DISPUTEDESK_SUBJECT_CLAIM``, ``DISPUTEDESK_ALLOW_DEV_TOKENS``
                             the platform's identity provider
                             (:mod:`infrastructure.identity_settings`)
``DISPUTEDESK_RATE_LIMITS``, ``DISPUTEDESK_REDIS_*``, ``DISPUTEDESK_MAX_STREAMS``
                             request rates, where they are counted, open streams
                             (:mod:`infrastructure.limit_settings`)
=========================== ====================================================

An empty variable counts as unset. Bad values raise :class:`SettingsError`, whose
message names the variable and says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from application.webhooks import WebhookSettings
from infrastructure.database_url import DatabaseURL, parse_database_url
from infrastructure.identity_settings import IdentitySettings, identity_settings
from infrastructure.limit_settings import LimitSettings, limit_settings
from infrastructure.ops_settings import OpsSettings, ops_settings
from infrastructure.settings_errors import SettingsError
from infrastructure.webhook_settings import deliver_in_serve, flag_setting, webhook_settings

__all__ = ["LOG_FORMATS", "Settings", "SettingsError"]

LOG_FORMATS = ("console", "json")
DEFAULT_DATABASE_URL = "sqlite:///./var/disputedesk.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret: str | None
    policy_path: Path | None
    log_format: str | None
    var_dir: Path
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    #: ``serve`` runs the webhook delivery worker (off: a ``deliver`` process does).
    deliver_in_serve: bool = True
    #: The console's cookies say ``Secure`` (set it when served over HTTPS).
    console_secure_cookies: bool = False
    #: PostgreSQL: concurrent commands' saves share transactions (off: one each).
    group_commit: bool = True
    #: PostgreSQL: events are inserted as binary column arrays (off: the library's insert).
    binary_insert: bool = True
    #: Metrics, probes, CORS and tracing.
    ops: OpsSettings = field(default_factory=OpsSettings)
    #: Whose tokens pass: the platform's identity provider, development tokens.
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    #: Request rates per role, open streams per caller, where they are counted.
    limits: LimitSettings = field(default_factory=LimitSettings)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None
    ) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``).

        ``cwd`` (default: the current directory) anchors relative paths and ``var/``.
        """
        env = os.environ if environ is None else environ
        base = (cwd if cwd is not None else Path.cwd()).absolute()

        def get(name: str) -> str | None:
            value = env.get(name)
            if value is None or not value.strip():
                return None
            return value.strip()

        raw_url = get("DISPUTEDESK_DATABASE_URL") or DEFAULT_DATABASE_URL
        database_url = parse_database_url(raw_url, cwd=base).to_url()

        policy_path: Path | None = None
        raw_policy = get("DISPUTEDESK_POLICY")
        if raw_policy is not None:
            policy_path = Path(raw_policy).expanduser()
            if not policy_path.is_absolute():
                policy_path = base / policy_path
            if not policy_path.is_file():
                raise SettingsError(
                    f"DISPUTEDESK_POLICY points to {policy_path}, which is not a file; "
                    "give the path of a policy TOML document or unset it to use the default"
                )

        log_format = get("DISPUTEDESK_LOG_FORMAT")
        if log_format is not None:
            log_format = log_format.lower()
            if log_format not in LOG_FORMATS:
                raise SettingsError(
                    "DISPUTEDESK_LOG_FORMAT must be 'console' or 'json' (or unset), "
                    f"got {env.get('DISPUTEDESK_LOG_FORMAT')!r}"
                )

        return cls(
            database_url=database_url,
            # The secret is used byte for byte: only a blank value counts as unset.
            secret=env.get("DISPUTEDESK_SECRET") if get("DISPUTEDESK_SECRET") else None,
            policy_path=policy_path,
            log_format=log_format,
            var_dir=base / "var",
            webhooks=webhook_settings(get),
            deliver_in_serve=deliver_in_serve(get),
            console_secure_cookies=flag_setting(get, "DISPUTEDESK_CONSOLE_SECURE_COOKIES", False),
            group_commit=flag_setting(get, "DISPUTEDESK_GROUP_COMMIT", True),
            binary_insert=flag_setting(get, "DISPUTEDESK_BINARY_INSERT", True),
            ops=ops_settings(get),
            identity=identity_settings(get, base),
            limits=limit_settings(get),
        )

    @property
    def database(self) -> DatabaseURL:
        """``database_url`` parsed."""
        return parse_database_url(self.database_url, cwd=self.var_dir.parent)

    def __repr__(self) -> str:
        # Never print the secret or a database password.
        secret = "'***'" if self.secret else "None"
        return (
            f"Settings(database_url={self.database.redacted()!r}, secret={secret}, "
            f"policy_path={self.policy_path!r}, log_format={self.log_format!r}, "
            f"var_dir={self.var_dir!r})"
        )
