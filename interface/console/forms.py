"""What a console form sends, as the values the application's commands take.

A form's fields are text; this module turns them into money, instants in the
case's local time and booleans, and says in words what does not parse (the
same :class:`~domain.errors.InvalidInput` the commands raise, so the page shows
both alike). Each rendered form carries a fresh key: sending the same form
twice (a double click, a reload that re-posts) is the same request to the
aggregate, recorded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from application.idempotency import fingerprint, request_stamp
from domain.dispute import Actor
from domain.errors import InvalidInput
from domain.money import Money
from domain.requests import RequestStamp

#: The hidden field that makes a rendered form one request.
FORM_KEY = "form_key"
_CSRF_FIELD = "_csrf_token"


def new_form_key() -> str:
    return str(uuid.uuid4())


def stamp_of(form: Mapping[str, str], actor: Actor, method: str, path: str) -> RequestStamp | None:
    """The request stamp of a form post: its key, and a fingerprint of what it says."""
    key = form.get(FORM_KEY, "").strip()
    if not key:
        return None
    fields = sorted((k, v) for k, v in form.items() if k not in (_CSRF_FIELD, FORM_KEY))
    body = urlencode(fields).encode()
    return request_stamp(f"{actor.role}:{actor.id}", f"console:{key}",
                         fingerprint(method, path, body))


def text_field(form: Mapping[str, str], name: str, *, required: bool = True) -> str | None:
    value = form.get(name, "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{name.replace('_', ' ')} is required", field=name)
        return None
    return value


def money_field(form: Mapping[str, str], name: str, currency: str) -> Money | None:
    """An amount in the order's currency (blank: none)."""
    value = form.get(name, "").strip()
    if not value:
        return None
    return Money.of(value, currency, field=name)


def local_instant(form: Mapping[str, str], name: str, timezone: str) -> datetime | None:
    """A ``datetime-local`` field read in the case's time zone (blank: none)."""
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a date and time, "
                           f"e.g. 2026-12-24T17:00", field=name) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def flag(form: Mapping[str, str], name: str) -> bool:
    return form.get(name, "").strip().lower() in ("1", "true", "on", "yes")


def flat(form: Any) -> dict[str, str]:
    """A posted form as one text value per field (the last, as browsers send one)."""
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}
