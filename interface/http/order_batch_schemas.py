"""The bodies of the bulk order feed (``POST /v1/orders/batch``), and reading one order.

The envelope is checked whole (a malformed one, or more than 1,000 orders, is
400); each order is read alone (:func:`read_order`), so that one malformed order
is that order's ``invalid`` outcome, with the field-level reasons the single
route would give, and never fails the others.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from application.order_feed import MAX_ORDERS, NewOrder, OrderResult, Refused, outcome_counts
from domain.errors import DomainError, InvalidInput
from domain.money import Money
from domain.policy import PolicyError
from interface.http.errors import FieldError, policy_field_errors
from interface.http.responses import to_money
from interface.http.schemas import Money as MoneyBody
from interface.http.schemas import PlaceOrder


class PlaceOrders(Struct, forbid_unknown_fields=True, kw_only=True):
    orders: Annotated[
        list[Any],
        Meta(min_length=1, max_length=MAX_ORDERS,
             description="1 to 1,000 orders, each as `POST /v1/orders` takes it (PlaceOrder); "
             "each is judged alone",
             extra_json_schema={"items": {"$ref": "#/components/schemas/PlaceOrder"}}),
    ]


class OrderOutcomeView(Struct, omit_defaults=True):
    """How one order ended."""

    index: Annotated[int, Meta(description="The order's place in the request (from 0)")]
    outcome: Annotated[
        Literal["created", "unchanged", "conflict", "invalid"],
        Meta(description="created: its case was opened now (or by this request's first try); "
             "unchanged: the same order was already recorded; conflict: the order id is "
             "recorded with other details (`fields`); invalid: see `detail` and `errors`"),
    ]
    order_id: str | None = None
    dispute_id: Annotated[str | None, Meta(description="The case's id (created, unchanged, "
                                                       "conflict)")] = None
    fields: Annotated[list[str] | None,
                      Meta(description="conflict: the details that differ from the record")] = None
    detail: Annotated[str | None,
                      Meta(description="conflict or invalid: why, in a sentence")] = None
    errors: Annotated[list[FieldError] | None,
                      Meta(description="invalid: the fields at fault, as a 400/422 of "
                                       "`POST /v1/orders` names them")] = None


class OrderBatchView(Struct):
    """Each order's outcome, in the order of the request, and how many ended each way."""

    results: list[OrderOutcomeView]
    counts: Annotated[dict[str, int], Meta(description="created, unchanged, conflict, invalid",
                                           examples=[{"created": 998, "unchanged": 1,
                                                      "conflict": 0, "invalid": 1}])]


_AT = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>[^`]*)`$", re.S)
_NAMED = re.compile(r"(?:unknown|required) field `([^`]+)`")


def read_order(item: Any) -> NewOrder | Refused:
    """One order of a batch as plain values, or why it cannot be one."""
    order_id = item.get("order_id") if isinstance(item, dict) else None
    order_id = order_id if isinstance(order_id, str) else None
    try:
        data = msgspec.convert(item, PlaceOrder)
        return NewOrder(
            order_id=data.order_id, buyer_id=data.buyer_id, seller_id=data.seller_id,
            region=data.region, category=data.category,
            amount=_money(data.amount.amount, data.amount.currency),
            placed_at=data.placed_at, seller_name=data.seller_name,
        )
    except msgspec.ValidationError as error:
        return Refused(order_id, _malformed(str(error)))
    except DomainError as error:
        return Refused(order_id, error)


@functools.lru_cache(maxsize=1024)
def _money(amount: str, currency: str) -> Money:
    """Request money as domain money (a feed repeats few amounts: each is checked once)."""
    return to_money(MoneyBody(amount, currency), "amount")


def _malformed(message: str) -> InvalidInput:
    at = _AT.match(message)
    if at:
        return InvalidInput(f"{at['path'] or 'order'}: {at['message']}", field=at["path"] or None)
    named = _NAMED.search(message)
    field = named[1] if named else None
    return InvalidInput(f"{field}: {message}" if field else f"order: {message}", field=field)


def _why(error: DomainError | PolicyError) -> tuple[str, list[FieldError]]:
    if isinstance(error, PolicyError):
        errors = policy_field_errors(error)
        return "; ".join(f"{e.field}: {e.message}" for e in errors), errors
    if not error.field:
        return error.detail, []
    message = error.detail.removeprefix(f"{error.field}: ")  # the field is named beside it
    return error.detail, [FieldError(error.field, message)]


def batch_view(results: Sequence[OrderResult]) -> OrderBatchView:
    views = []
    for index, result in enumerate(results):
        view = OrderOutcomeView(index=index, outcome=result.outcome.value,
                                order_id=result.order_id,
                                dispute_id=str(result.dispute_id) if result.dispute_id else None)
        if result.fields:
            view.fields = list(result.fields)
        if result.error is not None:
            view.detail, errors = _why(result.error)
            if result.outcome.value == "invalid":
                view.errors = errors or None
        views.append(view)
    return OrderBatchView(results=views, counts=outcome_counts(results))
