"""The identity provider's public keys, as one process keeps them.

Fetched with a bounded timeout (PyJWT's ``PyJWKClient``: http(s) only, no
redirects) or read from a file, kept for :data:`KEEP_FOR` seconds, fetched again
for a ``kid`` they lack at most once per :data:`UNKNOWN_KID_REFRESH`, and kept
as they were while the provider cannot be reached. Only the configured source is
ever asked: a token's ``jku``/``x5u`` headers are never read.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWTError

from infrastructure.logging import get_logger

__all__ = ["KeySet", "KeysUnavailable", "TokenKeys", "UnknownKey", "parse_key_set"]

#: How long a fetched key set is used before it is fetched again (s).
KEEP_FOR = 300.0
#: An unknown ``kid`` fetches the keys again at most this often (s).
UNKNOWN_KID_REFRESH = 60.0
#: After a failed fetch, the next try waits this long (s); the keys held meanwhile serve.
RETRY_AFTER_FAILURE = 10.0
#: The longest one fetch of the provider's keys may take (s).
FETCH_TIMEOUT = 5.0

log = get_logger("disputedesk.auth")

Fetch = Callable[[], Any]


class KeysUnavailable(Exception):
    """No key set was ever fetched: tokens cannot be checked now."""


class UnknownKey(Exception):
    """The keys, fetched again if allowed, have no key with this ``kid``."""


@dataclass(frozen=True)
class KeySet:
    """The signing keys by ``kid``; ``version`` changes whenever a fetch brings other keys."""

    keys: Mapping[str, PyJWK]
    version: int


def parse_key_set(document: object) -> dict[str, PyJWK]:
    """The signing keys of a JWKS document, by ``kid``; ValueError when it has none."""
    if not isinstance(document, dict):
        raise ValueError("a JWKS document is a JSON object with a 'keys' list")
    try:
        found = PyJWKSet.from_dict(document)
    except PyJWTError as error:
        raise ValueError(str(error)) from None
    keys = {key.key_id: key for key in found.keys
            if key.key_id and key.public_key_use in ("sig", None)}
    if not keys:
        raise ValueError("no signing key has a kid")
    return keys


def fetch_url(url: str, *, timeout: float = FETCH_TIMEOUT) -> Fetch:
    """The JWKS document at ``url``, fetched on every call (caching is :class:`TokenKeys`'s)."""
    client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout,
                         headers={"User-Agent": "disputedesk"})
    return client.fetch_data


def read_file(path: Path) -> Fetch:
    """The JWKS document in ``path``, read on every call."""
    return lambda: json.loads(path.read_text("utf-8"))


class TokenKeys:
    """One provider's keys, shared by the requests of a process (thread-safe)."""

    def __init__(self, fetch: Fetch, *, source: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self.source = source
        self._now = monotonic
        self._lock = threading.Lock()
        self._held: KeySet | None = None
        self._document: object = None
        self._next_fetch = 0.0
        self._forced_at: float | None = None

    def fresh(self) -> KeySet | None:
        """The keys held, if they need no fetch yet (never fetches)."""
        held = self._held
        return held if held is not None and self._now() < self._next_fetch else None

    def key(self, kid: str) -> tuple[PyJWK, int]:
        """The key named ``kid`` and the version of the set it came from.

        KeysUnavailable when no set could ever be fetched; UnknownKey when it has no such key.
        """
        with self._lock:
            fetched = self._now() >= self._next_fetch
            if fetched:
                self._refresh()
            held = self._held
            key = held.keys.get(kid) if held is not None else None
            if key is None and held is not None and not fetched and self._may_force():
                self._forced_at = self._now()
                self._refresh()
                held = self._held
                key = held.keys.get(kid) if held is not None else None
            if held is None:
                raise KeysUnavailable(f"the keys at {self.source} could not be fetched")
            if key is None:
                raise UnknownKey(kid)
            return key, held.version

    def _may_force(self) -> bool:
        return self._forced_at is None or self._now() - self._forced_at >= UNKNOWN_KID_REFRESH

    def _refresh(self) -> None:
        try:
            document = self._fetch()
            keys = parse_key_set(document)
        except (PyJWTError, OSError, ValueError) as error:
            self._next_fetch = self._now() + RETRY_AFTER_FAILURE
            log.warning("auth.keys_unavailable", source=self.source, error=str(error),
                        kept=len(self._held.keys) if self._held else 0)
            return
        self._next_fetch = self._now() + KEEP_FOR
        if self._held is not None and document == self._document:
            return
        version = self._held.version + 1 if self._held is not None else 1
        self._held, self._document = KeySet(keys, version), document
        log.info("auth.keys_fetched", source=self.source, kids=sorted(keys), version=version)
