"""Reading the limits from the environment: rates per role, Redis, the cap on streams."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.limit_settings import DEFAULT_RATES, LimitSettings, limit_settings
from infrastructure.rate_limiter import rate_limit_backend
from infrastructure.settings import Settings, SettingsError


def read(**env: str) -> LimitSettings:
    return limit_settings(lambda name: env.get(name) or None)


def test_unset_gives_the_defaults_counted_per_process() -> None:
    settings = read()
    assert settings.rates == DEFAULT_RATES
    assert settings.rate_of("buyer") == "600/minute"
    assert settings.redis_url is None and settings.max_streams == 10
    assert rate_limit_backend(settings).startswith("per process")


def test_the_settings_carry_them(tmp_path: Path) -> None:
    settings = Settings.from_env({"DISPUTEDESK_RATE_LIMITS": "buyer=5/second"}, cwd=tmp_path)
    assert settings.limits.rate_of("buyer") == "5/second"


def test_named_rates_override_the_defaults_and_the_rest_stay() -> None:
    settings = read(DISPUTEDESK_RATE_LIMITS=" buyer=120/minute , anonymous=10/second")
    assert settings.rate_of("buyer") == "120/minute"
    assert settings.rate_of("anonymous") == "10/second"
    assert settings.rate_of("platform") == dict(DEFAULT_RATES)["platform"]


@pytest.mark.parametrize("raw", ["off", "OFF"])
def test_off_lifts_every_rate(raw: str) -> None:
    settings = read(DISPUTEDESK_RATE_LIMITS=raw)
    assert not settings.rate_limited and settings.rates == ()
    assert rate_limit_backend(settings).startswith("off")


@pytest.mark.parametrize("raw", [
    "buyer", "buyer=", "buyer=lots", "buyer=0/minute", "buyer=10", "wizard=1/minute",
    "buyer=1/minute,buyer=2/minute", "buyer=1/minute,,seller=1/minute",
])
def test_a_rate_that_cannot_be_read_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_RATE_LIMITS must read like"):
        read(DISPUTEDESK_RATE_LIMITS=raw)


def test_a_redis_url_shares_the_rates_and_its_password_is_never_shown() -> None:
    settings = read(DISPUTEDESK_REDIS_URL="redis://:hunter2@cache:6379/3",
                    DISPUTEDESK_REDIS_PREFIX="desk-a")
    assert settings.redis_url == "redis://:hunter2@cache:6379/3"
    assert settings.redis_prefix == "desk-a"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in rate_limit_backend(settings)
    assert "shared through Redis at redis://:***@cache:6379/3" in rate_limit_backend(settings)


@pytest.mark.parametrize("raw", ["http://cache:6379", "cache:6379", "redis://"])
def test_a_url_that_is_not_redis_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_REDIS_URL must be a Redis URL"):
        read(DISPUTEDESK_REDIS_URL=raw)


def test_a_refused_url_does_not_echo_its_password() -> None:
    with pytest.raises(SettingsError) as refused:
        read(DISPUTEDESK_REDIS_URL="http://user:hunter2@cache:6379")
    assert "hunter2" not in str(refused.value)


def test_a_bad_prefix_is_refused() -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_REDIS_PREFIX"):
        read(DISPUTEDESK_REDIS_PREFIX="has space")


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("3", 3)])
def test_the_cap_on_streams(raw: str, expected: int) -> None:
    assert read(DISPUTEDESK_MAX_STREAMS=raw).max_streams == expected


@pytest.mark.parametrize("raw", ["-1", "many", "100000"])
def test_a_bad_cap_on_streams_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_MAX_STREAMS"):
        read(DISPUTEDESK_MAX_STREAMS=raw)
