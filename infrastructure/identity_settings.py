"""The identity settings, read from the environment (see :mod:`infrastructure.settings`).

=================================== =============================================================
``DISPUTEDESK_JWKS_URL``             the identity provider's JWKS (https; http only on loopback):
                                     platform tokens (RS256, ES256, EdDSA) are checked against it
``DISPUTEDESK_JWKS_FILE``            or a file holding a JWKS document (one of the two, not both)
``DISPUTEDESK_TOKEN_ISSUER``         the ``iss`` platform tokens must carry (required with a JWKS)
``DISPUTEDESK_TOKEN_AUDIENCE``       the ``aud`` they must name (required with a JWKS)
``DISPUTEDESK_TOKEN_LEEWAY_SECONDS`` clock skew allowed on ``exp``/``iat``/``nbf`` (60; at most 300)
``DISPUTEDESK_TOKEN_MAX_LIFETIME``   longest ``exp - iat`` accepted: ``24h``, ``90m``... (24h)
``DISPUTEDESK_TOKEN_ALGORITHMS``     asymmetric algorithms accepted (``RS256,ES256,EdDSA``)
``DISPUTEDESK_ROLE_CLAIM``           the claim naming the role: a string or a list (``role``)
``DISPUTEDESK_SUBJECT_CLAIM``        the claim naming the caller (``sub``)
``DISPUTEDESK_ROLE_MAP``             ``customer=buyer,merchant=seller``: the platform's role names
                                     onto ours (unset: ours, as they are)
``DISPUTEDESK_ALLOW_DEV_TOKENS``     ``1``: HS256 tokens (``disputedesk token``) still pass with a
                                     JWKS (unset: refused; without a JWKS they are the only kind)
=================================== =============================================================
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from domain.dispute import ROLES
from infrastructure.settings_errors import SettingsError
from infrastructure.token_keys import parse_key_set
from infrastructure.webhook_settings import flag_setting

__all__ = ["ASYMMETRIC_ALGORITHMS", "IdentitySettings", "identity_settings"]

Get = Callable[[str], str | None]

DEFAULT_LEEWAY_SECONDS = 60
MAX_LEEWAY_SECONDS = 300
DEFAULT_MAX_LIFETIME_SECONDS = 24 * 3600
DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")
#: What a platform token may be signed with: public-key algorithms only, never HS* or none.
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)
_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CLAIM = re.compile(r"^[A-Za-z0-9_:/.\-]{1,200}$")


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    """Whose tokens pass: the platform's identity provider (a JWKS), development tokens, or both."""

    jwks_url: str | None = None
    jwks_file: Path | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: int = DEFAULT_LEEWAY_SECONDS
    max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    role_claim: str = "role"
    subject_claim: str = "sub"
    #: (the platform's name, ours); empty: our names, as they are.
    role_map: tuple[tuple[str, str], ...] = ()
    allow_dev_tokens: bool = False

    @property
    def platform_tokens(self) -> bool:
        """Tokens of the platform's identity provider are checked (a JWKS is configured)."""
        return self.jwks_url is not None or self.jwks_file is not None

    @property
    def dev_tokens(self) -> bool:
        """HS256 tokens signed with ``DISPUTEDESK_SECRET`` pass."""
        return not self.platform_tokens or self.allow_dev_tokens


def _jwks_url(get: Get) -> str | None:
    raw = get("DISPUTEDESK_JWKS_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return raw
    raise SettingsError(
        "DISPUTEDESK_JWKS_URL must be an https:// URL of the identity provider's keys "
        f"(http:// only on this machine), got {raw!r}"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _jwks_file(get: Get, base: Path) -> Path | None:
    raw = get("DISPUTEDESK_JWKS_FILE")
    if raw is None:
        return None
    path = Path(raw).expanduser()
    path = path if path.is_absolute() else base / path
    try:
        parse_key_set(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError) as error:
        raise SettingsError(
            f"DISPUTEDESK_JWKS_FILE points to {path}, which is not a JWKS document with a "
            f"signing key that has a kid ({error}); give the file of the identity provider's "
            "public keys"
        ) from None
    return path


def _seconds(get: Get, name: str, default: int, *, most: int | None = None) -> int:
    raw = get(name)
    if raw is None:
        return default
    match = _DURATION.match(raw.lower())
    value = int(match[1]) * _UNITS[match[2]] if match else -1
    if value < 0 or (most is not None and value > most):
        bound = f", at most {most}s" if most is not None else ""
        raise SettingsError(
            f"{name} must be a duration such as 60s, 30m or 24h{bound}; got {raw!r}"
        )
    return value


def _algorithms(get: Get) -> tuple[str, ...]:
    raw = get("DISPUTEDESK_TOKEN_ALGORITHMS")
    if raw is None:
        return DEFAULT_ALGORITHMS
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if name not in ASYMMETRIC_ALGORITHMS:
            raise SettingsError(
                f"DISPUTEDESK_TOKEN_ALGORITHMS names {name!r}; use public-key algorithms "
                f"only: {', '.join(ASYMMETRIC_ALGORITHMS)}"
            )
    return names or DEFAULT_ALGORITHMS


def _claim(get: Get, name: str, default: str) -> str:
    raw = get(name) or default
    if not _CLAIM.match(raw):
        raise SettingsError(f"{name} must name one claim (letters, digits, _:/.-), got {raw!r}")
    return raw


def _role_map(get: Get) -> tuple[tuple[str, str], ...]:
    raw = get("DISPUTEDESK_ROLE_MAP")
    if raw is None:
        return ()
    pairs: dict[str, str] = {}
    for part in (piece.strip() for piece in raw.split(",")):
        theirs, equals, ours = (side.strip() for side in part.partition("="))
        if not part or not equals or not theirs or ours not in ROLES or theirs in pairs:
            raise SettingsError(
                "DISPUTEDESK_ROLE_MAP must read like customer=buyer,merchant=seller: each "
                f"platform role once, onto one of {', '.join(ROLES)}; got {part!r}"
            )
        pairs[theirs] = ours
    return tuple(pairs.items())


def identity_settings(get: Get, base: Path) -> IdentitySettings:
    url, path = _jwks_url(get), _jwks_file(get, base)
    if url is not None and path is not None:
        raise SettingsError(
            "set DISPUTEDESK_JWKS_URL or DISPUTEDESK_JWKS_FILE, not both"
        )
    issuer, audience = get("DISPUTEDESK_TOKEN_ISSUER"), get("DISPUTEDESK_TOKEN_AUDIENCE")
    if (url or path) and not (issuer and audience):
        raise SettingsError(
            "with a JWKS, set DISPUTEDESK_TOKEN_ISSUER and DISPUTEDESK_TOKEN_AUDIENCE to the "
            "iss and aud the platform's tokens carry"
        )
    lifetime = _seconds(get, "DISPUTEDESK_TOKEN_MAX_LIFETIME", DEFAULT_MAX_LIFETIME_SECONDS)
    if lifetime <= 0:
        raise SettingsError("DISPUTEDESK_TOKEN_MAX_LIFETIME must be longer than 0s")
    return IdentitySettings(
        jwks_url=url,
        jwks_file=path,
        issuer=issuer,
        audience=audience,
        leeway_seconds=_seconds(get, "DISPUTEDESK_TOKEN_LEEWAY_SECONDS", DEFAULT_LEEWAY_SECONDS,
                                most=MAX_LEEWAY_SECONDS),
        max_lifetime_seconds=lifetime,
        algorithms=_algorithms(get),
        role_claim=_claim(get, "DISPUTEDESK_ROLE_CLAIM", "role"),
        subject_claim=_claim(get, "DISPUTEDESK_SUBJECT_CLAIM", "sub"),
        role_map=_role_map(get),
        allow_dev_tokens=flag_setting(get, "DISPUTEDESK_ALLOW_DEV_TOKENS", False),
    )
