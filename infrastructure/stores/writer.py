"""The writer's side of the read-model store, in SQL common to SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from application.projections.errors import PositionConflict
from application.projections.records import (
    BUILDING,
    CURRENT,
    READY,
    RETIRED,
    BatchWrite,
    DisputesChanges,
    MetricsChanges,
    ScorecardChanges,
    StateRow,
    VersionInfo,
)
from infrastructure.stores import tables
from infrastructure.stores.session import Session

FIRST_LANE = "l1"
_CHUNK = 500


class SqlWriter:
    """Everything of ``ReadModelStore`` but locks and waiting (see the subclasses)."""

    def __init__(self, session: Session, application_name: str) -> None:
        self.session = session
        self.dialect = session.dialect
        self.application_name = application_name

    # ---- bookkeeping ----------------------------------------------------------------

    def _setup_lock(self) -> None:
        """Serialise concurrent setups (PostgreSQL); SQLite's write lock already does."""

    def setup(self, initial: Iterable[tuple[str, int]]) -> None:
        s = self.session
        with s.transaction():
            self._setup_lock()
            for statement in tables.META:
                s.execute(statement)
            known = {name for (name,) in s.fetchall("SELECT DISTINCT name FROM rm_versions")}
            missing = [(name, schema) for name, schema in initial if name not in known]
            if not missing:
                return
            # Read models new to this store start from zero in a lane of their own.
            lane = FIRST_LANE if not known else self._next_lane(s)
            self._create_lane(s, lane)
            for name, schema in missing:
                self._create_model(s, name, 1, schema, lane, CURRENT, indexes=True)

    def _next_lane(self, s: Session) -> str:
        lanes = [lane for (lane,) in s.fetchall("SELECT DISTINCT lane FROM rm_versions")]
        lanes += [lane for (lane,) in s.fetchall("SELECT lane FROM rm_tracking")]
        numbers = [int(lane[1:]) for lane in lanes if lane[1:].isdigit()]
        return f"l{max(numbers, default=0) + 1}"

    def _create_lane(self, s: Session, lane: str) -> None:
        for statement in tables.lane_statements(self.dialect, lane):
            s.execute(statement)
        s.execute(
            "INSERT INTO rm_tracking (lane, application_name, notification_id) VALUES (?, ?, 0)"
            " ON CONFLICT (lane) DO NOTHING",
            (lane, self.application_name),
        )

    def _create_model(
        self, s: Session, name: str, version: int, schema: int, lane: str, status: str,
        *, indexes: bool,
    ) -> None:
        for statement in tables.create_statements(self.dialect, name, version):
            s.execute(statement)
        if indexes:
            for statement in tables.index_statements(name, version):
                s.execute(statement)
        s.execute(
            "INSERT INTO rm_versions (name, version, schema_version, lane, status)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, version, schema, lane, status),
        )

    def versions(self) -> list[VersionInfo]:
        return read_versions(self.session)

    def lane_position(self, lane: str) -> int:
        rows = self.session.fetchall(
            "SELECT notification_id FROM rm_tracking WHERE lane = ?", (lane,)
        )
        return int(rows[0][0]) if rows else 0

    def new_lane(self) -> str:
        with self.session.transaction():
            lane = self._next_lane(self.session)
            self._create_lane(self.session, lane)
        return lane

    def set_status(self, name: str, version: int, status: str) -> None:
        with self.session.transaction():
            self.session.execute(
                "UPDATE rm_versions SET status = ? WHERE name = ? AND version = ?",
                (status, name, version),
            )

    # ---- batches --------------------------------------------------------------------

    def load_states(self, lane: str, dispute_ids: Sequence[str]) -> list[StateRow]:
        found: list[StateRow] = []
        for i in range(0, len(dispute_ids), _CHUNK):
            chunk = dispute_ids[i : i + _CHUNK]
            where, params = self.dialect.in_list("dispute_id", chunk)
            rows = self.session.fetchall(
                f"SELECT dispute_id, version, position, events FROM {tables.state_table(lane)}"
                f" WHERE {where} ORDER BY dispute_id, version",
                params,
            )
            for dispute_id, group in groupby(rows, key=itemgetter(0)):
                parts = list(group)
                found.append(
                    StateRow(
                        dispute_id,
                        int(parts[-1][1]),
                        int(parts[-1][2]),
                        b"".join(bytes(part[3]) for part in parts),
                    )
                )
        return found

    def write(self, batch: BatchWrite) -> None:
        s = self.session
        with s.transaction():
            moved = s.execute(
                "UPDATE rm_tracking SET notification_id = ?"
                " WHERE lane = ? AND application_name = ? AND notification_id = ?",
                (
                    batch.tracking.notification_id,
                    batch.lane,
                    batch.tracking.application_name,
                    batch.expected_position,
                ),
            )
            if moved != 1:
                raise PositionConflict(
                    f"lane {batch.lane} is no longer at {batch.expected_position}; "
                    "another writer moved it"
                )
            if batch.states:
                self._write_states(batch.lane, batch.states)
            for changes in batch.changes:
                if isinstance(changes, DisputesChanges):
                    self._write_disputes(changes)
                elif isinstance(changes, ScorecardChanges):
                    self._write_scorecard(changes)
                else:
                    self._write_metrics(changes)

    def _write_states(self, lane: str, states: Sequence[StateRow]) -> None:
        self.session.executemany(
            f"INSERT INTO {tables.state_table(lane)}"
            " (dispute_id, version, position, events) VALUES (?, ?, ?, ?)",
            states,
        )

    def _write_disputes(self, changes: DisputesChanges) -> None:
        if not changes.rows:
            return
        t = tables.table("rm_disputes", changes.version)
        columns = tables.DISPUTE_COLUMNS
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "dispute_id")
        self.session.executemany(
            f"INSERT INTO {t} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT (dispute_id) DO UPDATE SET {updates}",
            changes.rows,
        )

    def _write_scorecard(self, changes: ScorecardChanges) -> None:
        if changes.sellers:
            t = tables.table("rm_sellers", changes.version)
            columns = tables.SELLER_COLUMNS
            self._insert_rows(
                f"INSERT INTO {t} (seller_id, {', '.join(columns)})",
                ("TEXT", *("BIGINT" for _ in columns)),
                [(seller, *counts) for seller, counts in changes.sellers.items()],
                "ON CONFLICT (seller_id) DO UPDATE SET "
                + ", ".join(f"{c} = {t}.{c} + excluded.{c}" for c in columns),
            )
        pending = tables.table("rm_seller_pending", changes.version)
        upserts = [(p.dispute_id, p.seller_id, p.ship_by) for p in changes.pending if p.ship_by]
        deletes = [p.dispute_id for p in changes.pending if p.ship_by is None]
        if deletes:
            self._delete_rows(pending, "dispute_id", deletes)
        if upserts:
            self._insert_rows(
                f"INSERT INTO {pending} (dispute_id, seller_id, ship_by)",
                ("TEXT", "TEXT", "BIGINT"),
                upserts,
                "ON CONFLICT (dispute_id) DO UPDATE SET ship_by = excluded.ship_by",
            )
        if changes.samples:
            self._insert_rows(
                f"INSERT INTO {tables.table('rm_response_times', changes.version)}"
                " (dispute_id, version, seller_id, micros)",
                ("TEXT", "INTEGER", "TEXT", "BIGINT"),
                changes.samples,
                "ON CONFLICT (dispute_id, version) DO NOTHING",
            )
        self._write_seller_pages(changes)

    def _write_seller_pages(self, changes: ScorecardChanges) -> None:
        """Names (a later order's replaces an earlier's, whichever batch comes first),
        markets and return costs (added up), reviews (as they now stand)."""
        version = changes.version
        if changes.names:
            t = tables.table("rm_seller_names", version)
            self._insert_rows(
                f"INSERT INTO {t} (seller_id, seller_name, name_key, named_at, named_position)",
                ("TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT"),
                list(changes.names.values()),
                "ON CONFLICT (seller_id) DO UPDATE SET seller_name = excluded.seller_name,"
                " name_key = excluded.name_key, named_at = excluded.named_at,"
                " named_position = excluded.named_position"
                f" WHERE excluded.named_at > {t}.named_at OR (excluded.named_at = {t}.named_at"
                f" AND excluded.named_position > {t}.named_position)",
            )
        if changes.markets:
            t = tables.table("rm_seller_markets", version)
            self._insert_rows(
                f"INSERT INTO {t} (seller_id, region, category, orders)",
                ("TEXT", "TEXT", "TEXT", "BIGINT"),
                [(*market, n) for market, n in changes.markets.items()],
                f"ON CONFLICT (seller_id, region, category) DO UPDATE SET"
                f" orders = {t}.orders + excluded.orders",
            )
        reviews = tables.table("rm_seller_reviews", version)
        if changes.unreviewed:
            self._delete_rows(reviews, "dispute_id", changes.unreviewed)
        if changes.reviews:
            columns = ("seller_id", "order_id", "rating", "comment", "reviewed_at", "hidden",
                       "hidden_reason")
            self._insert_rows(
                f"INSERT INTO {reviews} (dispute_id, {', '.join(columns)})",
                ("TEXT", "TEXT", "TEXT", "INTEGER", "TEXT", "BIGINT", "INTEGER", "TEXT"),
                changes.reviews,
                "ON CONFLICT (dispute_id) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in columns),
            )
        if changes.return_costs:
            t = tables.table("rm_seller_return_costs", version)
            self._insert_rows(
                f"INSERT INTO {t} (seller_id, currency, minor, labels)",
                ("TEXT", "TEXT", "BIGINT", "BIGINT"),
                [(*key, minor, labels) for key, (minor, labels) in changes.return_costs.items()],
                "ON CONFLICT (seller_id, currency) DO UPDATE SET"
                f" minor = {t}.minor + excluded.minor, labels = {t}.labels + excluded.labels",
            )

    def _write_metrics(self, changes: MetricsChanges) -> None:
        if changes.statuses:
            t = tables.table("rm_status_counts", changes.version)
            self._insert_rows(
                f"INSERT INTO {t} (status, n)",
                ("TEXT", "BIGINT"),
                list(changes.statuses.items()),
                f"ON CONFLICT (status) DO UPDATE SET n = {t}.n + excluded.n",
            )
        if changes.resolutions:
            t = tables.table("rm_resolutions", changes.version)
            self._insert_rows(
                f"INSERT INTO {t} (dispute_id, micros)",
                ("TEXT", "BIGINT"),
                changes.resolutions,
                "ON CONFLICT (dispute_id) DO NOTHING",
            )

    def _insert_rows(
        self, insert: str, types: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str
    ) -> None:
        """``insert`` (``INSERT INTO t (columns)``) of every row, then ``conflict``.

        ``types``: the columns' SQL types, for a store that sends the rows as arrays.
        """
        values = ", ".join("?" * len(types))
        self.session.executemany(f"{insert} VALUES ({values}) {conflict}", rows)

    def _delete_rows(self, table: str, column: str, values: Sequence[Any]) -> None:
        self.session.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(v,) for v in values])

    # ---- rebuilds -------------------------------------------------------------------

    def begin_build(self, name: str, version: int, schema: int, lane: str) -> None:
        with self.session.transaction():
            self._create_model(self.session, name, version, schema, lane, BUILDING, indexes=False)

    def finish_build(self, name: str, version: int) -> None:
        s = self.session
        with s.transaction():
            for statement in tables.index_statements(name, version):
                s.execute(statement)
            s.execute(
                "UPDATE rm_versions SET status = ? WHERE name = ? AND version = ?",
                (READY, name, version),
            )

    def switch(
        self,
        lane: str,
        *,
        retire: Sequence[tuple[str, int]],
        merge_into: str | None = None,
        position: int | None = None,
    ) -> None:
        s = self.session
        with s.transaction():
            if merge_into is not None:
                assert position is not None
                for each in (lane, merge_into):
                    at = s.fetchall(
                        "SELECT notification_id FROM rm_tracking WHERE lane = ?", (each,)
                    )
                    if not at or int(at[0][0]) != position:
                        raise PositionConflict(f"lane {each} is not at {position}; not switching")
            for name, version in retire:
                s.execute(
                    "UPDATE rm_versions SET status = ? WHERE name = ? AND version = ?",
                    (RETIRED, name, version),
                )
            s.execute(
                "UPDATE rm_versions SET status = ?, lane = ? WHERE lane = ? AND status = ?",
                (CURRENT, merge_into or lane, lane, READY),
            )
            if merge_into is not None:
                s.execute("DELETE FROM rm_tracking WHERE lane = ?", (lane,))

    def drop_lane(self, lane: str) -> None:
        with self.session.transaction():
            self.session.execute(f"DROP TABLE IF EXISTS {tables.state_table(lane)}")
            self.session.execute("DELETE FROM rm_tracking WHERE lane = ?", (lane,))

    def drop_version(self, name: str, version: int) -> None:
        with self.session.transaction():
            for statement in tables.drop_statements(name, version):
                self.session.execute(statement)
            self.session.execute(
                "DELETE FROM rm_versions WHERE name = ? AND version = ?", (name, version)
            )


def read_versions(session: Session) -> list[VersionInfo]:
    rows: list[Any] = session.fetchall(
        "SELECT name, version, schema_version, lane, status FROM rm_versions"
        " ORDER BY name, version"
    )
    return [VersionInfo(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows]
