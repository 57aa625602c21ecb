"""GET /v1/sellers, GET /v1/sellers/{id}, POST /v1/disputes/{id}/review-visibility, and the
scorecard of an unknown seller, through the HTTP API on SQLite and PostgreSQL.

A small marketplace fed in through the API (times from the manual clock, Friday
2026-11-20 18:00Z):

| seller | name             | orders (region, category)        | reviews |
|--------|------------------|----------------------------------|---------|
| s-1    | Maple Lane Goods | 2 (US general)                   | 5, 4    |
| s-2    | Maple Harbour    | 1 (GB fashion)                   | 5       |
| s-3    | Thames Supply    | 3 (GB general)                   | 2       |
| s-4    | (none)           | 1 (US electronics), not shipped  | -       |
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from infrastructure.clock import ManualClock
from interface.demo.profile import DEFAULT_PROFILE
from interface.demo.scenario import run_demo
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    ORDER,
    PLATFORM,
    SELLER,
    assert_problem,
    auth,
)

PROBLEM = "application/problem+json"


def settle(client: TestClient[Any], desk: DisputeDesk) -> None:
    head = desk.recorder.max_notification_id()
    response = client.get(f"/v1/sellers?min_position={head}&limit=1", headers=BUYER)
    assert response.status_code == 200, response.text


def order(client: TestClient[Any], clock: ManualClock, order_id: str, seller: str,
          name: str | None, *, region: str = "US", category: str = "general",
          ship: bool = True, rating: int | None = None) -> dict[str, Any]:
    body = {
        **ORDER, "order_id": order_id, "seller_id": seller, "region": region,
        "category": category, "placed_at": clock.now().isoformat(),
        "amount": {"amount": "25.00", "currency": "USD" if region == "US" else "GBP"},
    }
    if name is not None:
        body["seller_name"] = name
    placed = client.post("/v1/orders", json=body, headers=PLATFORM)
    assert placed.status_code == 201, placed.text
    clock.advance(timedelta(minutes=5))
    if ship:
        for path, data in (
            ("shipments", {"carrier": "UPS", "tracking_number": f"1Z{order_id}",
                           "shipped_at": clock.now().isoformat()}),
            ("deliveries", {"delivered_at": clock.now().isoformat()}),
        ):
            done = client.post(f"/v1/orders/{order_id}/{path}", json=data, headers=PLATFORM)
            assert done.status_code == 200, done.text
    if rating is not None:
        clock.advance(timedelta(minutes=5))
        reviewed = client.post(
            f"/v1/disputes/{placed.json()['id']}/reviews",
            json={"rating": rating, "comment": f"{rating} stars for {order_id}"}, headers=BUYER,
        )
        assert reviewed.status_code == 200, reviewed.text
    case: dict[str, Any] = placed.json()
    return case


@pytest.fixture
def market(client: TestClient[Any], desk: DisputeDesk, manual_clock: ManualClock
           ) -> dict[str, dict[str, Any]]:
    cases = {
        "o-11": order(client, manual_clock, "o-11", "s-1", "Maple Lane Goods", rating=5),
        "o-12": order(client, manual_clock, "o-12", "s-1", "Maple Lane Goods", rating=4),
        "o-21": order(client, manual_clock, "o-21", "s-2", "Maple Harbour", region="GB",
                      category="fashion", rating=5),
        "o-31": order(client, manual_clock, "o-31", "s-3", "Thames Supply", region="GB",
                      rating=2),
        "o-32": order(client, manual_clock, "o-32", "s-3", "Thames Supply", region="GB"),
        "o-33": order(client, manual_clock, "o-33", "s-3", "Thames Supply", region="GB"),
        "o-41": order(client, manual_clock, "o-41", "s-4", None, category="electronics",
                      ship=False),
    }
    settle(client, desk)
    return cases


def sellers(client: TestClient[Any], query: str = "", headers: dict[str, str] = BUYER
            ) -> list[str]:
    response = client.get(f"/v1/sellers{query}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert int(response.headers["X-Read-Model-Position"]) == body["position"]
    return [row["seller_id"] for row in body["data"]]


def test_anyone_searches_the_sellers_by_id_name_region_and_category(
    client: TestClient[Any], market: dict[str, dict[str, Any]]
) -> None:
    for headers in (BUYER, SELLER, MODERATOR, ANALYST, PLATFORM):
        assert sellers(client, headers=headers) == ["s-2", "s-1", "s-3", "s-4"]  # by rating
    assert_problem(client.get("/v1/sellers"), 401)
    rows = {row["seller_id"]: row for row in client.get("/v1/sellers", headers=BUYER).json()
            ["data"]}
    assert rows["s-1"] == {
        "seller_id": "s-1", "seller_name": "Maple Lane Goods", "orders": 2, "shipped": 2,
        "late_dispatch_rate": 0.0, "auto_cancel_rate": 0.0, "disputes": 0, "interventions": 0,
        "interventions_lost": 0, "appeals_won": 0, "appeals_lost": 0, "refund_rate": 0.0,
        "average_rating": 4.5, "reviews": 2, "regions": ["US"], "categories": ["general"],
    }
    assert rows["s-4"]["seller_name"] is None and rows["s-4"]["average_rating"] is None
    assert rows["s-4"]["late_dispatch_rate"] is None  # nothing due yet

    assert sellers(client, "?q=s-3") == ["s-3"]
    assert sellers(client, "?q=maple") == ["s-2", "s-1"]
    assert sellers(client, "?q=MAPLE%20L") == ["s-1"]
    assert sellers(client, "?q=thames") == ["s-3"]
    assert sellers(client, "?q=nobody") == []
    assert sellers(client, "?region=GB") == ["s-2", "s-3"]
    assert sellers(client, "?category=general") == ["s-1", "s-3"]
    assert sellers(client, "?region=GB&category=general") == ["s-3"]
    assert sellers(client, "?q=maple&region=US") == ["s-1"]
    assert sellers(client, "?sort=orders") == ["s-3", "s-1", "s-2", "s-4"]
    assert sellers(client, "?sort=late_dispatch_rate") == ["s-3", "s-1", "s-2", "s-4"]
    assert sellers(client, "?sort=rating") == ["s-2", "s-1", "s-3", "s-4"]


@pytest.mark.parametrize("sort", ["rating", "late_dispatch_rate", "orders"])
def test_pages_follow_the_cursor(
    client: TestClient[Any], market: dict[str, dict[str, Any]], sort: str
) -> None:
    whole = sellers(client, f"?sort={sort}")
    seen: list[str] = []
    url = f"/v1/sellers?sort={sort}&limit=1"
    while True:
        body = client.get(url, headers=BUYER).json()
        seen += [row["seller_id"] for row in body["data"]]
        if body["next_cursor"] is None:
            break
        url = f"/v1/sellers?sort={sort}&limit=1&cursor={body['next_cursor']}"
    assert seen == whole


def test_bad_search_parameters_are_problems(
    client: TestClient[Any], market: dict[str, dict[str, Any]]
) -> None:
    assert_problem(client.get("/v1/sellers?sort=best", headers=BUYER), 422, field="sort")
    assert_problem(client.get("/v1/sellers?limit=0", headers=BUYER), 400)
    assert_problem(client.get("/v1/sellers?limit=501", headers=BUYER), 400)
    assert_problem(client.get("/v1/sellers?cursor=bm9wZQ", headers=BUYER), 400)
    assert_problem(client.get("/v1/sellers?q=a%00b", headers=BUYER), 400)
    cursor = client.get("/v1/sellers?sort=orders&limit=1", headers=BUYER).json()["next_cursor"]
    assert_problem(client.get(f"/v1/sellers?sort=rating&cursor={cursor}", headers=BUYER), 400)
    assert client.get(f"/v1/sellers?sort=orders&cursor={cursor}", headers=BUYER).status_code \
        == 200


def test_an_unknown_seller_is_404_on_its_page_and_its_scorecard(
    client: TestClient[Any], market: dict[str, dict[str, Any]]
) -> None:
    for path in ("/v1/sellers/s-9", "/v1/sellers/s-9/scorecard"):
        problem = assert_problem(client.get(path, headers=BUYER), 404)
        assert "s-9" in problem["detail"]
        assert_problem(client.get(path), 401)
    assert client.get("/v1/sellers/s-4/scorecard", headers=BUYER).json()["orders"] == 1
    assert_problem(client.get("/v1/sellers/s%001", headers=BUYER), 400)


def test_a_moderator_hides_a_review_and_only_moderators_still_see_it(
    client: TestClient[Any], market: dict[str, dict[str, Any]]
) -> None:
    page = client.get("/v1/sellers/s-1", headers=BUYER).json()
    assert page["seller_name"] == "Maple Lane Goods"
    assert page["regions"] == ["US"] and page["categories"] == ["general"]
    assert page["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert [set(r) for r in page["recent_reviews"]] == [{"rating", "comment", "reviewed_at"}] * 2
    assert [r["rating"] for r in page["recent_reviews"]] == [4, 5]  # newest first
    assert page["return_costs"] == [] and "hidden_reviews" not in page
    assert page["median_response_hours"] is None and page["orders"] == 2

    case = market["o-12"]["id"]
    url = f"/v1/disputes/{case}/review-visibility"
    hide = {"hidden": True, "reason": "abusive language"}
    assert_problem(client.post(url, json=hide, headers=BUYER), 403)
    assert_problem(client.post(url, json=hide, headers={**MODERATOR, "If-Match": '"1"'}), 412)
    key = {**MODERATOR, "Idempotency-Key": "hide-o-12"}
    hidden = client.post(url, json=hide, headers=key)
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["review"]["hidden"] is True
    assert hidden.json()["review"]["hidden_reason"] == "abusive language"
    assert hidden.headers["ETag"] == f'"{hidden.json()["version"]}"'
    again = client.post(url, json=hide, headers=key)  # a retry: the first answer
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["version"] == hidden.json()["version"]
    assert_problem(client.post(url, json=hide, headers=MODERATOR), 409)  # already hidden
    position = hidden.json()["position"]

    for headers in (BUYER, SELLER, auth("buyer", "b-7")):
        page = client.get(f"/v1/sellers/s-1?min_position={position}", headers=headers).json()
        assert page["average_rating"] == 5.0 and page["reviews"] == 1
        assert page["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
        assert [r["rating"] for r in page["recent_reviews"]] == [5]
    staff = client.get("/v1/sellers/s-1", headers=MODERATOR).json()
    assert staff["hidden_reviews"] == 1 and staff["reviews"] == 1
    assert staff["recent_reviews"][0] == {
        "rating": 4, "comment": "4 stars for o-12",
        "reviewed_at": staff["recent_reviews"][0]["reviewed_at"],
        "dispute_id": case, "order_id": "o-12", "hidden": True,
        "hidden_reason": "abusive language",
    }
    assert staff["recent_reviews"][1]["hidden"] is False
    listed = client.get(f"/v1/sellers?q=s-1&min_position={position}", headers=BUYER).json()
    assert listed["data"][0]["average_rating"] == 5.0
    card = client.get("/v1/sellers/s-1/scorecard", headers=BUYER).json()
    assert (card["average_rating"], card["reviews"]) == (5.0, 1)

    shown = client.post(url, json={"hidden": False, "reason": "on second look"},
                        headers=MODERATOR)
    assert shown.status_code == 200 and shown.json()["review"]["hidden"] is False
    page = client.get(f"/v1/sellers/s-1?min_position={shown.json()['position']}",
                      headers=BUYER).json()
    assert page["reviews"] == 2 and page["average_rating"] == 4.5


def test_review_visibility_refuses_what_it_cannot_do(
    client: TestClient[Any], market: dict[str, dict[str, Any]]
) -> None:
    unreviewed = f"/v1/disputes/{market['o-32']['id']}/review-visibility"
    hide = {"hidden": True, "reason": "spam"}
    assert_problem(client.post(unreviewed, json=hide, headers=MODERATOR), 409)
    url = f"/v1/disputes/{market['o-11']['id']}/review-visibility"
    assert_problem(client.post(url, json={"hidden": "yes", "reason": "x"}, headers=MODERATOR),
                   400)
    assert_problem(client.post(url, json={"hidden": True}, headers=MODERATOR), 400)
    assert_problem(client.post(url, json={**hide, "why": "x"}, headers=MODERATOR), 400)
    assert_problem(client.post(url, json={"hidden": True, "reason": " "}, headers=MODERATOR),
                   422)
    assert_problem(client.post(url, json=hide, headers=SELLER), 403)
    assert_problem(client.post(url, json=hide), 401)
    missing = f"/v1/disputes/{UUID(int=7)}/review-visibility"
    assert_problem(client.post(missing, json=hide, headers=MODERATOR), 404)


def test_return_labels_the_seller_paid_show_on_its_page(
    client: TestClient[Any], desk: DisputeDesk, market: dict[str, dict[str, Any]]
) -> None:
    case = market["o-33"]["id"]
    buyer = BUYER
    for path, body, headers in (
        ("refund-requests", {"reason": "not as described"}, buyer),
        ("refund-decisions", {"approve": True}, auth("seller", "s-3")),
        ("returns", {"carrier": "Royal Mail", "tracking_number": "RM1",
                     "label_cost": {"amount": "3.95", "currency": "GBP"}}, buyer),
    ):
        done = client.post(f"/v1/disputes/{case}/{path}", json=body, headers=headers)
        assert done.status_code == 200, done.text
    position = done.json()["position"]
    page = client.get(f"/v1/sellers/s-3?min_position={position}", headers=BUYER).json()
    assert page["return_costs"] == [{"amount": "3.95", "currency": "GBP", "labels": 1}]
    assert page["seller_name"] == "Thames Supply" and page["regions"] == ["GB"]


def test_the_operations_are_documented(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    operations = {
        ("get", "/v1/sellers"): "searchSellers",
        ("get", "/v1/sellers/{seller_id}"): "getSeller",
        ("post", "/v1/disputes/{dispute_id}/review-visibility"): "setReviewVisibility",
    }
    for (method, path), operation_id in operations.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert operation["summary"] and operation["description"]
        assert PROBLEM in operation["responses"]["401"]["content"]
    assert "404" in paths["/v1/sellers/{seller_id}"]["get"]["responses"]
    assert "404" in paths["/v1/sellers/{seller_id}/scorecard"]["get"]["responses"]
    search = {p["name"] for p in paths["/v1/sellers"]["get"]["parameters"]}
    assert search >= {"q", "region", "category", "sort", "limit", "cursor", "min_position"}
    command = paths["/v1/disputes/{dispute_id}/review-visibility"]["post"]
    headers = {p["name"] for p in command["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "If-Match"} <= headers
    for status in ("400", "403", "404", "409", "412", "422"):
        assert PROBLEM in command["responses"][status]["content"]


def test_a_demo_marketplace_reads_well_through_the_api(
    client: TestClient[Any], desk: DisputeDesk, manual_clock: ManualClock
) -> None:
    profile = dataclasses.replace(DEFAULT_PROFILE, orders_per_seller=10, returns=0.3,
                                  abusive_reviews=0.3)
    summary = run_demo(desk, manual_clock, orders=80, seed=4, end=manual_clock.now(), days=15,
                       profile=profile)
    assert summary.refused == {} and summary.events_by_type["ReviewVisibilityChanged"] > 0
    settle(client, desk)
    listed = client.get("/v1/sellers?limit=500", headers=BUYER).json()["data"]
    assert len(listed) == summary.sellers
    assert all(row["seller_name"] for row in listed)
    hidden = 0
    for row in listed:
        page = client.get(f"/v1/sellers/{row['seller_id']}", headers=BUYER)
        assert page.status_code == 200, page.text
        staff = client.get(f"/v1/sellers/{row['seller_id']}", headers=MODERATOR).json()
        assert all(set(r) == {"rating", "comment", "reviewed_at"}
                   for r in page.json()["recent_reviews"])
        assert sum(page.json()["rating_distribution"].values()) == row["reviews"]
        hidden += staff["hidden_reviews"]
        assert len(staff["recent_reviews"]) >= len(page.json()["recent_reviews"])
    assert hidden == summary.events_by_type["ReviewVisibilityChanged"]
