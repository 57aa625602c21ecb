"""Import a platform's history from before its first day: JSON Lines, one fact a line.

Two passes over the file. The first reads only each line's ``order_id`` and
keeps where each order's lines start (offsets, never the lines). The second
takes one order at a time, its lines in file order: it loads the case (or, at
its ``order`` line, places it under the version in force at ``placed_at``) and
for each fact at business time ``t`` records what fell due by ``t`` (so a
deadline is judged as of the fact, not as of the import), then runs the fact's
command as of ``t`` (:mod:`application.history_facts`). Events are recorded at
the import's own time (``Dispute.importing``) and dated at their business time.
After the order's last fact, what fell due up to now is recorded too. Then the
case is saved, once: one transaction per order, so nobody ever sees half of it.

Every event the import records carries the stamp of an imported fact
(``RequestStamp.for_import``): it is history, never news (no webhook, feed or
stream message; :mod:`application.public_events`), and a fact already imported
is recognised at a second run, which records nothing. A line that cannot be
applied is reported with its number and reason and skipped; its case stays as
the lines before it left it.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from application.dispute_store import Disputes
from application.disputes import DisputeDesk
from application.history_facts import LineRejected, apply_fact, order_id_of, parse_fact, place
from application.history_summary import ImportProgress, ImportSummary, Rejection
from application.ports import Clock
from application.retries import MAX_ATTEMPTS, back_off
from domain.dispute import Dispute, check_instant, dispute_id_for
from domain.errors import DomainError
from domain.policy import Policy, PolicyError
from domain.requests import RequestStamp

__all__ = ["HistoryImport", "ImportProgress", "ImportSummary", "Policies", "Rejection"]

log = structlog.get_logger("disputedesk.application")

#: The stamp of what falls due while history is replayed: imported, and no fact's own.
DUE_STAMP = RequestStamp.for_import("due")
#: How many rejections a summary lists (all are counted, and each is reported).
LISTED_REJECTIONS = 1000
#: Seconds between two progress lines in the log.
LOG_EVERY = 5.0


class Policies(Protocol):
    """The published versions, as the import asks for them."""

    def in_force(self, at: datetime) -> Policy | None: ...

    def version(self, version: str) -> Policy | None: ...


@dataclass
class _OrderRun:
    """One attempt at one order: what it recorded and refused (kept only once saved)."""

    order_id: str
    lines: int = 0
    existed: bool = False
    facts: int = 0
    unchanged: int = 0
    derived: int = 0
    events: list[Any] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejections.append(Rejection(line, reason, self.order_id))


class _DeskPolicies:
    """:class:`Policies` of a desk, with the versions published up to the import's start."""

    def __init__(self, desk: DisputeDesk) -> None:
        desk.current_policy()  # reads the versions published since the desk last looked
        self._desk = desk

    def in_force(self, at: datetime) -> Policy | None:
        return self._desk.policies.in_force(at)

    def version(self, version: str) -> Policy | None:
        return self._desk.policy(version)


class _Raced(Exception):
    """Another writer changed the case while its lines were replayed."""


class HistoryImport:
    """Imports a history file into the application's event store; see the module.

    ``turns``: the application's writers' turns (SQLite admits one writer at a
    time; each order is loaded, replayed and saved in one turn).
    """

    def __init__(
        self,
        app: Application[UUID],
        policies: Policies,
        clock: Clock,
        turns: AbstractContextManager[Any],
    ) -> None:
        self._app = app
        self._disputes = Disputes(app)
        self._policies = policies
        self._clock = clock
        self._turns = turns

    @classmethod
    def for_desk(cls, desk: DisputeDesk) -> HistoryImport:
        """The import into ``desk``'s store, taking turns with its other writers (the
        desk's own turns: it has no public accessor for them yet)."""
        return cls(desk, _DeskPolicies(desk), desk.clock, desk.turns)

    def run(
        self,
        source: IO[bytes],
        *,
        progress: Callable[[ImportProgress], None] | None = None,
        rejected: Callable[[Rejection], None] | None = None,
        workers: int = 1,
    ) -> ImportSummary:
        """Import every order of ``source`` (seekable, read twice).

        ``workers``: orders replayed and saved at once, each in its own transaction
        (worth it on PostgreSQL, whose commits overlap; on SQLite they take turns).
        Reports and ``progress`` follow the file's order of orders all the same.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        began = time.perf_counter()
        summary = ImportSummary()

        def refuse(rejection: Rejection) -> None:
            summary.facts_rejected += 1
            if len(summary.rejections) < LISTED_REJECTIONS:
                summary.rejections.append(rejection)
            log.warning("history_import.line_rejected", line=rejection.line,
                        order_id=rejection.order_id, reason=rejection.reason)
            if rejected is not None:
                rejected(rejection)

        orders = self._index(source, summary, refuse)
        summary.orders = len(orders)
        log.info("history_import.started", lines=summary.lines, orders=summary.orders,
                 workers=workers)
        done = {"lines": summary.lines - sum(len(e) // 2 for e in orders.values()), "orders": 0}
        logged = began

        def count(run: _OrderRun) -> None:
            nonlocal logged
            self._count(run, summary, refuse)
            done["lines"] += run.lines
            done["orders"] += 1
            if progress is not None:
                progress(ImportProgress(done["lines"], summary.lines, done["orders"],
                                        summary.orders))
            if time.perf_counter() - logged >= LOG_EVERY:
                logged = time.perf_counter()
                log.info("history_import.progress", lines_done=done["lines"],
                         lines=summary.lines, orders_done=done["orders"], orders=summary.orders,
                         events_recorded=summary.events_recorded)

        # Orders in flight are bounded: the lines read are those of a few orders only.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            flight: deque[Future[_OrderRun]] = deque()
            for order_id, entries in orders.items():
                lines = [(entries[i], _line_at(source, entries[i + 1]))
                         for i in range(0, len(entries), 2)]
                if workers == 1:
                    count(self._import_order(order_id, lines))
                    continue
                flight.append(pool.submit(self._import_order, order_id, lines))
                if len(flight) >= 2 * workers:
                    count(flight.popleft().result())
            while flight:  # in the order submitted, so reports follow the file
                count(flight.popleft().result())
        summary.seconds = time.perf_counter() - began
        log.info("history_import.finished",
                 **{k: v for k, v in summary.to_dict().items() if k != "rejections"})
        return summary

    # ---- the first pass: where each order's lines are -----------------------------

    @staticmethod
    def _index(
        source: IO[bytes], summary: ImportSummary, refuse: Callable[[Rejection], None]
    ) -> dict[str, array[int]]:
        """Each order's (line number, offset) pairs, in file order; orders by first line."""
        orders: dict[str, array[int]] = {}
        source.seek(0)
        offset = 0
        for number, raw in enumerate(source, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            summary.lines += 1
            try:
                order_id = order_id_of(raw)
            except LineRejected as error:
                refuse(Rejection(number, str(error)))
                continue
            entries = orders.get(order_id)
            if entries is None:
                entries = orders[order_id] = array("q")
            entries.extend((number, start))
        return orders

    # ---- the second pass: one order at a time -------------------------------------

    def _import_order(self, order_id: str, lines: list[tuple[int, bytes]]) -> _OrderRun:
        """Replay and save one order; again from the store when another writer won."""
        for attempt in range(MAX_ATTEMPTS):
            with self._turns:
                try:
                    run = self._replay(order_id, lines)
                    if run.events:
                        self._app.save(*run.events)
                except (IntegrityError, _Raced):
                    back_off(attempt)
                    continue
                run.lines = len(lines)
                return run
        failed = _OrderRun(order_id, len(lines))
        for number, _ in lines:
            failed.reject(number, "the case kept changing while it was imported; run again")
        return failed

    def _replay(self, order_id: str, lines: list[tuple[int, bytes]]) -> _OrderRun:
        run = _OrderRun(order_id)
        now = self._clock.now()
        stored = self._disputes.find(dispute_id_for(order_id))
        run.existed = stored is not None
        d, policy, last_at = stored, None, None
        base = 0 if stored is None else stored.version
        if stored is not None:
            policy = self._policies.version(stored.policy_version)
            last_at = max(at for _, at in stored.history)
        accepted: list[Any] = []
        for number, raw in lines:
            try:
                fact = parse_fact(number, raw)
                if d is not None and fact.fact_id in d.imported_facts:
                    run.unchanged += 1
                    continue
                check_instant(fact.at, now, "at")
                if fact.kind == "order":
                    if d is not None:  # on record already (placed live, or by another file)
                        v = fact.values
                        d.check_same_order(
                            buyer_id=v["buyer_id"], seller_id=v["seller_id"],
                            region=v["region"], category=v["category"], amount=v["amount"],
                            placed_at=v["placed_at"])
                        run.unchanged += 1
                        continue
                    policy = self._policies.in_force(fact.values["placed_at"])
                    if policy is None:
                        raise LineRejected(
                            f"no policy was in force at placed_at "
                            f"{fact.values['placed_at'].isoformat()}: publish a version that "
                            "takes effect by then first")
                    d = place(fact, policy, now, RequestStamp.for_import(fact.fact_id))
                else:
                    if d is None or policy is None:
                        raise LineRejected(
                            f"order {order_id} is not on record: its order line must come first")
                    if last_at is not None and fact.at < last_at:
                        raise LineRejected(
                            f"at {fact.at.isoformat()} is before the case's previous fact "
                            f"({last_at.isoformat()}); a case's lines must be in time order")
                    with d.importing(now):
                        with d.serving(DUE_STAMP):
                            derived = len(d.record_due(policy, fact.at, now))
                        with d.serving(RequestStamp.for_import(fact.fact_id)):
                            apply_fact(d, fact, policy)
                    run.derived += derived
            except (LineRejected, DomainError, PolicyError) as error:
                if d is not None and d.pending_events:
                    d = self._rolled_back(d.id, base, accepted)
                run.reject(number, _reason(error))
                continue
            assert d is not None
            accepted.extend(d.collect_events())
            run.facts += 1
            last_at = fact.at
        if run.facts and d is not None and policy is not None:
            with d.importing(now), d.serving(DUE_STAMP):
                run.derived += len(d.record_due(policy, now, now))
            accepted.extend(d.collect_events())
        run.events = accepted
        return run

    def _rolled_back(self, dispute_id: UUID, base: int, accepted: list[Any]) -> Dispute | None:
        """The case as the lines accepted so far left it (a refused line leaves no trace):
        as stored at version ``base`` (0: not stored), then the ``accepted`` events."""
        d = None
        if base:
            d = self._disputes.find(dispute_id)
            if d is None or d.version != base:
                raise _Raced()
        for event in accepted:
            d = event.mutate(d)
        return d

    @staticmethod
    def _count(
        run: _OrderRun, summary: ImportSummary, refuse: Callable[[Rejection], None]
    ) -> None:
        for rejection in run.rejections:
            refuse(rejection)
        summary.facts_recorded += run.facts
        summary.facts_unchanged += run.unchanged
        summary.derived_recorded += run.derived
        summary.events_recorded += len(run.events)
        if not run.existed:
            if run.facts:
                summary.orders_created += 1
            else:
                summary.orders_rejected += 1
        elif run.facts:
            summary.orders_updated += 1
        else:
            summary.orders_unchanged += 1


def _line_at(source: IO[bytes], offset: int) -> bytes:
    source.seek(offset)
    return source.readline()


def _reason(error: Exception) -> str:
    if isinstance(error, DomainError):
        return error.detail
    if isinstance(error, PolicyError):
        return "; ".join(error.problems)
    return str(error)
