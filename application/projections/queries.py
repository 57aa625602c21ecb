"""The read-model queries the API serves, in plain values.

Who sees what is the access table's (``list_disputes``, ``moderation_queue``,
``scorecard``, ``metrics``): buyers and sellers list only their own disputes (a
filter naming someone else returns nothing), moderators list all and work the
moderation queue (and only they see who claimed which case), moderators and
analysts read the metrics; every authenticated
caller may read any seller's scorecard and search the sellers (``sellers``:
:mod:`~application.projections.seller_queries`). Every answer carries the read model's
``position`` (the last notification folded in); ``min_position`` waits (up to
``wait_timeout``) for the read model to reach a position a command reported,
else ``ReadModelBehind``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from application.access import require
from application.ports import Clock
from application.projections.errors import ReadModelBehind
from application.projections.figures import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    check_limit,
    hours,
    iso_micros,
    ratio,
)
from application.projections.ports import ReadModelReader
from application.projections.records import (
    CLAIM_FILTERS,
    DisputeQuery,
    DisputeRow,
    DueCase,
    QueueCounts,
    QueueQuery,
    Reading,
    to_micros,
)
from application.projections.seller_queries import SellerQueries
from domain.dispute import COMMAND_ROLES, INTERVENTION_REASONS, STATUSES, Actor
from domain.errors import InvalidInput

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "WAIT_TIMEOUT",
    "ReadModelQueries",
    "check_after",
    "check_claim_filter",
    "check_limit",
    "hours",
    "iso_micros",
    "ratio",
    "summary",
]

WAIT_TIMEOUT = 5.0

T = TypeVar("T")


def check_after(after: object) -> tuple[int, str] | None:
    """A page key as the previous page returned it (``next_after``), else ``InvalidInput``."""
    if after is None:
        return None
    if (
        isinstance(after, (list, tuple))
        and len(after) == 2
        and isinstance(after[0], int)
        and not isinstance(after[0], bool)
        and isinstance(after[1], str)
    ):
        return after[0], after[1]
    raise InvalidInput("cursor is not one this list returned", field="cursor")


def check_claim_filter(claim: str | None) -> str | None:
    """The queue's ``claim`` filter, one of :data:`CLAIM_FILTERS` (or none), else
    ``InvalidInput``."""
    if claim is not None and claim not in CLAIM_FILTERS:
        raise InvalidInput(
            f"claim must be one of {', '.join(CLAIM_FILTERS)}; got {claim!r}", field="claim"
        )
    return claim


def counts_view(counts: QueueCounts) -> dict[str, Any]:
    return {
        "total": counts.total,
        "unclaimed": counts.unclaimed,
        "mine": counts.mine,
        "by_reason": dict(sorted(counts.by_reason.items())),
    }


def summary(row: DisputeRow) -> dict[str, Any]:
    return {
        "id": row.dispute_id,
        "order_id": row.order_id,
        "buyer_id": row.buyer_id,
        "seller_id": row.seller_id,
        "region": row.region,
        "category": row.category,
        "amount": {"amount": row.amount, "currency": row.currency},
        "status": row.status,
        "placed_at": iso_micros(row.placed_at),
        "ship_by": iso_micros(row.ship_by),
        "auto_cancel_at": iso_micros(row.auto_cancel_at),
        "shipped_at": iso_micros(row.shipped_at),
        "refund_status": row.refund_status,
        "intervention": (
            {
                "reason": row.intervention_reason,
                "requested_at": iso_micros(row.intervention_requested_at),
                "open": row.awaiting_ruling_since is not None,
            }
            if row.intervention_reason is not None
            else None
        ),
        "next_due": (
            {"type": row.next_due_kind, "at": iso_micros(row.next_due_at)}
            if row.next_due_at is not None
            else None
        ),
        "updated_at": iso_micros(row.updated_at),
        "version": row.version,
        "policy_version": row.policy_version,
        "position": row.position,
    }


class ReadModelQueries(SellerQueries):
    def __init__(
        self,
        reader: ReadModelReader,
        clock: Clock,
        *,
        head: Callable[[], int] | None = None,
        wait_timeout: float | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        """``head``: the last position recorded in the event store (to refuse at once a
        ``min_position`` that was never recorded)."""
        self.reader = reader
        self.clock = clock
        self.head = head
        self._wait_timeout = wait_timeout  # None: WAIT_TIMEOUT, read at each call
        self.poll_interval = poll_interval

    # ---- read-your-writes ------------------------------------------------------------

    def _read(
        self, name: str, min_position: int | None, read: Callable[[], Reading[T]]
    ) -> Reading[T]:
        """Read; if behind ``min_position``, wait for the projection and read again."""
        reading = read()
        if min_position is None or reading.position >= min_position:
            return reading
        if self.head is not None and min_position > (head := self.head()):
            raise InvalidInput(
                f"min_position {min_position} was never recorded (the last event is {head})",
                field="min_position",
            )
        wait = WAIT_TIMEOUT if self._wait_timeout is None else self._wait_timeout
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            if self.reader.positions().get(name, 0) >= min_position:
                return read()
        raise ReadModelBehind(
            f"the {name} read model is at position {reading.position}, not yet at "
            f"{min_position}; retry shortly",
            position=reading.position,
            wanted=min_position,
        )

    @staticmethod
    def _require(actor: Actor, action: str) -> None:
        require(COMMAND_ROLES, action, actor)

    # ---- queries ---------------------------------------------------------------------

    def disputes(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        region: str | None = None,
        seller_id: str | None = None,
        buyer_id: str | None = None,
        order_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: object = None,
        min_position: int | None = None,
    ) -> dict[str, Any]:
        """A page of disputes, newest first. ``after``: the ``next_after`` of the
        previous page. Returns ``data``, ``next_after`` (or None) and ``position``."""
        self._require(actor, "list_disputes")
        check_limit(limit)
        if status is not None and status not in STATUSES:
            raise InvalidInput(
                f"status must be one of {', '.join(STATUSES)}; got {status!r}", field="status"
            )
        key = check_after(after)
        # Buyers and sellers see only their own cases: asking for someone else's is empty.
        if actor.role == "buyer":
            if buyer_id is not None and buyer_id != actor.id:
                return self._empty("disputes", min_position)
            buyer_id = actor.id
        elif actor.role == "seller":
            if seller_id is not None and seller_id != actor.id:
                return self._empty("disputes", min_position)
            seller_id = actor.id
        query = DisputeQuery(status, region, seller_id, buyer_id, order_id, key, limit + 1)
        reading = self._read(
            "disputes", min_position, lambda: self.reader.list_disputes(query)
        )
        return self._page(reading, limit, lambda r: (r.placed_at, r.dispute_id), summary)

    def moderation_queue(
        self,
        actor: Actor,
        *,
        region: str | None = None,
        seller_id: str | None = None,
        reason: str | None = None,
        min_age_hours: float | None = None,
        limit: int = DEFAULT_LIMIT,
        after: object = None,
        min_position: int | None = None,
        claim: str | None = None,
    ) -> dict[str, Any]:
        """Cases awaiting a ruling, oldest request first (a page, as ``disputes``), each
        with who claimed it (``claimed_by``, ``claim_expires_at``: null without a claim
        live now). ``claim``: ``mine`` (the asker's live claims), ``unclaimed`` (no live
        claim) or ``others`` (another moderator's). ``counts``: the queue under the other
        filters (``total``, ``unclaimed``, ``mine``, ``by_reason``), whatever the page."""
        self._require(actor, "moderation_queue")
        check_limit(limit)
        check_claim_filter(claim)
        if reason is not None and reason not in INTERVENTION_REASONS:
            raise InvalidInput(
                f"reason must be one of {', '.join(INTERVENTION_REASONS)}; got {reason!r}",
                field="reason",
            )
        if min_age_hours is not None and not 0 <= min_age_hours <= 24 * 3660:
            raise InvalidInput("min_age_hours must be a number of hours >= 0",
                               field="min_age_hours")
        now = self.clock.now()
        requested_before = (
            to_micros(now - timedelta(hours=min_age_hours)) if min_age_hours is not None else None
        )
        now_micros = to_micros(now)
        query = QueueQuery(
            region, seller_id, reason, requested_before, check_after(after), limit + 1,
            claim=claim, moderator_id=actor.id, now=now_micros,
        )
        reading = self._read(
            "disputes", min_position, lambda: self.reader.moderation_queue(query)
        )

        def queue_row(row: DisputeRow) -> dict[str, Any]:
            waiting = row.awaiting_ruling_since or now_micros
            live = row.claim_expires_at is not None and row.claim_expires_at > now_micros
            return {
                **summary(row),
                "reason": row.intervention_reason,
                "requested_at": iso_micros(row.awaiting_ruling_since),
                "age_hours": hours(max(0, now_micros - waiting)),
                "claimed_by": row.claimed_by if live else None,
                "claim_expires_at": iso_micros(row.claim_expires_at) if live else None,
            }

        page = self._page(
            Reading(reading.position, reading.value.rows),
            limit,
            lambda r: (r.awaiting_ruling_since or 0, r.dispute_id),
            queue_row,
        )
        page["counts"] = counts_view(reading.value.counts)
        return page

    def metrics(self, actor: Actor, *, min_position: int | None = None) -> dict[str, Any]:
        self._require(actor, "metrics")
        reading = self._read("metrics", min_position, self.reader.metrics)
        figures = reading.value
        counts = {status: figures.statuses.get(status, 0) for status in STATUSES}
        return {
            "disputes": sum(counts.values()),
            "counts_by_status": counts,
            "time_to_resolution_hours": {
                "resolved": figures.resolved,
                "median": hours(figures.median_resolution_micros),
                "p90": hours(figures.p90_resolution_micros),
            },
            "position": reading.position,
        }

    def due(
        self, until: datetime, limit: int = 500, after: tuple[datetime, UUID] | None = None
    ) -> Reading[list[DueCase]]:
        """Disputes whose next derived event is due by ``until``, earliest first (the
        sweeper's index; as of the disputes view's position); pages after ``after``."""
        key = None if after is None else (to_micros(after[0]), str(after[1]))
        return self.reader.due(to_micros(until), limit, key)

    def positions(self) -> dict[str, int]:
        return self.reader.positions()

    # ---- pages -----------------------------------------------------------------------

    def _empty(self, name: str, min_position: int | None) -> dict[str, Any]:
        position = self.reader.positions().get(name, 0)
        return {"data": [], "next_after": None, "position": position}

    @staticmethod
    def _page(
        reading: Reading[list[DisputeRow]],
        limit: int,
        key: Callable[[DisputeRow], tuple[int, str]],
        render: Callable[[DisputeRow], dict[str, Any]],
    ) -> dict[str, Any]:
        rows = reading.value
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "data": [render(row) for row in rows],
            "next_after": list(key(rows[-1])) if more and rows else None,
            "position": reading.position,
        }
