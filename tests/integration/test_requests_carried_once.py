"""A request's stamp rides in the events it records: a retry is recognised, not run again.

Two applications on one store stand for the process that crashed after its
commit and the one that receives the client's retry.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from application.idempotency import fingerprint, request_stamp
from domain.dispute import Actor
from domain.money import Money
from domain.requests import REQUESTS_KEPT_FOR, KeyReused, RequestStamp
from infrastructure.clock import ManualClock

PLATFORM = Actor("platform", "feed")
BUYER = Actor("buyer", "b-1")
MODERATOR = Actor("moderator", "m-1")


def _stamp(key: str, body: bytes = b'{"text": "once"}') -> RequestStamp:
    return request_stamp("moderator:m-1", key, fingerprint("POST", "/notes", body))


def _place(desk: DisputeDesk, clock: ManualClock, stamp: RequestStamp | None = None
           ) -> tuple[dict[str, object], bool]:
    return desk.place_order(
        order_id="o-1", buyer_id=BUYER.id, seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=clock.now(), actor=PLATFORM, request=stamp,
    )


def _notes(desk: DisputeDesk, dispute_id: UUID) -> list[str]:
    return [row["data"]["text"] for row in desk.history(dispute_id, MODERATOR)
            if row["type"] == "NoteAdded"]


def test_given_a_command_carried_out_elsewhere_when_retried_then_it_is_replayed(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    crashed, survivor = desks
    view, _ = _place(crashed, manual_clock)
    dispute_id = UUID(str(view["id"]))
    first = crashed.add_note(dispute_id, text="once", actor=MODERATOR, request=_stamp("k"))
    survivor.add_note(dispute_id, text="someone else's", actor=MODERATOR)

    retry = survivor.add_note(dispute_id, text="once", actor=MODERATOR, request=_stamp("k"))

    assert retry.pop("replayed") is True
    assert retry["version"] == first["version"]
    assert [entry["type"] for entry in retry["timeline"]] == [
        entry["type"] for entry in first["timeline"]
    ]
    assert _notes(survivor, dispute_id) == ["once", "someone else's"]


def test_given_a_key_used_for_another_request_when_sent_then_it_is_refused(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    desk, _ = desks
    view, _ = _place(desk, manual_clock)
    dispute_id = UUID(str(view["id"]))
    desk.add_note(dispute_id, text="once", actor=MODERATOR, request=_stamp("k"))
    with pytest.raises(KeyReused):
        desk.add_note(dispute_id, text="other", actor=MODERATOR,
                      request=_stamp("k", b'{"text": "other"}'))
    assert _notes(desk, dispute_id) == ["once"]


def test_given_an_order_placed_with_a_key_when_retried_then_it_answers_created(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    crashed, survivor = desks
    stamp = _stamp("order-1", b"order")
    first, created = _place(crashed, manual_clock, stamp)
    assert created

    retry, created_again = _place(survivor, manual_clock, stamp)
    plain, created_plain = _place(survivor, manual_clock)

    assert created_again and retry.pop("replayed") is True
    assert retry["version"] == first["version"]
    assert not created_plain and "replayed" not in plain


def test_given_a_key_older_than_the_retention_when_retried_then_it_runs_again(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    desk, _ = desks
    view, _ = _place(desk, manual_clock)
    dispute_id = UUID(str(view["id"]))
    desk.add_note(dispute_id, text="once", actor=MODERATOR, request=_stamp("k"))
    manual_clock.advance(REQUESTS_KEPT_FOR + timedelta(minutes=1))
    desk.add_note(dispute_id, text="later", actor=MODERATOR, request=_stamp("other"))

    again = desk.add_note(dispute_id, text="once", actor=MODERATOR, request=_stamp("k"))

    assert "replayed" not in again
    assert _notes(desk, dispute_id) == ["once", "later", "once"]


def test_given_a_policy_published_with_a_key_when_retried_then_it_is_not_refused(
    desks: tuple[DisputeDesk, DisputeDesk], manual_clock: ManualClock
) -> None:
    crashed, survivor = desks
    document = crashed.current_policy().to_document()
    document["version"] = "2027-candidate"
    document["effective_from"] = (manual_clock.now() + timedelta(days=1)).isoformat()
    analyst = Actor("analyst", "a-1")
    stamp = request_stamp("analyst:a-1", "publish-1", fingerprint("POST", "/p", b"doc"))
    crashed.publish_policy(document, analyst, stamp)

    assert survivor.publish_policy(document, analyst, stamp)["version"] == "2027-candidate"
