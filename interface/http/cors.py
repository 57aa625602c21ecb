"""CORS for browser clients on other origins, from ``DISPUTEDESK_CORS_ORIGINS`` (off unset).

Tokens travel in the ``Authorization`` header, never in cookies, so credentials
are not allowed: an origin listed here still needs a token for every call.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.config.cors import CORSConfig

__all__ = ["cors_config"]

#: What a browser client sends beyond the simple headers.
ALLOWED_HEADERS = (
    "Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
    "Last-Event-ID", "X-Request-ID",
)
#: What it may read of an answer beyond the simple headers.
EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-ID", "WWW-Authenticate")
#: How long a browser may keep a preflight's answer (s).
PREFLIGHT_MAX_AGE = 600


def cors_config(origins: Sequence[str]) -> CORSConfig | None:
    """Litestar's CORS for ``origins`` (``*``: any), or None when there are none."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
    )
