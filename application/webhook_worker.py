"""The delivery worker: fan out new events and attempt due deliveries, until stopped.

One loop thread fans out, records and claims; a pool of ``concurrency``
threads sends. Finished attempts are recorded together, in one transaction per
round, and a finished attempt starts a round at once (the next event of its
dispute may now be due); new events are looked for every ``poll_interval``.
The loop claims only as many deliveries as there are idle senders, and at most
``per_endpoint`` per endpoint at once, so a slow endpoint ties up at most that
many senders and never the loop, the commands or the other endpoints.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import structlog

from application.webhook_delivery import WebhookDelivery
from application.webhooks import Attempt, Claim

__all__ = ["DeliveryWorker"]

log = structlog.get_logger("disputedesk.webhooks")


class DeliveryWorker:
    def __init__(self, delivery: WebhookDelivery, *, concurrency: int = 16,
                 poll_interval: float = 0.1, name: str = "webhooks") -> None:
        self._delivery = delivery
        self._concurrency = concurrency
        self._poll = poll_interval
        self._name = name
        self._lock = threading.Lock()
        self._in_flight = 0  # claimed and not yet recorded
        self._done: list[tuple[Claim, Attempt]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix=self._name)
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self) -> None:
        next_fan_out = 0.0
        while not self._stop.is_set():
            try:
                more, fanned = self.step(time.monotonic() >= next_fan_out)
            except Exception as error:  # the store away for a moment: log, wait, go on
                log.warning("webhooks.step_failed", error=str(error),
                            error_type=type(error).__name__)
                self._stop.wait(1.0)
                continue
            if fanned:
                next_fan_out = time.monotonic() + self._poll
            if not more:
                self._wake.wait(max(0.0, next_fan_out - time.monotonic()))
                self._wake.clear()

    def step(self, fan_out: bool = True) -> tuple[bool, bool]:
        """One round: (whether there is more to do at once, whether it fanned out)."""
        self._record_finished()
        at_head = True
        if fan_out:
            _read, at_head = self._delivery.fan_out()
        with self._lock:
            idle = self._concurrency - self._in_flight
        claimed = self._delivery.claim(idle) if idle > 0 else []
        for claim in claimed:
            self._submit(claim)
        return not at_head or (idle > 0 and len(claimed) == idle), fan_out and at_head

    def _record_finished(self) -> None:
        with self._lock:
            done, self._done = self._done, []
        if not done:
            return
        try:
            self._delivery.record(done)
        except Exception:
            # Not recorded: the leases run out and the deliveries are sent again.
            log.warning("webhooks.attempts_unrecorded", count=len(done), exc_info=True)
            raise
        finally:
            with self._lock:
                self._in_flight -= len(done)
        for claim, outcome in done:
            (log.debug if outcome.succeeded else log.info)(
                "webhooks.attempt", endpoint=claim.delivery.endpoint_id,
                event_id=claim.delivery.event_id, dispute_id=claim.delivery.dispute_id,
                status_code=outcome.status_code, error=outcome.error,
                latency_ms=outcome.latency_ms, attempt=claim.delivery.attempts + 1)

    def _submit(self, claim: Claim) -> None:
        assert self._pool is not None
        with self._lock:
            self._in_flight += 1
        future = self._pool.submit(self._delivery.send, claim)
        future.add_done_callback(lambda done: self._finished(claim, done))

    def _finished(self, claim: Claim, done: Future[Attempt]) -> None:
        if done.cancelled() or done.exception() is not None:  # never sent: the lease runs out
            with self._lock:
                self._in_flight -= 1
            return
        with self._lock:
            self._done.append((claim, done.result()))
        self._wake.set()
