"""Rulings and their appeals, as commands of :class:`~application.disputes.DisputeDesk`.

A ruling and an appeal decision name a reason code of the policy *in force* (the
catalogue ``GET /v1/reason-codes`` lists); an appeal's window comes from the
policy the order follows, like every other deadline of the order.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.dispute import Actor
from domain.money import Money
from domain.policy import Policy
from domain.requests import RequestStamp

if TYPE_CHECKING:
    from application.dispute_commands import Act

View = dict[str, Any]


class RulingCommands:
    """Mixed into ``DisputeDesk``, which gives it ``_carry_out`` and ``current_policy``."""

    if TYPE_CHECKING:

        def _carry_out(self, command: str, dispute_id: UUID, actor: Actor, act: Act,
                       expected_version: int | None, request: RequestStamp | None) -> View: ...

        def _require(self, command: str, actor: Actor) -> None: ...

        def current_policy(self) -> Policy: ...

    def rule(self, dispute_id: UUID, *, outcome: str, reason_code: str,
             refund_amount: Money | None = None, new_ship_by: datetime | None = None,
             note: str | None = None, actor: Actor, expected_version: int | None = None,
             request: RequestStamp | None = None) -> View:
        return self._carry_out("rule", dispute_id, actor, lambda d, p, now: d.rule(
            outcome, reason_code, refund_amount, new_ship_by, note, actor, now,
            reasons=self.current_policy().reason_codes), expected_version, request)

    def appeal(self, dispute_id: UUID, *, statement: str, evidence_ids: list[str] | None = None,
               actor: Actor, expected_version: int | None = None,
               request: RequestStamp | None = None) -> View:
        """The acting buyer or seller appeals the ruling, within its window."""
        return self._carry_out("appeal", dispute_id, actor, lambda d, p, now: d.appeal(
            statement, list(evidence_ids or []), p, actor, now), expected_version, request)

    def decide_appeal(self, dispute_id: UUID, *, decision: str, reason_code: str,
                      outcome: str | None = None, refund_amount: Money | None = None,
                      note: str | None = None, actor: Actor, expected_version: int | None = None,
                      request: RequestStamp | None = None) -> View:
        """Uphold or overturn the ruling (a moderator who did not rule)."""
        return self._carry_out("decide_appeal", dispute_id, actor, lambda d, p, now: (
            d.decide_appeal(decision, outcome, reason_code, refund_amount, note, actor, now,
                            reasons=self.current_policy().reason_codes)),
            expected_version, request)

    def reason_codes(self, actor: Actor) -> View:
        """The catalogue of the policy in force: its ``policy_version`` and ``data``, each
        ``code, text, outcomes``."""
        self._require("reason_codes", actor)
        policy = self.current_policy()
        return {
            "policy_version": policy.version,
            "data": [
                {"code": reason.code, "text": reason.text, "outcomes": list(reason.outcomes)}
                for reason in policy.reason_codes
            ],
        }
