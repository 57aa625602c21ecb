"""The deadline sweeper: records the derived events that are due.

It asks a due index (a read model of next-due instants) which disputes to
look at, then lets each dispute record what fell due through the same pure
policy functions commands use. Optimistic concurrency makes it idempotent and
safe to run from several processes: a sweeper that loses a race reloads the
dispute, finds nothing left to record, and moves on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from application.disputes import DisputeDesk
from application.ports import DueIndex
from application.times import rfc3339
from domain.errors import DisputeNotFound, InvalidInput

log = structlog.get_logger("disputedesk.sweeper")


@dataclass
class SweepResult:
    now: datetime
    examined: int = 0
    recorded: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": rfc3339(self.now),
            "examined": self.examined,
            "recorded": self.recorded,
        }


class Sweeper:
    def __init__(self, app: DisputeDesk, index: DueIndex, *, batch_size: int = 1000) -> None:
        self.app = app
        self.index = index
        self.batch_size = batch_size

    def sweep(self, now: datetime | None = None, *, max_disputes: int = 100_000) -> SweepResult:
        """Record every derived event due by ``now`` (default: the clock; never later)."""
        clock_now = self.app.clock.now()
        if now is None:
            now = clock_now
        elif now.tzinfo is None:
            raise InvalidInput("now must carry a UTC offset", field="now")
        elif now > clock_now:
            raise InvalidInput(
                f"now may name an earlier instant, never a later one ({clock_now.isoformat()})",
                field="now",
            )
        result = SweepResult(now=now)
        after: tuple[datetime, UUID] | None = None
        while result.examined < max_disputes:
            page = self.index.due(now, self.batch_size, after)
            if not page:
                break
            after = page[-1]
            for _due_at, dispute_id in page:
                result.examined += 1
                try:
                    result.recorded.extend(
                        {"dispute_id": str(dispute_id), **row}
                        for row in self.app.record_due(dispute_id, now)
                    )
                except DisputeNotFound:
                    continue
            if len(page) < self.batch_size:
                break
        if result.recorded:
            log.info(
                "sweep.done",
                now=now.isoformat(),
                examined=result.examined,
                recorded=len(result.recorded),
            )
        return result


def start_sweeping(sweeper: Sweeper, interval: float = 5.0) -> Callable[[], None]:
    """Sweep every ``interval`` seconds in a background thread; returns ``stop``.

    A failed sweep (the database away for a moment) is logged and retried at
    the next tick; the loop never dies silently.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                sweeper.sweep()
            except Exception as error:  # keep sweeping whatever one sweep met
                log.warning("sweep.failed", error=str(error), error_type=type(error).__name__)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.start()
    log.info("sweep.loop_started", interval_s=interval)

    def stop_sweeping() -> None:
        stop.set()
        thread.join(timeout=interval + 5)

    return stop_sweeping
