"""The evidence commands: a moderator asks a party for more evidence, due after the
policy's ``evidence_due_business_days``; a file is accepted only in the types a case
can show safely and within the policy's size limits, per file and per case.
Their event: ``evidence``."""

from __future__ import annotations

from datetime import datetime

from domain.dispute import guards
from domain.dispute.case import DisputeState
from domain.dispute.evidence import EVIDENCE_CONTENT_TYPES, EvidenceRequested
from domain.dispute.inputs import one_of, text
from domain.dispute.state import EvidenceFile
from domain.dispute.vocabulary import Actor
from domain.errors import EvidenceTooLarge, UnsupportedMediaType
from domain.policy import Policy

PARTIES = ("buyer", "seller")


class EvidenceCommands(DisputeState):
    def request_evidence(
        self, party: str, description: str, policy: Policy, actor: Actor, now: datetime
    ) -> str:
        """Ask ``party`` for more evidence; due at the end of the policy's window."""
        one_of(party, PARTIES, "party")
        description = text(description, "description")
        guards.can_request_evidence(self)
        days = policy.rules_for(self.region, self.category).evidence_due_business_days
        due_at = policy.calendar(self.region).window_end(now, days)
        request_id = f"er-{self.version + 1}"
        self._record(EvidenceRequested, actor, now, now, request_id=request_id, party=party,
                     description=description, due_at=due_at)
        return request_id

    @property
    def evidence_bytes(self) -> int:
        """The bytes the case's evidence files hold together."""
        return sum(e.file.size for e in self.evidence.values() if e.file is not None)

    def check_evidence_file(self, file: EvidenceFile, policy: Policy) -> None:
        """Refuse a file of a type a case may not hold, or one past the size limits."""
        if file.content_type not in EVIDENCE_CONTENT_TYPES:
            raise UnsupportedMediaType(
                f"evidence files may be JPEG, PNG, WebP, PDF or plain text; this one "
                f"reads as {file.content_type}", field="file"
            )
        limit, refusal = self.evidence_room(policy)
        if file.size > limit:
            raise EvidenceTooLarge(f"{refusal}; this one holds {file.size:,} bytes", field="file")

    def evidence_room(self, policy: Policy) -> tuple[int, str]:
        """The most bytes the case's next file may hold (the smaller of the per-file limit
        and what the per-case limit leaves), and why a larger one is refused."""
        rules = policy.rules_for(self.region, self.category)
        room = max(rules.evidence_case_max_bytes - self.evidence_bytes, 0)
        if room < rules.evidence_file_max_bytes:
            return room, (
                f"a case's evidence files may hold at most {rules.evidence_case_max_mb} MB "
                f"together; this case holds {self.evidence_bytes:,} bytes already"
            )
        return rules.evidence_file_max_bytes, (
            f"an evidence file may hold at most {rules.evidence_file_max_mb} MB"
        )
