"""The SQL of the seller search, common to SQLite and PostgreSQL.

The list is ordered by the sort's keys, then by the seller id (ascending), and
paged by keyset: a page starts after the keys of the last row of the one
before. A key is computed in SQL the same way on every page and on both
stores: a rating average or a late-dispatch rate is a double-precision
division of whole numbers (correctly rounded, so equal fractions give equal
keys), and a seller without one sorts last (-1 below every average, 2 above
every rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from application.projections.records import SELLER_SORTS, SellerQuery
from infrastructure.stores import tables

#: The denominator of the late-dispatch rate: settled orders, and pending ones whose
#: ``ship_by`` has passed (``p.due``, counted at query time).
_DISPATCHES = "s.dispatch_settled + COALESCE(p.due, 0)"
_AVERAGE = (
    "CASE WHEN s.reviews > 0 THEN CAST(s.rating_sum AS DOUBLE PRECISION) / s.reviews"
    " ELSE -1.0 END"
)
_LATE_RATE = (
    f"CASE WHEN {_DISPATCHES} > 0 THEN CAST(s.late AS DOUBLE PRECISION) / ({_DISPATCHES})"
    " ELSE 2.0 END"
)
#: Per sort: its keys as (expression, descending?), before the seller id.
SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    # best first; of equal averages, the one with more reviews
    "rating": ((_AVERAGE, True), ("s.reviews", True)),
    # lowest first; of equal rates, the one with more orders
    "late_dispatch_rate": ((_LATE_RATE, False), ("s.orders", True)),
    # most first
    "orders": (("s.orders", True),),
}
if {sort: len(keys) for sort, keys in SORT_KEYS.items()} != SELLER_SORTS:  # pragma: no cover
    raise TypeError("SORT_KEYS must order by as many keys as SELLER_SORTS says")


def after(columns: Sequence[tuple[str, bool]], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Rows that come after ``values`` in the order of ``columns`` ((column, descending?))."""
    clauses: list[str] = []
    params: list[Any] = []
    for i, (column, descending) in enumerate(columns):
        parts = [f"{earlier} = ?" for earlier, _ in columns[:i]]
        parts.append(f"{column} {'<' if descending else '>'} ?")
        clauses.append(f"({' AND '.join(parts)})")
        params += [*values[:i], values[i]]
    return f"({' OR '.join(clauses)})", params


def seller_list(query: SellerQuery, version: int) -> tuple[str, list[Any]]:
    """The statement of one page (``query.limit`` rows) and its parameters.

    Each row: seller_id, seller_name, the counters (``tables.SELLER_COLUMNS``),
    pending_due, then the sort's keys.
    """
    keys = SORT_KEYS[query.sort]
    counters = ", ".join(f"s.{column}" for column in tables.SELLER_COLUMNS)
    computed = ", ".join(f"{expression} AS k{i}" for i, (expression, _) in enumerate(keys))
    params: list[Any] = [query.now]
    where: list[str] = []
    matches: list[str] = []
    if query.seller_id is not None:
        matches.append("s.seller_id = ?")
        params.append(query.seller_id)
    if query.name_prefix is not None:
        matches.append("substr(n.name_key, 1, CAST(? AS INTEGER)) = ?")
        params += [len(query.name_prefix), query.name_prefix]
    if matches:
        where.append(f"({' OR '.join(matches)})")
    market = ["m.seller_id = s.seller_id"]
    for column in ("region", "category"):
        value = getattr(query, column)
        if value is not None:
            market.append(f"m.{column} = ?")
            params.append(value)
    if len(market) > 1:
        markets = tables.table("rm_seller_markets", version)
        where.append(f"EXISTS (SELECT 1 FROM {markets} m WHERE {' AND '.join(market)})")
    inner = (
        f"SELECT s.seller_id, n.seller_name, {counters}, COALESCE(p.due, 0) AS pending_due,"
        f" {computed}"
        f" FROM {tables.table('rm_sellers', version)} s"
        f" LEFT JOIN {tables.table('rm_seller_names', version)} n ON n.seller_id = s.seller_id"
        " LEFT JOIN (SELECT seller_id, count(*) AS due"
        f" FROM {tables.table('rm_seller_pending', version)} WHERE ship_by < ?"
        " GROUP BY seller_id) p ON p.seller_id = s.seller_id"
    )
    if where:
        inner += f" WHERE {' AND '.join(where)}"
    order = [(f"x.k{i}", descending) for i, (_, descending) in enumerate(keys)]
    order.append(("x.seller_id", False))
    keyset = ""
    if query.after is not None:
        clause, values = after(order, query.after)
        keyset = f" WHERE {clause}"
        params += values
    ordering = ", ".join(f"{column}{' DESC' if descending else ''}" for column, descending in order)
    params.append(query.limit)
    return f"SELECT * FROM ({inner}) x{keyset} ORDER BY {ordering} LIMIT ?", params
