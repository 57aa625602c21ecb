"""Return postage in the replay, on SQLite and PostgreSQL.

An order placed Friday 2026-11-20 10:00 in Los Angeles ships and is delivered; the
buyer asks for a refund, the seller approves it, and the buyer sends the goods back
on a 7.50 USD label the seller pays (the bundled policy: ``return_shipping_payer =
"seller"``). The replay counts it as the seller's under the current policy, and as
nobody's under a candidate where the buyer pays return postage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.money import Money
from infrastructure.clock import ManualClock
from tests.integration.test_replay_corrections import simulate

LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")


def test_the_seller_pays_the_label_under_the_current_policy_not_under_the_candidate(
    app: DisputeDesk, manual_clock: ManualClock
) -> None:
    clock = manual_clock
    clock.set(datetime(2026, 11, 20, 10, tzinfo=LA))
    view, _ = app.place_order(
        order_id="o-return", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    case = UUID(view["id"])
    app.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=clock.now(), actor=SELLER)
    clock.advance(timedelta(days=1))
    app.deliver(case, delivered_at=clock.now(), actor=PLATFORM)
    clock.advance(timedelta(hours=1))
    app.request_refund(case, reason="broken", actor=BUYER)
    app.decide_refund(case, approve=True, actor=SELLER)
    clock.advance(timedelta(hours=1))
    view = app.return_goods(case, carrier="USPS", tracking_number="9400", actor=BUYER,
                            label_cost=Money.of("7.50", "USD"))
    assert view["refund"]["return"]["label_cost"] == {"amount": "7.50", "currency": "USD"}

    same = simulate(app, {"version": "same"})
    assert same["return_postage_exposure"] == [{
        "currency": "USD",
        "baseline": {"amount": "7.50", "currency": "USD"},
        "candidate": {"amount": "7.50", "currency": "USD"},
    }]
    buyer_pays = simulate(app, {"defaults.return_shipping_payer": "buyer"})
    assert buyer_pays["return_postage_exposure"] == [{
        "currency": "USD",
        "baseline": {"amount": "7.50", "currency": "USD"},
        "candidate": {"amount": "0.00", "currency": "USD"},
    }]
