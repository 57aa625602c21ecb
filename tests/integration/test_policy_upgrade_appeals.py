"""A store whose policy was recorded before reason codes and appeals, opened by this release.

The release before bundled ``2026-12-default`` (``policies/bundled-2026-12-default.toml``,
byte for byte) and recorded it without ``reason_codes`` and without the appeal windows
(its ``to_document`` had neither). This one bundles ``2027-01-default``: published
beside it at start-up, it is in force from then on. Orders placed under the old
version keep its rules (no appeal window: 0), while rulings name the codes of the
version in force, whichever version the order follows.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from application.policy_ledger import LEDGER_ID, PolicyLedger
from domain.dispute import Actor
from domain.errors import AppealWindowClosed
from domain.money import Money
from domain.policy import UnknownReasonCode
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

POLICIES = Path(__file__).parent / "policies"
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")


def open_desk(database_url: str, clock: ManualClock, policy: Path | None = None) -> DisputeDesk:
    env = {"DISPUTEDESK_DATABASE_URL": database_url}
    if policy is not None:
        env["DISPUTEDESK_POLICY"] = str(policy)
    return build_application(Settings.from_env(env), clock=clock)


def as_the_last_release_recorded_it() -> dict[str, Any]:
    """``2026-12-default`` as the previous release's ``to_document`` wrote it."""
    document = tomllib.loads((POLICIES / "bundled-2026-12-default.toml").read_text("utf-8"))
    document["effective_from"] = "2026-01-01T00:00:00Z"
    assert "reason_codes" not in document
    assert "appeal_window_days_buyer" not in document["defaults"]
    return document


def under_review(desk: DisputeDesk, clock: ManualClock, order_id: str) -> UUID:
    view, _ = desk.place_order(
        order_id=order_id, buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    case = UUID(view["id"])
    desk.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=clock.now(), actor=SELLER)
    desk.deliver(case, delivered_at=clock.now(), actor=PLATFORM)
    desk.request_refund(case, reason="broken", actor=BUYER)
    desk.decide_refund(case, approve=False, reason="used", actor=SELLER)
    desk.request_intervention(case, reason="refund_denied", statement="it broke", actor=BUYER)
    return case


def test_orders_under_the_old_version_keep_its_rules_and_rulings_use_the_new_codes(
    database_url: str, manual_clock: ManualClock
) -> None:
    # Given a store on which the previous release recorded 2026-12-default and an order
    desk = open_desk(database_url, manual_clock, POLICIES / "bundled-2026-11-default.toml")
    try:
        ledger: object = desk.repository.get(LEDGER_ID)
        assert isinstance(ledger, PolicyLedger)
        legacy = as_the_last_release_recorded_it()
        ledger.trigger_event(
            PolicyLedger.PolicyPublished, timestamp=manual_clock.now(),
            version=legacy["version"],
            effective_from=datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
            document=legacy, actor_role="platform", actor_id="configuration",
        )
        desk.save(ledger)
        old_case = under_review(desk, manual_clock, "o-old")
        assert desk.case(old_case, MODERATOR)["policy_version"] == "2026-12-default"
        # Then, while it is in force, no ruling can name a code: it lists none
        with pytest.raises(UnknownReasonCode, match="lists: none"):
            desk.rule(old_case, outcome="claim_rejected", reason_code="claim_not_supported",
                      actor=MODERATOR)
    finally:
        desk.close()

    # When this release starts on it with the bundled policy
    manual_clock.advance(timedelta(hours=1))
    desk = open_desk(database_url, manual_clock)
    try:
        assert desk.current_policy().version == "2027-01-default"
        kept = desk.policy("2026-12-default")
        assert kept is not None and len(kept.reason_codes) == 0
        assert kept.rules_for("US", "general").appeal_window_days_buyer == 0
        # Then the old order is ruled with the codes in force, and its parties may not appeal
        desk.rule(old_case, outcome="claim_rejected", reason_code="claim_not_supported",
                  actor=MODERATOR)
        with pytest.raises(AppealWindowClosed, match=r"\(2026-12-default\) allows the buyer no"):
            desk.appeal(old_case, statement="unfair", actor=BUYER)
        assert "appeal" not in desk.case(old_case, BUYER)["next_actions"]
        # While an order placed from now on may be appealed
        new_case = under_review(desk, manual_clock, "o-new")
        desk.rule(new_case, outcome="claim_rejected", reason_code="claim_not_supported",
                  actor=MODERATOR)
        assert desk.appeal(new_case, statement="unfair", actor=BUYER)["status"] == "under_appeal"
    finally:
        desk.close()
