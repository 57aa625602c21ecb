"""Query strings as the access log writes them: values of secret-looking parameters hidden.

A token in a URL (a console link, a misconfigured client) must never reach the
logs; the parameter's name stays, so the line still says what was sent.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

__all__ = ["REDACTED", "redacted_query"]

REDACTED = "***"
#: Parameter names whose values are hidden (matched anywhere in the name).
_SECRET = re.compile(
    r"token|key|secret|passw|pwd|signature|sig$|^sig|auth|credential|session|cookie|otp|code",
    re.IGNORECASE,
)
_MAX = 2048  # a query longer than this is cut (after redaction)


def redacted_query(raw: bytes) -> str | None:
    """The query string with secret values replaced by ``***``; None when empty."""
    if not raw:
        return None
    text = raw.decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True)
    shown = urlencode(
        [(name, REDACTED if _SECRET.search(name) else value) for name, value in pairs],
        safe="*/:,",
    )
    if not pairs and text:  # not key=value pairs at all: nothing tells what is secret
        return REDACTED
    return shown[:_MAX]
