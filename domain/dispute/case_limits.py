"""The caps on what one case holds, from its policy: messages (the buyer's contacts and
the seller's responses), evidence items and the bytes of their files, internal notes.

Without them one party could grow a case, and every answer, timeline and stored
idempotent response that carries it, without end. A command that would take the case
past a cap is refused (:class:`CaseLimitReached`, a 409 naming the rule and its value);
every other command goes on as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.dispute.case import DisputeState
from domain.errors import TransitionRefused
from domain.policy import Policy, Rules
from domain.policy.checks import OPTIONAL_RULE_DEFAULTS

#: The rule that caps the bytes of a case's evidence files (with the per-file limit).
EVIDENCE_BYTES_RULE = "evidence_case_max_mb"


class CaseLimitReached(TransitionRefused):
    """The case holds the most of something its policy allows: ``limit_name`` is the
    policy's rule, ``limit`` its value for this case."""

    code = "case-limit-reached"

    def __init__(self, detail: str, *, limit_name: str, limit: int) -> None:
        super().__init__(detail)
        self.limit_name = limit_name
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Cap:
    """A count a case is capped at: the policy's rule, what it counts in words, and the
    events that add one."""

    rule: str
    noun: str
    events: frozenset[str]


MESSAGES = Cap("messages_case_max", "messages", frozenset({"SellerContacted", "SellerResponded"}))
EVIDENCE_ITEMS = Cap("evidence_case_max_items", "evidence items", frozenset({"EvidenceAdded"}))
NOTES = Cap("notes_case_max", "internal notes", frozenset({"NoteAdded"}))


def limit_of(rules: Rules | None, rule: str) -> int:
    """The value of ``rule`` in ``rules``; without rules at hand, the policy's default."""
    value = OPTIONAL_RULE_DEFAULTS[rule] if rules is None else rules.as_dict()[rule]
    assert isinstance(value, int)
    return value


class CaseLimits(DisputeState):
    def _rules(self, policy: Policy | None) -> Rules | None:
        return None if policy is None else policy.rules_for(self.region, self.category)

    def held(self, cap: Cap) -> int:
        """How many of what ``cap`` counts the case holds."""
        return sum(1 for kind, _ in self.history if kind in cap.events)

    def check_room(self, cap: Cap, policy: Policy | None) -> None:
        """Refuse one more of what ``cap`` counts once the case holds its policy's most
        (``policy`` None: the default caps)."""
        limit = limit_of(self._rules(policy), cap.rule)
        held = self.held(cap)
        if held >= limit:
            raise CaseLimitReached(
                f"the case holds {held:,} {cap.noun}, the most its policy allows "
                f"({cap.rule} = {limit:,})",
                limit_name=cap.rule, limit=limit,
            )

    def check_evidence_room(self, policy: Policy, *, with_file: bool = True) -> None:
        """Refuse more evidence once the case holds its most items, and a file once its
        files hold the most bytes the policy allows."""
        self.check_room(EVIDENCE_ITEMS, policy)
        if not with_file:
            return
        rules = policy.rules_for(self.region, self.category)
        held = self.evidence_bytes
        if held >= rules.evidence_case_max_bytes:
            raise CaseLimitReached(
                f"the case's evidence files hold {held:,} bytes, the most its policy "
                f"allows ({EVIDENCE_BYTES_RULE} = {rules.evidence_case_max_mb:,}, MB of "
                "1,000,000 bytes); evidence may still be described without a file",
                limit_name=EVIDENCE_BYTES_RULE, limit=rules.evidence_case_max_mb,
            )

    @property
    def evidence_bytes(self) -> int:
        """The bytes the case's evidence files hold together."""
        return sum(e.file.size for e in self.evidence.values() if e.file is not None)
