"""A commit the database made while the client saw an error is not repeated."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.dispute import Actor
from domain.money import Money
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

BUYER = Actor("buyer", "b-1")
MODERATOR = Actor("moderator", "m-1")


def test_a_command_whose_commit_was_lost_in_transit_is_recorded_once(
    database_url: str, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_application(
        Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url}), clock=manual_clock
    )
    try:
        view, _ = app.place_order(
            order_id="o-1", buyer_id="b-1", seller_id="s-1", region="US",
            category="general", amount=Money.of("25.00", "USD"),
            placed_at=manual_clock.now(), actor=Actor("platform", "p-1"),
        )
        dispute_id = UUID(view["id"])
        save = app.save

        # Given the database commits, but the client's retry meets its own rows
        def commit_then_conflict(*objects: Any, **kwargs: Any) -> Any:
            save(*objects, **kwargs)
            raise IntegrityError("duplicate key: the first attempt had committed")

        monkeypatch.setattr(app, "save", commit_then_conflict)
        # When the buyer's command runs
        after = app.contact_seller(dispute_id, message="where?", channel="chat", actor=BUYER)
        monkeypatch.setattr(app, "save", save)

        # Then it succeeded, and is on record exactly once
        assert after["status"] == "awaiting_seller"
        types = [row["type"] for row in app.history(dispute_id, MODERATOR)]
        assert types == ["OrderPlaced", "SellerContacted"]
    finally:
        app.close()
