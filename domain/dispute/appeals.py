"""Appeals of a ruling: each party may appeal once, within its window; a moderator who
did not rule upholds the ruling or overturns it, and money follows the final outcome.

- ``appeal``: the buyer or the seller (the acting role is the party), within
  ``appeal_window_days_<party>`` calendar days after the ruling (the policy the
  order follows), once each. The case is ``under_appeal`` and in the moderation
  queue until a decision. A second party's appeal while one is pending joins it.
- ``decide_appeal``: decides every pending appeal at once. ``uphold`` keeps the
  ruling (its reason code must justify the ruling's outcome); ``overturn`` names
  the outcome that replaces it (``refund_full``, ``refund_partial`` with
  ``refund_amount``, or ``claim_rejected``; never ``seller_must_ship``, which
  needs a new ship-by a decision cannot set) and is final: no appeal follows it.
  An upheld ruling may still be appealed by the party that has not yet.
- Money (``dues.settle_overturn``): the decision's refund is the buyer's refund
  from the ruling, in all (``refund_full``: what the ruling granted plus what is
  still refundable). Approved money no longer granted and not paid is withdrawn
  (``RefundCancelled``); more falls due to the buyer once payment is allowed; a
  refund the buyer was paid beyond it is owed to the seller by the platform.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.dispute import dues, guards
from domain.dispute.case import DisputeState
from domain.dispute.inputs import identifier, one_of, text
from domain.dispute.ruling_events import DECISIONS, OVERTURN, AppealDecided, AppealFiled
from domain.dispute.vocabulary import OUTCOMES, Actor
from domain.errors import InvalidInput, NotForThisActor
from domain.money import Money
from domain.policy import Policy, ReasonCodes

REFUNDS = ("refund_full", "refund_partial")


class AppealCommands(DisputeState):
    def appeal(
        self,
        statement: str,
        evidence_ids: list[str],
        policy: Policy,
        actor: Actor,
        now: datetime,
    ) -> None:
        """The acting buyer or seller appeals the ruling (``policy``: the order's own)."""
        statement = text(statement, "statement", max_length=5000)
        unknown = [e for e in evidence_ids if e not in self.evidence]
        if unknown:
            raise InvalidInput(
                f"unknown evidence ids: {', '.join(unknown)}; add evidence first",
                field="evidence_ids",
            )
        guards.can_appeal(self, policy, now, actor.role)
        self._record(
            AppealFiled,
            actor,
            now,
            now,
            party=actor.role,
            statement=statement,
            evidence_ids=list(dict.fromkeys(evidence_ids)),
        )

    def decide_appeal(
        self,
        decision: str,
        outcome: str | None,
        reason_code: str,
        refund_amount: Money | None,
        note: str | None,
        actor: Actor,
        now: datetime,
        *,
        reasons: ReasonCodes,
    ) -> None:
        """Uphold or overturn the ruling (``reasons``: the catalogue in force now)."""
        one_of(decision, DECISIONS, "decision")
        if outcome is not None:
            one_of(outcome, OUTCOMES, "outcome")
        reason = reasons.get(identifier(reason_code, "reason_code", max_length=100))
        note = text(note, "note", max_length=5000, required=False) or None
        guards.can_decide_appeal(self)
        ruling = self.intervention
        assert ruling is not None and ruling.outcome is not None
        if actor.id == ruling.ruled_by:
            raise NotForThisActor(
                f"{actor.id} ruled on this case; another moderator decides its appeal"
            )
        granted = ruling.refund_amount or Decimal("0.00")
        paid, open_dues = dues.ruling_money(self)
        if decision == OVERTURN:
            final, decided = self._overturn(ruling.outcome, outcome, refund_amount, granted)
            favours: str | None = "buyer" if decided > granted else "seller"
        else:
            if outcome not in (None, ruling.outcome):
                raise InvalidInput(
                    f"an uphold keeps the ruling's outcome ({ruling.outcome}); "
                    "to change it, overturn",
                    field="outcome",
                )
            if refund_amount is not None:
                raise InvalidInput("an uphold keeps the ruling's refund", field="refund_amount")
            final, decided, favours = ruling.outcome, granted, None
        reason.check_justifies(final)
        self._record(
            AppealDecided,
            actor,
            now,
            now,
            decision=decision,
            outcome=final,
            previous_outcome=ruling.outcome,
            reason_code=reason.code,
            reason_text=reason.text,
            refund_amount=decided if decision == OVERTURN and final in REFUNDS else None,
            refund_paid=paid,
            note=note,
            appellants=[appeal.party for appeal in self.appeals.pending],
            favours=favours,
        )
        if decision == OVERTURN:
            dues.settle_overturn(self, granted, decided, paid, open_dues, actor, now)

    def _overturn(
        self, ruled: str, outcome: str | None, refund_amount: Money | None, granted: Decimal
    ) -> tuple[str, Decimal]:
        """The outcome that replaces the ruling's, and the buyer's refund it grants."""
        if outcome is None:
            raise InvalidInput(
                "an overturn names the outcome that replaces the ruling's", field="outcome"
            )
        if outcome == "seller_must_ship":
            raise InvalidInput(
                "an appeal decision cannot order shipment (it sets no new ship-by); "
                "overturn to refund_full, refund_partial or claim_rejected",
                field="outcome",
            )
        most = granted + self.remaining_refundable
        if outcome != "refund_partial" and refund_amount is not None:
            raise InvalidInput(f"refund_amount does not apply to {outcome}", field="refund_amount")
        if outcome == "refund_partial":
            decided = self._appeal_refund(refund_amount, most)
        else:
            decided = most if outcome == "refund_full" else Decimal("0.00")
        if outcome in REFUNDS and decided <= 0:
            raise InvalidInput("nothing is left to refund on this order", field="outcome")
        if outcome == ruled and decided == granted:
            raise InvalidInput(
                f"the ruling was {ruled} for the same amount; an overturn changes it "
                "(or uphold it)",
                field="outcome",
            )
        return outcome, decided

    def _appeal_refund(self, money: Money | None, most: Decimal) -> Decimal:
        if money is None:
            raise InvalidInput("refund_partial needs refund_amount", field="refund_amount")
        if money.currency != self.amount.currency:
            raise InvalidInput(
                f"the order is in {self.amount.currency}, not {money.currency}",
                field="refund_amount",
            )
        if not 0 < money.amount <= most:
            raise InvalidInput(
                f"refund_amount must be more than 0 and at most {most} {self.amount.currency} "
                "(what the ruling granted and what is still refundable)",
                field="refund_amount",
            )
        return money.amount
