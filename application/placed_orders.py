"""Which recorded orders were placed within a span of time: what publishing a
version that takes effect in the past must know (:meth:`PolicyLedger.publish`).

Answered from the event store itself, never from a read model that may lag: a
committed ``OrderPlaced`` is seen at once, so the answer is exact for every
order committed before the question. Each ``OrderPlaced`` records ``placed_at``
as its ``occurred_at``, which is read without decoding the rest of the event;
only the few orders named in the answer are decoded whole. The scan reads every
``OrderPlaced`` once (the log filtered by topic): it runs only when a version
would take effect at a time orders may already have been placed at.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application

from application.event_decoder import FastDecoder
from domain.dispute import Dispute
from domain.policy_ledger import OrdersPlaced, Span

__all__ = ["FIRST_NAMED", "LoggedOrders", "PlacedOrders"]

#: How many orders an answer names (the rest are counted).
FIRST_NAMED = 5
#: Notifications read per query.
PAGE = 1000


class PlacedOrders(Protocol):
    """The recorded orders placed within a span (the port publishing asks)."""

    def placed_within(self, span: Span, first: int = FIRST_NAMED) -> OrdersPlaced:
        """The ``first`` orders placed in ``span`` (earliest first) and how many in all."""
        ...


class LoggedOrders:
    """:class:`PlacedOrders` read from the application's notification log."""

    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._decode = FastDecoder(app.mapper)

    def placed_within(self, span: Span, first: int = FIRST_NAMED) -> OrdersPlaced:
        topic = Dispute.OrderPlaced.TOPIC
        count = 0
        # The earliest ``first`` so far, by (placed_at, notification id), with their rows.
        earliest: list[tuple[tuple[datetime, int], Any]] = []
        start: int | None = None
        while True:
            rows = self._app.recorder.select_notifications(
                start, PAGE, topics=[topic], inclusive_of_start=False
            )
            for row in rows:
                _, placed_at = self._decode.stamps(
                    row.originator_id, row.originator_version, row.topic, row.state
                )
                if placed_at not in span:
                    continue
                count += 1
                key = (placed_at, row.id)
                if len(earliest) < first or key < earliest[-1][0]:
                    earliest.append((key, row))
                    earliest.sort(key=itemgetter(0))
                    del earliest[first:]
            if len(rows) < PAGE:
                break
            start = rows[-1].id
        return OrdersPlaced(span, tuple(self._order_id(row) for _, row in earliest), count)

    def _order_id(self, row: Any) -> str:
        event = self._decode.decode(row.originator_id, row.originator_version, row.topic,
                                    row.state)
        return str(event.order_id)
