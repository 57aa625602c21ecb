"""The limits on abuse, read from the environment (see :mod:`infrastructure.settings`).

================================ ==================================================================
``DISPUTEDESK_RATE_LIMITS``       per-role request rates overriding the defaults, such as
                                  ``buyer=120/minute,seller=20/second``; ``anonymous=`` for
                                  requests without a token (by client address); ``off``: none
``DISPUTEDESK_REDIS_URL``         ``redis://host:6379/0`` (or ``rediss://``): rates shared by every
                                  worker and host (unset: each process counts its own)
``DISPUTEDESK_REDIS_PREFIX``      the prefix of the keys kept in Redis (``disputedesk``)
``DISPUTEDESK_MAX_STREAMS``       open event streams one caller may hold (10; ``0``: no cap)
================================ ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import limits

from domain.dispute import ROLES
from infrastructure.settings_errors import SettingsError

__all__ = ["ANONYMOUS", "DEFAULT_RATES", "LimitSettings", "limit_settings"]

Get = Callable[[str], str | None]

#: The rate name of requests that carry no token: counted by the client's address.
ANONYMOUS = "anonymous"
#: Requests per role: far above what a person does, low enough to stop a flood or a loop.
DEFAULT_RATES: tuple[tuple[str, str], ...] = (
    ("buyer", "600/minute"),
    ("seller", "1200/minute"),
    ("moderator", "2400/minute"),
    ("analyst", "1200/minute"),
    ("platform", "12000/minute"),
    (ANONYMOUS, "600/minute"),
)
DEFAULT_MAX_STREAMS = 10
DEFAULT_REDIS_PREFIX = "disputedesk"
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_PREFIX = re.compile(r"^[A-Za-z0-9_:.\-]{1,100}$")


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Request rates per role, where they are counted, and the cap on open streams."""

    #: (role or ``anonymous``, a rate such as ``600/minute``); empty: no rate limits.
    rates: tuple[tuple[str, str], ...] = DEFAULT_RATES
    redis_url: str | None = None
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    #: Open event streams per caller; 0: no cap.
    max_streams: int = DEFAULT_MAX_STREAMS

    @property
    def rate_limited(self) -> bool:
        return bool(self.rates)

    def rate_of(self, name: str) -> str | None:
        return dict(self.rates).get(name)

    def redis_redacted(self) -> str | None:
        """The Redis URL without its password, fit for a log line."""
        if self.redis_url is None:
            return None
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        netloc = parts.netloc.rsplit("@", 1)[-1]
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urlunsplit(parts._replace(netloc=user + netloc))

    def __repr__(self) -> str:  # never print a Redis password
        return (f"LimitSettings(rates={self.rates!r}, redis_url={self.redis_redacted()!r}, "
                f"redis_prefix={self.redis_prefix!r}, max_streams={self.max_streams})")


def _rates(get: Get) -> tuple[tuple[str, str], ...]:
    raw = get("DISPUTEDESK_RATE_LIMITS")
    if raw is None:
        return DEFAULT_RATES
    if raw.lower() == "off":
        return ()
    names = (*ROLES, ANONYMOUS)
    rates = dict(DEFAULT_RATES)
    given: set[str] = set()
    for part in (piece.strip() for piece in raw.split(",")):
        name, equals, rate = (side.strip() for side in part.partition("="))
        if not equals or name not in names or name in given or not _parses(rate):
            raise SettingsError(
                "DISPUTEDESK_RATE_LIMITS must read like buyer=120/minute,seller=20/second "
                f"(each of {', '.join(names)} at most once; a rate is N/second, N/minute, "
                f"N/hour or N/day), or off; got {part!r}"
            )
        given.add(name)
        rates[name] = rate
    return tuple(rates.items())


def _parses(rate: str) -> bool:
    try:
        item = limits.parse(rate)
    except ValueError:
        return False
    return item.amount > 0 and "/" in rate


def _redis_url(get: Get) -> str | None:
    raw = get("DISPUTEDESK_REDIS_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in _REDIS_SCHEMES or not (parts.hostname or parts.path):
        raise SettingsError(
            "DISPUTEDESK_REDIS_URL must be a Redis URL such as redis://localhost:6379/0 "
            f"(redis://, rediss:// or unix://), got {_redacted(raw)!r}"
        )
    return raw


def _redacted(raw: str) -> str:
    return re.sub(r"//([^@/]*)@", "//***@", raw)


def _prefix(get: Get) -> str:
    raw = get("DISPUTEDESK_REDIS_PREFIX") or DEFAULT_REDIS_PREFIX
    if not _PREFIX.match(raw):
        raise SettingsError(
            f"DISPUTEDESK_REDIS_PREFIX must be 1 to 100 of A-Z a-z 0-9 _ : . -, got {raw!r}"
        )
    return raw


def _max_streams(get: Get) -> int:
    raw = get("DISPUTEDESK_MAX_STREAMS")
    if raw is None:
        return DEFAULT_MAX_STREAMS
    if not raw.isdigit() or int(raw) > 10_000:
        raise SettingsError(
            f"DISPUTEDESK_MAX_STREAMS must be a whole number from 0 (no cap) to 10000, got {raw!r}"
        )
    return int(raw)


def limit_settings(get: Get) -> LimitSettings:
    return LimitSettings(
        rates=_rates(get),
        redis_url=_redis_url(get),
        redis_prefix=_prefix(get),
        max_streams=_max_streams(get),
    )
