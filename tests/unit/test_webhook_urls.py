"""Which URLs may receive webhooks: https to a public host, and nothing that turns inward.

The host names resolve through a table (a dict), never through DNS: a name the
table does not know "does not resolve".
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from application.webhook_urls import UrlRefused, check_url
from application.webhooks import WebhookSettings
from domain.errors import InvalidInput

HOSTS: dict[str, list[str]] = {
    "hooks.example.com": ["93.184.216.34"],
    "dual.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "localhost": ["127.0.0.1", "::1"],
    "intranet.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    # A rebinding name: one public address, one private.
    "sneaky.example.com": ["93.184.216.34", "192.168.1.20"],
    "nowhere.example.com": [],
}

STRICT = WebhookSettings()
DEVELOPMENT = WebhookSettings(allow_http_loopback=True)
PRIVATE_ALLOWED = WebhookSettings(allow_private=True)


def resolve(host: str) -> Sequence[str]:
    """The table, or an address literal as itself; anything else fails as DNS would."""
    if host in HOSTS:
        return HOSTS[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]
    raise OSError(f"[Errno -2] Name or service not known: {host}")


def refusal(url: str, settings: WebhookSettings = STRICT) -> str:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, settings, resolve)
    return refused.value.detail


# ---- https to a public host -----------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://hooks.example.com/disputes",
    "https://hooks.example.com:8443/disputes?token=abc",
    "https://dual.example.com/",
    "https://93.184.216.34/hook",
])
def test_https_to_a_public_host_is_accepted(url: str) -> None:
    check_url(url, STRICT, resolve)


def test_a_refusal_is_invalid_input_with_its_own_code() -> None:
    assert issubclass(UrlRefused, InvalidInput)
    assert UrlRefused.code == "webhook-url-refused"


# ---- the scheme -----------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.com/x",
    "hooks.example.com/disputes",
    "//hooks.example.com/disputes",
    "https:///no-host",
    "javascript:alert(1)",
])
def test_a_url_that_is_not_absolute_https_is_refused(url: str) -> None:
    assert "https" in refusal(url)


def test_plain_http_to_a_public_host_is_refused_even_in_development() -> None:
    for settings in (STRICT, DEVELOPMENT, PRIVATE_ALLOWED):
        assert "must be https" in refusal("http://hooks.example.com/disputes", settings)


def test_plain_http_to_loopback_needs_the_development_setting() -> None:
    # Given a receiver on this machine,
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]/h"):
        # when the setting is off, plain http is refused;
        assert "must be https" in refusal(url, STRICT)
        # when it is on, it is accepted.
        check_url(url, DEVELOPMENT, resolve)


def test_allow_private_does_not_allow_plain_http() -> None:
    assert "must be https" in refusal("http://127.0.0.1:8080/hook", PRIVATE_ALLOWED)
    assert "must be https" in refusal("http://intranet.example.com/hook", PRIVATE_ALLOWED)


def test_plain_http_to_a_name_that_is_only_partly_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(HOSTS, "half.example.com", ["127.0.0.1", "93.184.216.34"])
    assert "must be https" in refusal("http://half.example.com/", DEVELOPMENT)


# ---- addresses that turn inward -------------------------------------------------


@pytest.mark.parametrize(("url", "address"), [
    ("https://10.0.0.1/hook", "10.0.0.1"),
    ("https://172.16.5.4/hook", "172.16.5.4"),
    ("https://192.168.0.10/hook", "192.168.0.10"),
    ("https://127.0.0.1/hook", "127.0.0.1"),
    ("https://localhost/hook", "127.0.0.1"),
    ("https://[::1]/hook", "::1"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("https://[fe80::1]/hook", "fe80::1"),
    ("https://[fd00::7]/hook", "fd00::7"),
    ("https://0.0.0.0/hook", "0.0.0.0"),
    ("https://224.0.0.1/hook", "224.0.0.1"),
    ("https://intranet.example.com/hook", "10.1.2.3"),
    ("https://metadata.example.com/hook", "169.254.169.254"),
])
def test_private_loopback_and_link_local_addresses_are_refused(url: str, address: str) -> None:
    reason = refusal(url)
    assert "private or local address" in reason
    assert address in reason


def test_one_inward_address_among_public_ones_is_enough_to_refuse() -> None:
    reason = refusal("https://sneaky.example.com/hook")
    assert "192.168.1.20" in reason and "93.184.216.34" not in reason


@pytest.mark.parametrize("url", [
    "https://10.0.0.1/hook",
    "https://localhost/hook",
    "https://169.254.169.254/hook",
    "https://intranet.example.com/hook",
    "https://sneaky.example.com/hook",
])
def test_allow_private_lets_inward_addresses_through(url: str) -> None:
    check_url(url, PRIVATE_ALLOWED, resolve)


def test_the_development_setting_lets_https_to_loopback_through_but_not_to_private() -> None:
    check_url("https://localhost:8443/hook", DEVELOPMENT, resolve)
    assert "10.1.2.3" in refusal("https://intranet.example.com/hook", DEVELOPMENT)


def test_a_name_that_later_resolves_inward_is_refused_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a name accepted while it resolves to a public address,
    monkeypatch.setitem(HOSTS, "rebind.example.com", ["93.184.216.34"])
    check_url("https://rebind.example.com/hook", STRICT, resolve)
    # when it comes to resolve to a private one, the same URL is refused.
    monkeypatch.setitem(HOSTS, "rebind.example.com", ["10.9.9.9"])
    assert "10.9.9.9" in refusal("https://rebind.example.com/hook")


# ---- credentials, names that do not resolve, malformed URLs ------------------------


@pytest.mark.parametrize("url", [
    "https://user:pass@hooks.example.com/hook",
    "https://user@hooks.example.com/hook",
    "https://:secret@hooks.example.com/hook",
])
def test_credentials_in_the_url_are_refused(url: str) -> None:
    assert "credentials" in refusal(url)
    assert "credentials" in refusal(url, PRIVATE_ALLOWED)


def test_a_host_that_does_not_resolve_is_refused_naming_it() -> None:
    reason = refusal("https://no-such-host.example.org/hook")
    assert "no-such-host.example.org" in reason and "does not resolve" in reason
    assert "does not resolve" in refusal("https://nowhere.example.com/hook")
    # Not even the permissive settings let it through.
    assert "does not resolve" in refusal("https://no-such-host.example.org/", PRIVATE_ALLOWED)


def test_a_resolver_answer_that_is_not_an_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(HOSTS, "garbage.example.com", ["not-an-address"])
    assert "does not resolve" in refusal("https://garbage.example.com/hook")


def test_a_bad_port_or_an_overlong_url_is_refused() -> None:
    assert "port" in refusal("https://hooks.example.com:99999/hook")
    assert "port" in refusal("https://hooks.example.com:http/hook")
    assert "longer than" in refusal("https://hooks.example.com/" + "a" * 2100)
