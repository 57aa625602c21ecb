"""Which URLs a webhook may be sent to (checked at registration and before each attempt).

- ``https`` only; plain ``http`` only to a loopback host, and only when the
  ``allow_http_loopback`` setting is on (development);
- never to an address that is private, loopback, link-local, multicast,
  reserved or unspecified, unless the ``allow_private`` setting is on (a
  loopback host under ``allow_http_loopback`` counts as allowed). The check runs
  on every address the host resolves to, again before each attempt, so a name
  that later resolves inward (DNS rebinding) is refused then.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from application.webhooks import WebhookSettings
from domain.errors import InvalidInput

__all__ = ["Resolve", "UrlRefused", "check_url"]

#: Resolves a host name to its addresses (raises ``OSError`` when it cannot).
Resolve = Callable[[str], Sequence[str]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL = 2048


class UrlRefused(InvalidInput):
    code = "webhook-url-refused"


def _inward(address: IPAddress) -> bool:
    """Not an address of the public internet (private, loopback, link-local, shared
    address space, reserved, unspecified) or a multicast one."""
    return not address.is_global or address.is_multicast


def check_url(url: str, settings: WebhookSettings, resolve: Resolve) -> None:
    """Raise :class:`UrlRefused` (with the reason) unless ``url`` may receive webhooks."""
    if len(url) > MAX_URL:
        raise UrlRefused(f"the url is longer than {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("the url must be an absolute https:// URL")
    if parts.username or parts.password:
        raise UrlRefused("the url must not carry credentials")
    try:
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError as error:
        raise UrlRefused(f"the url's port is not valid: {error}") from None
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(parts.hostname)]
    except (OSError, ValueError) as error:
        raise UrlRefused(f"the host {parts.hostname!r} does not resolve: {error}") from None
    if not addresses:
        raise UrlRefused(f"the host {parts.hostname!r} does not resolve")
    loopback = all(a.is_loopback for a in addresses)
    if parts.scheme == "http" and not (loopback and settings.allow_http_loopback):
        raise UrlRefused(
            "the url must be https (plain http only to a loopback host, in development)"
        )
    if settings.allow_private or (loopback and settings.allow_http_loopback):
        return
    inward = [str(a) for a in addresses if _inward(a)]
    if inward:
        raise UrlRefused(
            f"the host {parts.hostname!r} resolves to a private or local address "
            f"({', '.join(inward)})"
        )
