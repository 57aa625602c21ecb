"""The evidence commands: a moderator asks a party for more evidence, due after the
policy's ``evidence_due_business_days``; a file is accepted only in the types a case
can show safely and within the policy's size limits, per file and per case, and only
while the case holds fewer items and bytes than its caps (``case_limits``).
Their event: ``evidence``."""

from __future__ import annotations

from datetime import datetime

from domain.dispute import guards
from domain.dispute.case_limits import CaseLimits
from domain.dispute.evidence import EVIDENCE_CONTENT_TYPES, EvidenceRequested
from domain.dispute.inputs import one_of, text
from domain.dispute.state import EvidenceFile
from domain.dispute.vocabulary import Actor
from domain.errors import EvidenceTooLarge, UnsupportedMediaType
from domain.policy import Policy

PARTIES = ("buyer", "seller")


class EvidenceCommands(CaseLimits):
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

    def check_evidence_file(self, file: EvidenceFile, policy: Policy) -> None:
        """Refuse a file of a type a case may not hold, one the case has no room for
        (its caps reached), or one past the size limits."""
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
        and what the per-case limit leaves), and why a larger one is refused;
        :class:`CaseLimitReached` when the case takes no more files at all."""
        self.check_evidence_room(policy)
        rules = policy.rules_for(self.region, self.category)
        room = max(rules.evidence_case_max_bytes - self.evidence_bytes, 0)
        if room < rules.evidence_file_max_bytes:
            return room, (
                f"a case's evidence files may hold at most {rules.evidence_case_max_mb} MB "
                f"together; this case holds {self.evidence_bytes:,} bytes already"
            )
        return self.evidence_file_limit(policy)

    def evidence_file_limit(self, policy: Policy) -> tuple[int, str]:
        """The per-file limit alone, whatever the case holds: how far to read an upload
        that may repeat one already recorded (its room is judged when it is recorded)."""
        rules = policy.rules_for(self.region, self.category)
        return rules.evidence_file_max_bytes, (
            f"an evidence file may hold at most {rules.evidence_file_max_mb} MB"
        )
