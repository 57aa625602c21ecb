"""Choosing a seller: the seller search, a seller's page and its scorecard, in plain
values (queries of :class:`~application.projections.queries.ReadModelQueries`).

Every authenticated caller may search the sellers and read any seller's page
and scorecard (access rows ``sellers`` and ``scorecard``). A seller that no
order names is :class:`SellerNotFound` (404), never a row of zeros.

- The search matches ``q`` against the seller id (exactly) or the start of the
  seller's name (ignoring case), keeps the sellers that sold in ``region``
  and/or ``category`` (both given: that category in that region), and orders
  them by ``sort``: ``rating`` (best average first, then more reviews),
  ``late_dispatch_rate`` (lowest first, then more orders) or ``orders`` (most
  first); the seller id breaks ties, and sellers without the figure come last.
  Pages after the first rank and count as of the first page's instant (the
  cursor carries it), so time passing between pages moves nobody.
- The figures are the scorecard's: a review a moderator hid counts in none of
  them (average, reviews, distribution). The page lists the newest reviews
  buyers see; moderators see the hidden ones too, marked, with the case that
  holds each (to show it again).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from application.access import require
from application.projections.errors import SellerNotFound
from application.projections.figures import DEFAULT_LIMIT, check_limit, hours, iso_micros, ratio
from application.projections.records import (
    SELLER_SORTS,
    Reading,
    ReturnCost,
    ReviewRow,
    SellerCounts,
    SellerFigures,
    SellerQuery,
    SellerSummary,
    to_micros,
)
from domain.dispute import COMMAND_ROLES, Actor
from domain.errors import InvalidInput
from domain.money import Money, minor_units

if TYPE_CHECKING:
    from application.ports import Clock
    from application.projections.ports import ReadModelReader

T = TypeVar("T")

#: The newest reviews a seller's page lists.
RECENT_REVIEWS = 10
DEFAULT_SORT = "rating"
#: Who sees hidden reviews on a seller's page.
SEES_HIDDEN = frozenset({"moderator"})


def figures_of(counts: SellerCounts, pending_due: int) -> dict[str, Any]:
    """The scorecard's counts and rates (``pending_due``: unshipped orders, not late yet,
    whose ``ship_by`` has passed)."""
    c = counts
    return {
        "orders": c.orders,
        "shipped": c.shipped,
        "late_dispatch_rate": ratio(c.late, c.dispatch_settled + pending_due),
        "auto_cancel_rate": ratio(c.auto_cancelled, c.orders),
        "disputes": c.disputes,
        "interventions": c.interventions,
        "interventions_lost": c.interventions_lost,
        "appeals_won": c.appeals_won,
        "appeals_lost": c.appeals_lost,
        "refund_rate": ratio(c.refunded, c.orders),
        "average_rating": round(c.rating_sum / c.reviews, 2) if c.reviews else None,
        "reviews": c.reviews,
    }


def scorecard_of(seller_id: str, figures: SellerFigures, position: int) -> dict[str, Any]:
    return {
        "seller_id": seller_id,
        **figures_of(figures.counts, figures.pending_due),
        "median_response_hours": hours(figures.median_response_micros),
        "responses": figures.responses,
        "position": position,
    }


def summary_of(seller: SellerSummary) -> dict[str, Any]:
    """One seller of the search: a compact scorecard, where and what it sold."""
    return {
        "seller_id": seller.seller_id,
        "seller_name": seller.seller_name,
        **figures_of(seller.counts, seller.pending_due),
        "regions": list(seller.regions),
        "categories": list(seller.categories),
    }


def rating_distribution(counts: SellerCounts) -> dict[str, int]:
    """How many of the reviews buyers see gave each rating, ``"1"`` to ``"5"``."""
    return {
        "1": counts.rating_1,
        "2": counts.rating_2,
        "3": counts.rating_3,
        "4": counts.rating_4,
        "5": counts.rating_5,
    }


def review_of(row: ReviewRow, staff: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "rating": row.rating,
        "comment": row.comment,
        "reviewed_at": iso_micros(row.reviewed_at),
    }
    if staff:
        view |= {
            "dispute_id": row.dispute_id,
            "order_id": row.order_id,
            "hidden": bool(row.hidden),
            "hidden_reason": row.hidden_reason,
        }
    return view


def return_cost_of(cost: ReturnCost) -> dict[str, Any]:
    amount = Money(Decimal(cost.minor).scaleb(-minor_units(cost.currency)), cost.currency)
    return {**amount.to_dict(), "labels": cost.labels}


def check_seller_after(after: object, sort: str) -> tuple[int, tuple[float | int | str, ...]]:
    """(instant, key) of a page key the previous page of this sort returned
    (``[sort, instant, *figures, seller_id]``), else ``InvalidInput``."""
    figures = SELLER_SORTS[sort]
    if (
        isinstance(after, (list, tuple))
        and len(after) == 3 + figures
        and after[0] == sort
        and _whole(after[1])
        and all(_number(value) for value in after[2 : 2 + figures])
        and isinstance(after[-1], str)
    ):
        return int(after[1]), tuple(after[2:])
    raise InvalidInput("cursor is not one this list returned (with this sort)", field="cursor")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return _whole(value) or isinstance(value, float)


class SellerQueries:
    """Mixed into ``ReadModelQueries``, which gives it ``reader``, ``clock`` and ``_read``."""

    if TYPE_CHECKING:
        reader: ReadModelReader
        clock: Clock

        def _read(
            self, name: str, min_position: int | None, read: Callable[[], Reading[T]]
        ) -> Reading[T]: ...

    def scorecard(
        self, actor: Actor, seller_id: str, *, min_position: int | None = None
    ) -> dict[str, Any]:
        require(COMMAND_ROLES, "scorecard", actor)
        now = to_micros(self.clock.now())
        reading = self._read(
            "scorecard", min_position, lambda: self.reader.seller_figures(seller_id, now)
        )
        return scorecard_of(seller_id, _known(reading.value, seller_id), reading.position)

    def sellers(
        self,
        actor: Actor,
        *,
        q: str | None = None,
        region: str | None = None,
        category: str | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: object = None,
        min_position: int | None = None,
    ) -> dict[str, Any]:
        """A page of sellers (see the module). ``after``: the ``next_after`` of the
        previous page. Returns ``data``, ``next_after`` (or None) and ``position``."""
        require(COMMAND_ROLES, "sellers", actor)
        check_limit(limit)
        sort = DEFAULT_SORT if sort is None else sort
        if sort not in SELLER_SORTS:
            raise InvalidInput(
                f"sort must be one of {', '.join(SELLER_SORTS)}; got {sort!r}", field="sort"
            )
        if after is None:
            now, key = to_micros(self.clock.now()), None
        else:
            now, key = check_seller_after(after, sort)
        text = (q or "").strip() or None
        query = SellerQuery(
            now, sort, text, None if text is None else text.casefold(), region, category, key,
            limit + 1,
        )
        reading = self._read("scorecard", min_position, lambda: self.reader.sellers(query))
        rows = reading.value
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "data": [summary_of(row) for row in rows],
            "next_after": [sort, now, *rows[-1].key] if more and rows else None,
            "position": reading.position,
        }

    def seller(
        self, actor: Actor, seller_id: str, *, min_position: int | None = None
    ) -> dict[str, Any]:
        """A seller's page: the scorecard, name, markets, ratings by star, the newest
        reviews and the return labels it paid."""
        require(COMMAND_ROLES, "sellers", actor)
        now = to_micros(self.clock.now())
        staff = actor.role in SEES_HIDDEN
        reading = self._read(
            "scorecard",
            min_position,
            lambda: self.reader.seller_profile(
                seller_id, now, reviews=RECENT_REVIEWS, hidden=staff
            ),
        )
        profile = _known(reading.value, seller_id)
        summary, counts = profile.summary, profile.summary.counts
        page = {
            **scorecard_of(seller_id, profile.figures, reading.position),
            "seller_name": summary.seller_name,
            "regions": list(summary.regions),
            "categories": list(summary.categories),
            "rating_distribution": rating_distribution(counts),
            "recent_reviews": [review_of(row, staff) for row in profile.reviews],
            "return_costs": [return_cost_of(cost) for cost in profile.return_costs],
        }
        if staff:
            page["hidden_reviews"] = counts.hidden_reviews
        return page


def _known(value: T | None, seller_id: str) -> T:
    if value is None:
        raise SellerNotFound(f"no order names seller {seller_id!r}")
    return value
