"""A candidate policy as people write it: ``key=value`` lines over the current policy,
or a whole document in TOML or JSON (``disputedesk simulate`` and the console)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from typing import Any


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value``; the value is JSON when it parses (3, true, null, "x"), else text.
    ValueError saying what is wrong."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(
            f"write key=value, e.g. regions.US.ship_within_business_days=3; got {text!r}"
        )
    raw = raw.strip()
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def parse_assignments(lines: Iterable[str]) -> dict[str, Any]:
    """Every non-blank line as ``key=value`` (later lines win)."""
    return dict(parse_assignment(line) for line in lines if line.strip())


def parse_policy_document(text: str, *, is_json: bool) -> dict[str, Any]:
    """One policy document (an object/table); ValueError saying what is wrong."""
    try:
        document = json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"not valid {'JSON' if is_json else 'TOML'}: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("a policy must be one document (an object/table)")
    return document
