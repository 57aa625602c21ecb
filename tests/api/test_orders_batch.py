"""POST /v1/orders/batch: up to 1,000 orders, each judged alone, on both stores."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from application.order_feed import OrderFeed
from domain.dispute import Actor, Dispute, dispute_id_for
from domain.errors import DisputeNotFound
from domain.money import Money
from domain.requests import RequestStamp
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.recorded_disputes import recorded_disputes_for
from infrastructure.settings import Settings
from interface.http.controllers import orders as orders_controller
from interface.http.order_batch_schemas import read_order
from tests.api.conftest import BUYER, ORDER, PLATFORM, assert_problem

BATCH = "/v1/orders/batch"


def order(order_id: str, **changes: Any) -> dict[str, Any]:
    return {**ORDER, "order_id": order_id, **changes}


def post_batch(client: TestClient[Any], orders: list[Any], **headers: str) -> Any:
    return client.post(BATCH, json={"orders": orders}, headers={**PLATFORM, **headers})


def _buyer(desk: DisputeDesk, order_id: str) -> str | None:
    found = recorded(desk, order_id)
    return None if found is None else found.buyer_id


def _version(desk: DisputeDesk, order_id: str) -> int | None:
    found = recorded(desk, order_id)
    return None if found is None else found.version


def outcomes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["outcome"] for r in response.json()["results"]]


def recorded(desk: DisputeDesk, order_id: str) -> Dispute | None:
    """The order's case as the event store holds it (None: nothing recorded)."""
    try:
        return desk.dispute(dispute_id_for(order_id))
    except DisputeNotFound:
        return None


def test_each_order_is_judged_alone_and_answered_in_request_order(
    client: TestClient[Any], desk: DisputeDesk, case: dict[str, Any]
) -> None:
    # Given order o-1 on record
    # When a batch brings new orders, o-1 again, o-1 changed and invalid orders
    batch = [
        order("o-2"),
        ORDER,
        order("o-1", buyer_id="b-9", amount={"amount": "30.00", "currency": "USD"}),
        order("o-3", buyer_id=7),
        order("o-4", region="ZZ"),
        order("o-5", placed_at="2026-11-21T10:00:00Z"),
        {"order_id": "o-6"},
        order("o-7", amount={"amount": "1.00", "currency": "EUR"}),
        order("o-8"),
    ]
    response = post_batch(client, batch)
    # Then each order has its own outcome, in the request's order
    assert outcomes(response) == ["created", "unchanged", "conflict", "invalid", "invalid",
                                  "invalid", "invalid", "invalid", "created"]
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert body["counts"] == {"created": 2, "unchanged": 1, "conflict": 1, "invalid": 5}
    assert results[0]["dispute_id"] == str(dispute_id_for("o-2"))
    assert results[1]["dispute_id"] == case["id"]
    assert results[2]["dispute_id"] == case["id"]
    assert results[2]["fields"] == ["buyer_id", "amount"]
    fields = [[e["field"] for e in r.get("errors", [])] for r in results[3:8]]
    assert fields == [["buyer_id"], ["region"], ["placed_at"], ["buyer_id"],
                      ["amount.currency"]]
    assert all(r["detail"] for r in results[2:8])
    assert results[3]["errors"][0]["message"] == "Expected `str`, got `int`"
    assert results[3]["detail"] == "buyer_id: Expected `str`, got `int`"
    assert "fields" not in results[3] and "errors" not in results[2]
    # And the new orders' cases are open; the invalid ones recorded nothing
    assert _buyer(desk, "o-2") == "b-1"
    assert recorded(desk, "o-8") is not None
    for invalid in ("o-3", "o-4", "o-5", "o-6", "o-7"):
        assert recorded(desk, invalid) is None
    assert _buyer(desk, "o-1") == "b-1"


def test_the_same_batch_again_is_all_unchanged(
    client: TestClient[Any], desk: DisputeDesk
) -> None:
    # Given a batch that created its orders
    batch = [order(f"o-{n}") for n in range(20)]
    first = post_batch(client, batch).json()["results"]
    # When it comes again
    again = post_batch(client, batch)
    # Then every order is unchanged, with the same case
    assert outcomes(again) == ["unchanged"] * 20
    assert [r["dispute_id"] for r in again.json()["results"]] == [r["dispute_id"] for r in first]
    assert _version(desk, "o-7") == 1


def test_an_order_twice_in_one_batch_is_created_then_judged_against_itself(
    client: TestClient[Any],
) -> None:
    response = post_batch(client, [order("o-1"), order("o-1"), order("o-1", seller_id="s-2")])
    assert outcomes(response) == ["created", "unchanged", "conflict"]
    assert response.json()["results"][2]["fields"] == ["seller_id"]


def test_a_retry_with_the_same_idempotency_key_gets_the_same_answer(
    client: TestClient[Any],
) -> None:
    # Given a batch sent with a key
    batch = [order("o-1"), order("o-2", region="ZZ"), order("o-3")]
    first = post_batch(client, batch, **{"Idempotency-Key": "feed-1"})
    assert outcomes(first) == ["created", "invalid", "created"]
    # When it is retried with that key
    retry = post_batch(client, batch, **{"Idempotency-Key": "feed-1"})
    # Then the first answer comes back (not "unchanged"), marked replayed
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    # And the key with another batch is refused
    other = post_batch(client, [order("o-4")], **{"Idempotency-Key": "feed-1"})
    assert_problem(other, 422, field="Idempotency-Key")


def test_more_than_1000_orders_is_400_and_records_nothing(
    client: TestClient[Any], desk: DisputeDesk
) -> None:
    response = post_batch(client, [order(f"o-{n}") for n in range(1001)])
    assert_problem(response, 400)
    assert recorded(desk, "o-0") is None


def test_1000_orders_are_one_batch(client: TestClient[Any], desk: DisputeDesk) -> None:
    response = post_batch(client, [order(f"o-{n}") for n in range(1000)])
    assert outcomes(response) == ["created"] * 1000
    assert recorded(desk, "o-999") is not None


@pytest.mark.parametrize("body", [
    [ORDER],
    {"orders": ORDER},
    {"orders": []},
    {"orders": [ORDER], "extra": 1},
    {},
])
def test_a_malformed_envelope_is_400(
    client: TestClient[Any], desk: DisputeDesk, body: Any
) -> None:
    response = client.post(BATCH, json=body, headers=PLATFORM)
    assert_problem(response, 400)
    assert recorded(desk, "o-1") is None


def test_only_the_platform_feeds_orders(client: TestClient[Any]) -> None:
    response = client.post(BATCH, json={"orders": [ORDER]}, headers=BUYER)
    assert_problem(response, 403)


class RacingRecorded:
    """Answers which orders are on record, then lets another process place one of them
    (the single route's path, through another application on the same store)."""

    def __init__(self, desk: DisputeDesk, rival: DisputeDesk, rival_order: dict[str, Any]) -> None:
        self._inner = recorded_disputes_for(desk)
        self._rival = rival
        self._order = rival_order
        self.asked = 0

    def recorded(self, dispute_ids: Collection[UUID]) -> set[UUID]:
        found = self._inner.recorded(dispute_ids)
        self.asked += 1
        if self.asked == 1:
            self._rival.place_order(
                order_id=self._order["order_id"], buyer_id=self._order["buyer_id"],
                seller_id=self._order["seller_id"], region=self._order["region"],
                category=self._order["category"],
                amount=Money.of(self._order["amount"]["amount"],
                                self._order["amount"]["currency"]),
                placed_at=datetime.fromisoformat(self._order["placed_at"]),
                actor=Actor("platform", "p-2"))
        return found


@pytest.fixture
def rival(settings: Settings, manual_clock: ManualClock) -> Iterator[DisputeDesk]:
    other = build_application(settings, clock=manual_clock)
    yield other
    other.close()


@pytest.mark.parametrize("rival_buyer", ["b-1", "b-9"])
def test_a_batch_racing_a_single_order_is_judged_again(
    client: TestClient[Any], desk: DisputeDesk, rival: DisputeDesk,
    monkeypatch: pytest.MonkeyPatch, rival_buyer: str,
) -> None:
    # Given another request places o-2 after the batch looked which orders exist
    racing = RacingRecorded(desk, rival, order("o-2", buyer_id=rival_buyer))
    monkeypatch.setattr(orders_controller, "order_feed",
                        lambda d: OrderFeed(d, racing))
    # When the batch saves
    response = post_batch(client, [order("o-1"), order("o-2"), order("o-3")])
    # Then it is judged again: o-2 is the rival's (the same order, or a conflict)
    expected = "unchanged" if rival_buyer == "b-1" else "conflict"
    assert outcomes(response) == ["created", expected, "created"]
    assert racing.asked == 2
    # And every case was recorded once
    assert _buyer(desk, "o-2") == rival_buyer
    for order_id in ("o-1", "o-2", "o-3"):
        assert _version(desk, order_id) == 1


def test_a_request_that_placed_its_orders_answers_created_when_run_again(
    desk: DisputeDesk,
) -> None:
    # Given a batch carried out under a request's stamp (its answer lost on the way back)
    stamp = RequestStamp(key="k-lost", fingerprint="f-1")
    orders = [read_order(order("o-1")), read_order(order("o-2"))]
    feed = OrderFeed(desk, recorded_disputes_for(desk))
    first = feed.place(orders, Actor("platform", "p-1"), stamp)
    # When the same request runs again
    again = feed.place(orders, Actor("platform", "p-1"), stamp)
    # Then it answers as it did the first time, and nothing more is recorded
    assert [r.outcome for r in first] == [r.outcome for r in again] == ["created"] * 2
    assert _version(desk, "o-1") == 1
    # And another request with the same orders finds them unchanged
    other = feed.place(orders, Actor("platform", "p-1"), RequestStamp(key="k-2", fingerprint="f"))
    assert [r.outcome for r in other] == ["unchanged"] * 2
