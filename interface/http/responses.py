"""Turning application results into responses, and request values into domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException

from domain.errors import InvalidMoney
from domain.money import Money
from interface.http import schemas
from interface.http.conditional import etag

CASE_HEADERS = {"Vary": "Authorization", "Cache-Control": "private, no-cache"}
REPLAYED_HEADER = "Idempotent-Replayed"
#: Where a command's case answer names itself for the idempotency key (see
#: :mod:`interface.http.idempotency`).
CASE_OUTCOME = "case_outcome"


def case_response(
    request: Request[Any, Any, Any],
    view: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[schemas.CaseView]:
    """A case answer. For a command, the idempotency key keeps (status, dispute, version);
    a command the application recognised as already carried out is marked replayed."""
    state = request.scope.setdefault("state", {})
    state["dispute_id"] = view["id"]
    extra = dict(headers or {})
    if view.pop("replayed", False):
        extra[REPLAYED_HEADER] = "true"
    if request.method in ("POST", "DELETE"):
        state[CASE_OUTCOME] = (view["id"], view["version"], view.get("position"))
    return Response(
        schemas.case_view(view),
        status_code=status,
        headers={"ETag": etag(view["version"]), **CASE_HEADERS, **extra},
    )


def not_modified(version: int) -> Response[Any]:
    return Response(None, status_code=304, headers={"ETag": etag(version), **CASE_HEADERS})


def to_money(value: schemas.Money, field: str) -> Money:
    """Request money as domain money; a problem names ``<field>.amount`` or ``<field>.currency``."""
    try:
        return Money.of(value.amount, value.currency, field="amount")
    except InvalidMoney as error:
        if error.field == "currency":
            raise InvalidMoney(error.detail, field=f"{field}.currency") from None
        detail = error.detail.replace("amount", f"{field}.amount", 1)
        raise InvalidMoney(detail, field=f"{field}.amount") from None


def optional_money(value: schemas.Money | None, field: str) -> Money | None:
    return None if value is None else to_money(value, field)


def parse_as_of(raw: str) -> int | datetime:
    """``?as_of=``: a version number or an RFC 3339 instant ('+' may arrive as a space)."""
    text = raw.strip()
    if text.isdigit():
        return int(text)
    try:
        return datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise ValidationException(
            "as_of must be a version number or an RFC 3339 time",
            extra=[{"key": "as_of", "message": "a version number or an RFC 3339 time"}],
        ) from None
