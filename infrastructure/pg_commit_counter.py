"""Tell, without a query, whether anything was committed to the PostgreSQL event store.

eventsourcing's PostgreSQL recorder sends ``NOTIFY <its channel>`` in every
transaction that records events (its subscriptions use it); PostgreSQL
delivers it when that transaction commits. A thread here LISTENs on the
channel over a connection of its own and counts the notifications: while the
count has not moved, no other process committed events, so a case read can
answer from what it kept. A commit by another process is seen once its
notification arrives (typically within a millisecond or two); this process's
own commits are counted at once by the application (``DisputeDesk.save``), and
a client that needs another worker's write passes ``min_version``.

The stamp is only given while the listener is known to be alive: it pings the
database after a wait of ``WAIT`` that heard no notification, and a listener
that has not been heard of for ``LIVENESS`` seconds (a dropped connection, a
database that hangs) gives no stamp, so every read asks the store, as it would
without this. Each time it (re)connects it starts a new epoch: stamps from
before never equal later ones.

Each notification of this project's insert names the cases its transaction
touched (``infrastructure/binary_insert.py``), so a kept case stays current
while others are written to (:meth:`PostgresCommitCounter.same_for`); one that
names none, as the library's own insert sends, may have touched any case.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from application.case_changes import CaseChanges
from infrastructure.commit_payload import cases_in
from infrastructure.logging import get_logger
from infrastructure.notify_wait import wait_for_notifies

__all__ = ["LIVENESS", "PostgresCommitCounter"]

#: A listener silent for this long (s) is not trusted: reads ask the store.
LIVENESS = 2.0
#: How long the listener waits for a notification before it pings (s).
WAIT = 0.25
#: What ``pg_stat_activity`` calls the listener's connection.
APPLICATION_NAME = "disputedesk-commit-listener"
#: Pause before reconnecting after the connection failed (s).
RECONNECT_PAUSE = 0.5

log = get_logger("disputedesk.commits")


class PostgresCommitCounter:
    """Counts the event store's commits from its LISTEN/NOTIFY channel."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo  # its connect_timeout and keepalives bound a lost peer
        self._channel = channel
        self._lock = threading.Lock()
        self._epoch = 0
        self._count = 0
        self._cases = CaseChanges()
        self._heard_at = float("-inf")  # when the listener last showed it is alive
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="commit-listener", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        """Whether stamps are given now (the listener was heard of recently)."""
        return time.monotonic() - self._heard_at < LIVENESS

    def peek(self) -> Hashable | None:
        with self._lock:
            if time.monotonic() - self._heard_at >= LIVENESS:
                return None
            return (self._epoch, self._count)

    def stamp(self) -> Hashable | None:
        return self.peek()

    def same_for(self, dispute_id: UUID, earlier: Hashable, now: Hashable) -> bool:
        """No notification from ``earlier`` on named ``dispute_id`` or no case at all
        (stamps of one epoch: a new connection may have missed some)."""
        if not (isinstance(earlier, tuple) and isinstance(now, tuple)) or earlier[0] != now[0]:
            return False
        with self._lock:
            return not self._cases.touched_after(str(dispute_id), earlier[1])

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=WAIT + 1.0)

    # ---- the listener -----------------------------------------------------------

    def _listen(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True,
                                     application_name=APPLICATION_NAME) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._follow(conn)
            except psycopg.Error as error:
                log.warning("commits.listener_lost", error=str(error),
                            detail="case reads ask the store until the listener is back")
            with self._lock:
                self._heard_at = float("-inf")
            self._stopped.wait(RECONNECT_PAUSE)

    def _follow(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:  # a new connection may have missed commits: a new epoch
            self._epoch += 1
            self._heard_at = time.monotonic()
        log.info("commits.listening", channel=self._channel, epoch=self._epoch)
        while not self._stopped.is_set():
            # Counted as each notification arrives; a wait that hears none ends in a ping.
            arrived = wait_for_notifies(conn, WAIT, self._stopped)
            if arrived is None:
                return
            if not arrived:
                conn.execute("SELECT 1")  # alive? (notifications that came meanwhile wait)
                arrived = [n.payload for n in conn.notifies(timeout=0)]
            self._heard(arrived)

    def _heard(self, payloads: list[str]) -> None:
        """The connection answered just now, with these new notifications' payloads."""
        heard_at = time.monotonic()
        with self._lock:
            if heard_at - self._heard_at >= LIVENESS:
                self._epoch += 1  # silent too long: what it missed is unknown
            for payload in payloads:
                self._count += 1
                self._cases.touched(cases_in(payload), self._count)
            self._heard_at = heard_at
