"""What both HTTP benchmarks share: the actors, the token secret, and seeding orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.money import Money

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
BUYER = Actor("buyer", "b-bench")
PLATFORM = Actor("platform", "bench")


def place_orders(desk: DisputeDesk, prefix: str, count: int) -> list[str]:
    """Place ``count`` orders of BUYER, placed an hour ago; returns their dispute ids."""
    placed_at = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    with desk.batch() as batch:
        for index in range(count):
            view, _ = batch.place_order(
                order_id=f"{prefix}-{index}", buyer_id=BUYER.id, seller_id=f"s-{index % 10}",
                region="US", category="general", amount=Money.of("25.00", "USD"),
                placed_at=placed_at, actor=PLATFORM,
            )
            ids.append(view["id"])
    return ids
