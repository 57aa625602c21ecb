"""The query side of the read-model store: each call reads one consistent snapshot
(the current version's name, its position and its rows together)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from application.projections.errors import ReadModelUnavailable, StoreUnavailable
from application.projections.records import (
    CURRENT,
    DisputeQuery,
    DisputeRow,
    DueCase,
    MetricsFigures,
    QueuePage,
    QueueQuery,
    Reading,
    ReturnCost,
    ReviewRow,
    SellerCounts,
    SellerFigures,
    SellerProfile,
    SellerQuery,
    SellerSummary,
    VersionInfo,
)
from infrastructure.stores import queue_sql, tables
from infrastructure.stores.seller_sql import SORT_KEYS, seller_list
from infrastructure.stores.session import Session
from infrastructure.stores.writer import read_versions

_ROW_COLUMNS = ", ".join(tables.DISPUTE_COLUMNS)


class SqlReader:
    """``ReadModelReader`` over a source of sessions (one per call)."""

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        unavailable: tuple[type[BaseException], ...],
    ) -> None:
        self._sessions = sessions
        self._unavailable = unavailable

    @contextmanager
    def _snapshot(self) -> Iterator[Session]:
        try:
            with self._sessions() as session, session.transaction():
                yield session
        except self._unavailable as error:
            raise StoreUnavailable(f"the read-model store is unavailable: {error}") from error

    @staticmethod
    def _current(session: Session, name: str) -> tuple[int, int]:
        """(version, position) of the served version of ``name``."""
        rows = session.fetchall(
            "SELECT v.version, t.notification_id FROM rm_versions v"
            " JOIN rm_tracking t ON t.lane = v.lane WHERE v.name = ? AND v.status = ?",
            (name, CURRENT),
        )
        if not rows:
            raise ReadModelUnavailable(
                f"the {name} read model is not built; run `disputedesk project --rebuild {name}`"
            )
        return int(rows[0][0]), int(rows[0][1])

    # ---- positions ------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        with self._snapshot() as s:
            rows = s.fetchall(
                "SELECT v.name, t.notification_id FROM rm_versions v"
                " JOIN rm_tracking t ON t.lane = v.lane WHERE v.status = ?",
                (CURRENT,),
            )
        return {str(name): int(position) for name, position in rows}

    def position(self) -> int:
        return min(self.positions().values(), default=0)

    def versions(self) -> list[VersionInfo]:
        with self._snapshot() as s:
            return read_versions(s)

    # ---- disputes -------------------------------------------------------------------

    def list_disputes(self, query: DisputeQuery) -> Reading[list[DisputeRow]]:
        where: list[str] = []
        params: list[Any] = []
        for column in ("status", "region", "seller_id", "buyer_id", "order_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.after is not None:
            where.append("(placed_at < ? OR (placed_at = ? AND dispute_id < ?))")
            params += [query.after[0], query.after[0], query.after[1]]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._snapshot() as s:
            version, position = self._current(s, "disputes")
            rows = s.fetchall(
                f"SELECT {_ROW_COLUMNS} FROM {tables.table('rm_disputes', version)}{clause}"
                " ORDER BY placed_at DESC, dispute_id DESC LIMIT ?",
                (*params, query.limit),
            )
        return Reading(position, [DisputeRow(*row) for row in rows])

    def moderation_queue(self, query: QueueQuery) -> Reading[QueuePage]:
        with self._snapshot() as s:
            version, position = self._current(s, "disputes")
            table = tables.table("rm_disputes", version)
            rows = s.fetchall(*queue_sql.page_sql(query, table, _ROW_COLUMNS))
            counts = queue_sql.counts_of(s.fetchall(*queue_sql.counts_sql(query, table)))
        return Reading(position, QueuePage([DisputeRow(*row) for row in rows], counts))

    def due(
        self, until: int, limit: int, after: tuple[int, str] | None = None
    ) -> Reading[list[DueCase]]:
        keyset = ""
        params: list[Any] = [until]
        if after is not None:
            keyset = " AND (next_due_at > ? OR (next_due_at = ? AND dispute_id > ?))"
            params += [after[0], after[0], after[1]]
        with self._snapshot() as s:
            version, position = self._current(s, "disputes")
            rows = s.fetchall(
                f"SELECT dispute_id, next_due_at, next_due_kind"
                f" FROM {tables.table('rm_disputes', version)}"
                f" WHERE next_due_at IS NOT NULL AND next_due_at <= ?{keyset}"
                " ORDER BY next_due_at, dispute_id LIMIT ?",
                (*params, limit),
            )
        return Reading(position, [DueCase(r[0], int(r[1]), r[2]) for r in rows])

    # ---- scorecard and metrics --------------------------------------------------------

    def seller_figures(self, seller_id: str, now: int) -> Reading[SellerFigures | None]:
        with self._snapshot() as s:
            version, position = self._current(s, "scorecard")
            return Reading(position, _figures(s, version, seller_id, now))

    def seller_profile(
        self, seller_id: str, now: int, *, reviews: int, hidden: bool
    ) -> Reading[SellerProfile | None]:
        with self._snapshot() as s:
            version, position = self._current(s, "scorecard")
            figures = _figures(s, version, seller_id, now)
            if figures is None:
                return Reading(position, None)
            (summary,) = _with_markets(s, version, [(
                seller_id, _name(s, version, seller_id), figures.counts, figures.pending_due, (),
            )])
            shown = "" if hidden else " AND hidden = 0"
            newest = s.fetchall(
                "SELECT dispute_id, seller_id, order_id, rating, comment, reviewed_at, hidden,"
                f" hidden_reason FROM {tables.table('rm_seller_reviews', version)}"
                f" WHERE seller_id = ?{shown} ORDER BY reviewed_at DESC, dispute_id DESC LIMIT ?",
                (seller_id, reviews),
            )
            costs = s.fetchall(
                "SELECT currency, minor, labels"
                f" FROM {tables.table('rm_seller_return_costs', version)}"
                " WHERE seller_id = ? AND labels > 0 ORDER BY currency",
                (seller_id,),
            )
        return Reading(position, SellerProfile(
            summary,
            figures,
            [ReviewRow(r[0], r[1], r[2], int(r[3]), r[4], int(r[5]), int(r[6]), r[7])
             for r in newest],
            [ReturnCost(r[0], int(r[1]), int(r[2])) for r in costs],
        ))

    def sellers(self, query: SellerQuery) -> Reading[list[SellerSummary]]:
        counters = len(tables.SELLER_COLUMNS)
        keys = len(SORT_KEYS[query.sort])
        with self._snapshot() as s:
            version, position = self._current(s, "scorecard")
            sql, params = seller_list(query, version)
            rows = s.fetchall(sql, params)
            found = _with_markets(s, version, [
                (
                    row[0],
                    row[1],
                    SellerCounts(*(int(v) for v in row[2 : 2 + counters])),
                    int(row[2 + counters]),
                    (*row[3 + counters : 3 + counters + keys], row[0]),
                )
                for row in rows
            ])
        return Reading(position, found)

    def metrics(self) -> Reading[MetricsFigures]:
        with self._snapshot() as s:
            version, position = self._current(s, "metrics")
            statuses = {
                str(status): int(n)
                for status, n in s.fetchall(
                    f"SELECT status, n FROM {tables.table('rm_status_counts', version)}"
                )
            }
            t = tables.table("rm_resolutions", version)
            resolved = _count(s, f"SELECT count(*) FROM {t}", ())
            ordered = f"SELECT micros FROM {t} ORDER BY micros LIMIT ? OFFSET ?"
            median = _median(s, ordered, (), resolved)
            p90 = None
            if resolved:
                rank = -(-9 * resolved // 10)  # nearest rank: ceil(0.9 n)
                p90 = int(s.fetchall(ordered, (1, rank - 1))[0][0])
        return Reading(position, MetricsFigures(statuses, resolved, median, p90))


def _figures(s: Session, version: int, seller_id: str, now: int) -> SellerFigures | None:
    """A seller's figures, None when no order names it."""
    columns = ", ".join(tables.SELLER_COLUMNS)
    found = s.fetchall(
        f"SELECT {columns} FROM {tables.table('rm_sellers', version)} WHERE seller_id = ?",
        (seller_id,),
    )
    if not found:
        return None
    counts = SellerCounts(*(int(v) for v in found[0]))
    pending_due = _count(
        s,
        f"SELECT count(*) FROM {tables.table('rm_seller_pending', version)}"
        " WHERE seller_id = ? AND ship_by < ?",
        (seller_id, now),
    )
    responses_table = tables.table("rm_response_times", version)
    responses = _count(
        s, f"SELECT count(*) FROM {responses_table} WHERE seller_id = ?", (seller_id,)
    )
    median = _median(
        s,
        f"SELECT micros FROM {responses_table} WHERE seller_id = ?"
        " ORDER BY micros LIMIT ? OFFSET ?",
        (seller_id,),
        responses,
    )
    return SellerFigures(counts, pending_due, responses, median)


def _name(s: Session, version: int, seller_id: str) -> str | None:
    rows = s.fetchall(
        f"SELECT seller_name FROM {tables.table('rm_seller_names', version)}"
        " WHERE seller_id = ?",
        (seller_id,),
    )
    return str(rows[0][0]) if rows else None


def _with_markets(
    s: Session,
    version: int,
    rows: list[tuple[str, str | None, SellerCounts, int, tuple[Any, ...]]],
) -> list[SellerSummary]:
    """Summaries of (seller_id, name, counts, pending_due, key) with where and what each
    sold (sorted)."""
    regions: dict[str, set[str]] = {}
    categories: dict[str, set[str]] = {}
    if rows:
        where, params = s.dialect.in_list("seller_id", [row[0] for row in rows])
        for seller_id, region, category in s.fetchall(
            f"SELECT seller_id, region, category"
            f" FROM {tables.table('rm_seller_markets', version)} WHERE {where} AND orders > 0",
            params,
        ):
            regions.setdefault(seller_id, set()).add(region)
            categories.setdefault(seller_id, set()).add(category)
    return [
        SellerSummary(
            seller_id, name, counts, pending_due,
            tuple(sorted(regions.get(seller_id, ()))),
            tuple(sorted(categories.get(seller_id, ()))),
            key,
        )
        for seller_id, name, counts, pending_due, key in rows
    ]


def _count(s: Session, sql: str, params: tuple[Any, ...]) -> int:
    return int(s.fetchall(sql, params)[0][0])


def _median(s: Session, ordered_sql: str, params: tuple[Any, ...], n: int) -> float | None:
    """The median of ``n`` ordered values (the mean of the middle two when n is even)."""
    if n == 0:
        return None
    take = 1 if n % 2 else 2
    values = [int(r[0]) for r in s.fetchall(ordered_sql, (*params, take, (n - 1) // 2))]
    return sum(values) / len(values)
