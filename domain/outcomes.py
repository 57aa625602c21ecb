"""What a ruling may decide: the one list of outcomes.

The dispute reads it for what each outcome does (``domain.dispute``), the policy
for which reason codes may justify which (``domain.policy.reasons``). It lives
apart from both so that neither has to import the other to know it.
"""

from __future__ import annotations

OUTCOMES: tuple[str, ...] = ("refund_full", "refund_partial", "seller_must_ship", "claim_rejected")
