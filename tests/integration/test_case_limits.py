"""The per-case caps through the application, on SQLite and on PostgreSQL: the command
at the cap is refused and records nothing, a retry of the one accepted just below the
cap still gets its first answer, and the case's other commands go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from domain.dispute import Actor
from domain.dispute.case_limits import MESSAGES, CaseLimitReached
from domain.money import Money
from domain.requests import RequestStamp
from infrastructure.bootstrap import build_application, bundled_policy_text
from infrastructure.clock import ManualClock
from infrastructure.settings import Settings

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
SELLER = Actor("seller", "s-1")
MODERATOR = Actor("moderator", "m-1")


def capped_policy_text() -> str:
    """The bundled policy as a version of its own, with small caps."""
    return (
        bundled_policy_text()
        .replace('version = "2027-01-default"', 'version = "2027-01-capped"')
        .replace("messages_case_max = 300", "messages_case_max = 3")
        .replace("evidence_case_max_items = 50", "evidence_case_max_items = 2")
        .replace("notes_case_max = 300", "notes_case_max = 2")
    )


@pytest.fixture
def desk(database_url: str, manual_clock: ManualClock, tmp_path: Path) -> Iterator[DisputeDesk]:
    policy = tmp_path / "policy.toml"
    policy.write_text(capped_policy_text(), encoding="utf-8")
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": database_url,
                                  "DISPUTEDESK_POLICY": str(policy)})
    application = build_application(settings, clock=manual_clock)
    yield application
    application.close()


def placed(desk: DisputeDesk, clock: ManualClock) -> UUID:
    view, _ = desk.place_order(
        order_id="o-1", buyer_id=BUYER.id, seller_id=SELLER.id, region="US",
        category="general", amount=Money.of("25.00", "USD"), placed_at=clock.now(),
        actor=PLATFORM,
    )
    return UUID(view["id"])


def stamp(key: str) -> RequestStamp:
    return RequestStamp(f"caller:{key}", f"print-{key}")


def refused(desk: DisputeDesk, dispute: UUID, command: Any) -> CaseLimitReached:
    before = desk.dispute(dispute).version
    with pytest.raises(CaseLimitReached) as refusal:
        command()
    assert desk.dispute(dispute).version == before  # nothing recorded
    return refusal.value


def test_a_message_past_the_cap_is_refused_and_the_last_one_accepted_is_answered_again(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = placed(desk, manual_clock)
    desk.contact_seller(dispute, message="where is it?", channel="chat", actor=BUYER)
    desk.respond(dispute, message="soon", actor=SELLER)
    last = desk.contact_seller(dispute, message="still nothing", channel="chat",
                               actor=BUYER, request=stamp("third"))

    error = refused(desk, dispute, lambda: desk.contact_seller(
        dispute, message="hello?", channel="email", actor=BUYER, request=stamp("fourth")))
    assert (error.limit_name, error.limit) == ("messages_case_max", 3)
    refused(desk, dispute, lambda: desk.respond(dispute, message="tomorrow", actor=SELLER))
    # The client did not hear the third message's answer and sends it again: the same
    # answer, not the cap it reached.
    again = desk.contact_seller(dispute, message="still nothing", channel="chat",
                                actor=BUYER, request=stamp("third"))
    assert again["replayed"] is True and again["version"] == last["version"]
    assert desk.dispute(dispute).held(MESSAGES) == 3
    # The case goes on: a note, evidence, the seller ships.
    desk.add_note(dispute, text="buyer keeps writing", actor=MODERATOR)
    desk.add_evidence(dispute, kind="screenshot", description="the listing", actor=BUYER)
    desk.ship(dispute, carrier="UPS", tracking_number="1Z9", shipped_at=manual_clock.now(),
              actor=SELLER)


def test_notes_and_evidence_items_stop_at_their_caps_and_retries_keep_their_answers(
    desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    dispute = placed(desk, manual_clock)
    desk.add_note(dispute, text="first", actor=MODERATOR)
    noted = desk.add_note(dispute, text="second", actor=MODERATOR, request=stamp("note-2"))
    error = refused(desk, dispute, lambda: desk.add_note(dispute, text="third",
                                                          actor=MODERATOR))
    assert (error.limit_name, error.limit) == ("notes_case_max", 2)
    assert desk.add_note(dispute, text="second", actor=MODERATOR,
                         request=stamp("note-2"))["version"] == noted["version"]

    desk.add_evidence(dispute, kind="screenshot", description="one", actor=BUYER)
    added = desk.add_evidence(dispute, kind="chat_log", description="two", actor=SELLER,
                              request=stamp("evidence-2"))
    error = refused(desk, dispute, lambda: desk.add_evidence(
        dispute, kind="other", description="three", actor=BUYER))
    assert (error.limit_name, error.limit) == ("evidence_case_max_items", 2)
    again = desk.add_evidence(dispute, kind="chat_log", description="two", actor=SELLER,
                              request=stamp("evidence-2"))
    assert again["replayed"] is True and again["version"] == added["version"]
    assert [e["description"] for e in again["evidence"]] == ["one", "two"]
