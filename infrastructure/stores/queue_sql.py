"""The moderation queue's SQL: its filters, a page of it and its counts.

A claim is live while ``claim_expires_at`` is after the query's ``now``: the
disputes view keeps the claim as recorded, and the queue judges it when read.
"""

from __future__ import annotations

from typing import Any

from application.projections.records import QueueCounts, QueueQuery

#: A live claim at the query's instant (one parameter: ``now``).
_LIVE = "(claimed_by IS NOT NULL AND claim_expires_at > ?)"
_UNCLAIMED = "(claimed_by IS NULL OR claim_expires_at <= ?)"


def _filters(query: QueueQuery) -> tuple[list[str], list[Any]]:
    """The queue's rows under every filter of ``query`` but its claim filter and paging."""
    where = ["awaiting_ruling_since IS NOT NULL"]
    params: list[Any] = []
    for column, value in (
        ("region", query.region),
        ("seller_id", query.seller_id),
        ("intervention_reason", query.reason),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.requested_before is not None:
        where.append("awaiting_ruling_since <= ?")
        params.append(query.requested_before)
    return where, params


def page_sql(query: QueueQuery, table: str, columns: str) -> tuple[str, tuple[Any, ...]]:
    """A page of the queue, oldest request first, after ``query.after``."""
    where, params = _filters(query)
    if query.claim == "mine":
        where.append(f"claimed_by = ? AND {_LIVE}")
        params += [query.moderator_id, query.now]
    elif query.claim == "others":
        where.append(f"claimed_by <> ? AND {_LIVE}")
        params += [query.moderator_id, query.now]
    elif query.claim == "unclaimed":
        where.append(_UNCLAIMED)
        params.append(query.now)
    if query.after is not None:
        where.append(
            "(awaiting_ruling_since > ? OR (awaiting_ruling_since = ? AND dispute_id > ?))"
        )
        params += [query.after[0], query.after[0], query.after[1]]
    sql = (
        f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)}"
        " ORDER BY awaiting_ruling_since, dispute_id LIMIT ?"
    )
    return sql, (*params, query.limit)


def counts_sql(query: QueueQuery, table: str) -> tuple[str, tuple[Any, ...]]:
    """Per intervention reason: the cases, those with no live claim, the asker's."""
    where, params = _filters(query)
    sql = (
        "SELECT intervention_reason, count(*),"
        f" sum(CASE WHEN {_UNCLAIMED} THEN 1 ELSE 0 END),"
        f" sum(CASE WHEN claimed_by = ? AND {_LIVE} THEN 1 ELSE 0 END)"
        f" FROM {table} WHERE {' AND '.join(where)} GROUP BY intervention_reason"
    )
    return sql, (query.now, query.moderator_id, query.now, *params)


def counts_of(rows: list[tuple[Any, ...]]) -> QueueCounts:
    """:class:`QueueCounts` from the rows of :func:`counts_sql`."""
    by_reason: dict[str, int] = {}
    total = unclaimed = mine = 0
    for reason, n, free, own in rows:
        total += int(n)
        unclaimed += int(free or 0)
        mine += int(own or 0)
        if reason is not None:
            by_reason[str(reason)] = int(n)
    return QueueCounts(total, unclaimed, mine, by_reason)
