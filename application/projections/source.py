"""The DisputeDesk application seen as an ``EventSource`` for the projections."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.disputes import DisputeDesk
from application.event_decoder import FastDecoder
from application.projections.ports import LogEntry, NotificationLog
from domain.policy import Policy


class ApplicationSource:
    """Reads the notification log through the application's own recorder and mapper."""

    def __init__(self, app: DisputeDesk, log: NotificationLog | None = None) -> None:
        self.app = app
        self._log = log
        self._decode = FastDecoder(app.mapper)
        self._policies: dict[str, Policy] = {}

    @property
    def application_name(self) -> str:
        return self.app.name

    def select_notifications(
        self, start: int, limit: int, stop: int | None = None
    ) -> Sequence[LogEntry]:
        if self._log is not None:
            return self._log.select(start, limit, stop)
        return self.app.recorder.select_notifications(start=start, limit=limit, stop=stop)

    def max_notification_id(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def decode(
        self, originator_id: UUID, originator_version: int, topic: str, state: bytes
    ) -> object:
        return self._decode.decode(originator_id, originator_version, topic, state)

    def events_of(self, dispute_id: UUID, *, after: int, upto: int) -> Sequence[StoredEvent]:
        return self.app.recorder.select_events(dispute_id, gt=after, lte=upto)

    def policy(self, version: str) -> Policy:
        found = self._policies.get(version)
        if found is None:
            found = self.app.policy(version)
            if found is None:
                raise LookupError(f"policy version {version!r} is not on record")
            self._policies[version] = found
        return found
