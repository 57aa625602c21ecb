"""Evidence added (``EvidenceAdded``, with a file or without) and evidence a moderator
asks a party for (``EvidenceRequested``), which the party's next evidence answers.
The commands: ``evidence_commands``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING

from domain.dispute.event_base import DisputeEvent
from domain.dispute.state import Evidence, EvidenceFile, EvidenceRequest

if TYPE_CHECKING:
    from domain.dispute.aggregate import Dispute

#: The types an evidence file may have, as read from its first bytes.
EVIDENCE_CONTENT_TYPES = (
    "image/jpeg", "image/png", "image/webp", "application/pdf", "text/plain"
)


class EvidenceAdded(DisputeEvent):
    """Evidence, described, and with a file when one was uploaded: its SHA-256 proves
    what was submitted; the bytes are kept outside the log under ``blob_id``."""

    TOPIC = "disputedesk:EvidenceAdded"
    evidence_id: str
    kind: str
    description: str
    reference: str | None
    sha256: str | None = field(default=None, kw_only=True)
    content_type: str | None = field(default=None, kw_only=True)
    size: int | None = field(default=None, kw_only=True)
    filename: str | None = field(default=None, kw_only=True)
    blob_id: str | None = field(default=None, kw_only=True)

    def apply(self, d: Dispute) -> None:
        file = None
        if self.sha256 is not None:
            assert self.content_type and self.size is not None and self.blob_id
            file = EvidenceFile(
                self.sha256, self.content_type, self.size, self.filename or "", self.blob_id
            )
        d.evidence[self.evidence_id] = Evidence(
            self.evidence_id,
            self.kind,
            self.description,
            self.reference,
            added_by=self.actor_role,
            added_at=self.occurred_at,
            file=file,
            added_by_id=self.actor_id,
        )
        d.evidence_requests = tuple(
            answer_first_open(d.evidence_requests, self.actor_role, self.evidence_id,
                              self.occurred_at)
        )
        d._note(self)


class EvidenceRequested(DisputeEvent):
    """A moderator asked ``party`` for more evidence, due by ``due_at``."""

    TOPIC = "disputedesk:EvidenceRequested"
    request_id: str
    party: str
    description: str
    due_at: datetime

    def apply(self, d: Dispute) -> None:
        asked = EvidenceRequest(
            self.request_id, self.party, self.description, self.occurred_at, self.due_at,
            requested_by=self.actor_id,
        )
        d.evidence_requests = (*d.evidence_requests, asked)
        d._note(self)


def answer_first_open(
    requests: tuple[EvidenceRequest, ...], party: str, evidence_id: str, at: datetime
) -> Iterator[EvidenceRequest]:
    """``requests`` with the oldest open one asked of ``party`` answered by ``evidence_id``."""
    pending = True
    for asked in requests:
        if pending and asked.is_open and asked.party == party:
            pending = False
            yield asked.answered(evidence_id, at)
        else:
            yield asked


#: This module's events, in the order the aggregate lists them.
EVIDENCE_EVENTS: tuple[type[DisputeEvent], ...] = (EvidenceRequested,)
