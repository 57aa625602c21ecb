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
    QueueQuery,
    Reading,
    SellerCounts,
    SellerFigures,
    VersionInfo,
)
from infrastructure.stores import tables
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

    def moderation_queue(self, query: QueueQuery) -> Reading[list[DisputeRow]]:
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
        if query.after is not None:
            where.append(
                "(awaiting_ruling_since > ? OR (awaiting_ruling_since = ? AND dispute_id > ?))"
            )
            params += [query.after[0], query.after[0], query.after[1]]
        with self._snapshot() as s:
            version, position = self._current(s, "disputes")
            rows = s.fetchall(
                f"SELECT {_ROW_COLUMNS} FROM {tables.table('rm_disputes', version)}"
                f" WHERE {' AND '.join(where)}"
                " ORDER BY awaiting_ruling_since, dispute_id LIMIT ?",
                (*params, query.limit),
            )
        return Reading(position, [DisputeRow(*row) for row in rows])

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

    def seller_figures(self, seller_id: str, now: int) -> Reading[SellerFigures]:
        with self._snapshot() as s:
            version, position = self._current(s, "scorecard")
            columns = ", ".join(tables.SELLER_COLUMNS)
            found = s.fetchall(
                f"SELECT {columns} FROM {tables.table('rm_sellers', version)}"
                " WHERE seller_id = ?",
                (seller_id,),
            )
            counts = SellerCounts(*(int(v) for v in found[0])) if found else SellerCounts()
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
        return Reading(position, SellerFigures(counts, pending_due, responses, median))

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


def _count(s: Session, sql: str, params: tuple[Any, ...]) -> int:
    return int(s.fetchall(sql, params)[0][0])


def _median(s: Session, ordered_sql: str, params: tuple[Any, ...], n: int) -> float | None:
    """The median of ``n`` ordered values (the mean of the middle two when n is even)."""
    if n == 0:
        return None
    take = 1 if n % 2 else 2
    values = [int(r[0]) for r in s.fetchall(ordered_sql, (*params, take, (n - 1) // 2))]
    return sum(values) / len(values)
