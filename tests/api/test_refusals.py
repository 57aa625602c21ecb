"""Input and tokens the API refuses: a clear 4xx naming the field, never a 500, nothing written.

Tokens whose subject is blank, too long or unprintable (401); money that is not a
plain decimal string or not in whole minor units of an ISO 4217 currency (422);
an order in another currency than its region's (422); a body not sent as JSON
(415); a key given twice in a JSON object (400). The stores are created private.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from infrastructure.settings import Settings
from interface.cli import app as cli
from interface.http.auth import MAX_SUBJECT_LENGTH, issue_token
from tests.api.conftest import (
    ANALYST,
    BUYER,
    MODERATOR,
    ORDER,
    PLATFORM,
    SECRET,
    assert_problem,
)

POLICY_PATH = "/v1/policies/current"


def _order(order_id: str, **changes: Any) -> dict[str, Any]:
    return {**ORDER, "order_id": order_id, **changes}


def _money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def _assert_no_order(client: TestClient[Any], order_id: str) -> None:
    """Nothing was recorded: the same order, sent properly now, is new (201)."""
    response = client.post("/v1/orders", json=_order(order_id), headers=PLATFORM)
    assert response.status_code == 201, response.text


def _version(client: TestClient[Any], dispute_id: str) -> int:
    version: int = client.get(f"/v1/disputes/{dispute_id}", headers=MODERATOR).json()["version"]
    return version


# -- token subjects ------------------------------------------------------------------


def _token_with_subject(subject: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": subject, "role": "buyer", "iat": now, "exp": now + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param(" ", id="blank"),
        pytest.param("\t\n", id="whitespace"),
        pytest.param("b\x00-1", id="nul"),
        pytest.param("b-1\n", id="newline"),
        pytest.param("\x7f", id="delete"),
        pytest.param("b\u2028-1", id="line-separator"),
        pytest.param("b\u200b-1", id="zero-width-space"),
        pytest.param(" b-1", id="leading-space"),
        pytest.param("b-1 ", id="trailing-space"),
        pytest.param("b" * (MAX_SUBJECT_LENGTH + 1), id="too-long"),
        pytest.param("b" * 10_000, id="far-too-long"),
    ],
)
def test_a_token_whose_subject_is_not_acceptable_is_401(
    client: TestClient[Any], subject: str
) -> None:
    token = _token_with_subject(subject)
    response = client.get(POLICY_PATH, headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401)
    assert "subject" in body["detail"]
    assert response.headers["www-authenticate"].startswith('Bearer realm="disputedesk"')
    assert "\n" not in response.headers["www-authenticate"]


def test_a_subject_of_the_longest_printable_kind_is_accepted(client: TestClient[Any]) -> None:
    for subject in ("b" * MAX_SUBJECT_LENGTH, "käufer-ü-1", "s 1"):
        token = _token_with_subject(subject)
        response = client.get(POLICY_PATH, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (subject, response.text)


@pytest.mark.parametrize("subject", ["", " ", "b\x00", "b\n1", "b" * (MAX_SUBJECT_LENGTH + 1)])
def test_no_such_token_is_issued(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        issue_token(SECRET, "buyer", subject)


@pytest.mark.parametrize(
    "subject", [" ", "b\x00-1", "b\n1", "b\u2028-1", "b" * (MAX_SUBJECT_LENGTH + 1)]
)
def test_the_token_command_refuses_such_a_subject(
    subject: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPUTEDESK_SECRET", SECRET)
    monkeypatch.setenv("DISPUTEDESK_LOG_FORMAT", "json")
    result = CliRunner().invoke(cli, ["token", "--role", "buyer", "--subject", subject])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("disputedesk: --subject: "), result.stderr


# -- money amounts ---------------------------------------------------------------------

NOT_PLAIN_AMOUNTS = [
    "-0.00", "-0", "+0.00", "+5.00", "-5.00", "1e3", "1E3", "2.5e1", "1e-2", " 5.00", "5.00 ",
    "\t5.00", "5.00\n", "NaN", "nan", "Infinity", "-Infinity", "inf", "0x10", "1_000.00",
    "012.50", ".50", "5.", "", "\uff15.00",
]


@pytest.mark.parametrize("amount", NOT_PLAIN_AMOUNTS)
def test_an_order_amount_that_is_not_a_plain_decimal_string_is_422(
    client: TestClient[Any], amount: str
) -> None:
    response = client.post(
        "/v1/orders", json=_order("o-money", amount=_money(amount)), headers=PLATFORM
    )
    body = assert_problem(response, 422, field="amount.amount")
    assert body["detail"].startswith("amount.amount")
    _assert_no_order(client, "o-money")


@pytest.mark.parametrize("amount", ["-0.00", "1e1", " 5.00", "+5.00", "NaN"])
@pytest.mark.parametrize(
    ("command", "headers", "body", "field"),
    [
        ("refund-requests", BUYER, {"reason": "late", "amount": None}, "amount.amount"),
        ("refunds", PLATFORM, {"amount": None}, "amount.amount"),
        (
            "rulings",
            MODERATOR,
            {"outcome": "refund_partial", "reason_code": "not_shipped_in_time",
             "refund_amount": None},
            "refund_amount.amount",
        ),
    ],
)
def test_every_amount_of_money_is_refused_the_same_way(
    client: TestClient[Any],
    case: dict[str, Any],
    amount: str,
    command: str,
    headers: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    money_key = field.partition(".")[0]
    sent = {**body, money_key: _money(amount)}
    response = client.post(f"/v1/disputes/{case['id']}/{command}", json=sent, headers=headers)
    assert_problem(response, 422, field=field)
    assert _version(client, case["id"]) == case["version"]


# -- currencies -----------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["XYZ", "ABC", "XAU", "XXX", "usd", "US", "USDT", "€"])
def test_a_currency_that_is_not_an_iso_4217_currency_of_payment_is_422(
    client: TestClient[Any], currency: str
) -> None:
    order = _order("o-currency", amount=_money("10.00", currency))
    body = assert_problem(client.post("/v1/orders", json=order, headers=PLATFORM), 422,
                          field="amount.currency")
    assert "ISO 4217" in body["detail"]
    _assert_no_order(client, "o-currency")


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        ("12.5", "JPY", "whole number of JPY"),
        ("1200.01", "JPY", "whole number of JPY"),
        ("12.345", "USD", "more than 2 decimal places"),
        ("0.001", "GBP", "more than 2 decimal places"),
    ],
)
def test_an_amount_finer_than_its_currency_minor_unit_is_422(
    client: TestClient[Any], amount: str, currency: str, says: str
) -> None:
    order = _order("o-minor", amount=_money(amount, currency))
    body = assert_problem(client.post("/v1/orders", json=order, headers=PLATFORM), 422,
                          field="amount.amount")
    assert says in body["detail"]
    _assert_no_order(client, "o-minor")


@pytest.mark.parametrize(("region", "currency"), [("US", "GBP"), ("GB", "USD"), ("TH", "JPY")])
def test_an_order_in_another_currency_than_its_region_is_422(
    client: TestClient[Any], region: str, currency: str
) -> None:
    order = _order("o-region", region=region, amount=_money("100", currency))
    body = assert_problem(client.post("/v1/orders", json=order, headers=PLATFORM), 422,
                          field="amount.currency")
    assert region in body["detail"] and currency in body["detail"]
    _assert_no_order(client, "o-region")


def test_orders_in_their_region_currency_are_placed(client: TestClient[Any]) -> None:
    for n, (region, currency) in enumerate([("US", "USD"), ("GB", "GBP"), ("TH", "THB")]):
        order = _order(f"o-ok-{n}", region=region, amount=_money("690", currency))
        response = client.post("/v1/orders", json=order, headers=PLATFORM)
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == {"amount": "690.00", "currency": currency}


# -- content types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/octet-stream",
        "application/json; charset=latin-1",
        "application/jsonx",
        None,
    ],
)
def test_a_body_not_sent_as_json_is_415(
    client: TestClient[Any], content_type: str | None
) -> None:
    headers = {**PLATFORM}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps(_order("o-type")).encode()
    response = client.post("/v1/orders", content=body, headers=headers)
    problem = assert_problem(response, 415, field="Content-Type")
    assert "JSON" in problem["detail"] or "json" in problem["detail"]
    assert response.headers["accept-post"] == "application/json"
    _assert_no_order(client, "o-type")


def test_a_command_body_not_sent_as_json_is_415(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    body = json.dumps({"message": "where is it?", "channel": "chat"}).encode()
    response = client.post(f"/v1/disputes/{case['id']}/seller-contacts", content=body,
                           headers={**BUYER, "Content-Type": "text/plain"})
    assert_problem(response, 415, field="Content-Type")
    assert _version(client, case["id"]) == case["version"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
     "application/problem+json"],
)
def test_json_by_any_of_its_names_is_read(client: TestClient[Any], content_type: str) -> None:
    body = json.dumps(_order("o-json")).encode()
    response = client.post("/v1/orders", content=body,
                           headers={**PLATFORM, "Content-Type": content_type})
    assert response.status_code == 201, response.text


def test_a_request_without_a_body_needs_no_content_type(
    client: TestClient[Any], case: dict[str, Any]
) -> None:
    swept = client.post("/v1/deadlines/sweep", headers=PLATFORM)
    assert swept.status_code == 200, swept.text
    # A route that takes no body: the state refuses it (409), not its content type.
    for headers in ({}, {"Content-Type": "text/plain"}):
        receipt = client.post(f"/v1/disputes/{case['id']}/return-receipts",
                              headers={**BUYER, **headers})
        assert receipt.status_code in (403, 409), receipt.text


# -- duplicate keys --------------------------------------------------------------------


def _raw_order(amount: str = '{"amount": "25.00", "currency": "USD"}', extra: str = "") -> bytes:
    return (
        '{"order_id": "o-dup", "buyer_id": "b-1", "seller_id": "s-1", "region": "US", '
        f'"category": "general", "amount": {amount}, '
        f'"placed_at": "2026-11-20T10:00:00-08:00"{extra}}}'
    ).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_raw_order(extra=', "order_id": "o-other"'), "order_id"),
        (_raw_order(extra=', "buyer_id": "b-1"'), "buyer_id"),  # even with the same value
        (_raw_order('{"amount": "25.00", "currency": "USD", "currency": "GBP"}'),
         "amount.currency"),
        (_raw_order('{"amount": "25.00", "amount": "1.00", "currency": "USD"}'),
         "amount.amount"),
    ],
)
def test_a_key_given_twice_is_400_naming_it(
    client: TestClient[Any], body: bytes, field: str
) -> None:
    json.loads(body)  # valid JSON all the same
    response = client.post("/v1/orders", content=body,
                           headers={**PLATFORM, "Content-Type": "application/json"})
    problem = assert_problem(response, 400, field=field)
    assert "more than once" in problem["detail"]
    _assert_no_order(client, "o-dup")


def test_a_key_given_twice_deep_inside_a_document_is_400(client: TestClient[Any]) -> None:
    body = b'{"changes": {"regions.US.ship_within_business_days": 3}, ' \
           b'"policy": {"regions": {"US": {"timezone": "UTC", "timezone": "Asia/Bangkok"}}}}'
    response = client.post("/v1/simulations", content=body,
                           headers={**ANALYST, "Content-Type": "application/json"})
    assert_problem(response, 400, field="policy.regions.US.timezone")
    listed = b'{"changes": {"a": 1}, "as_of": "2026-11-20T10:00:00Z", "as_of": "x"}'
    response = client.post("/v1/simulations", content=listed,
                           headers={**ANALYST, "Content-Type": "application/json"})
    assert_problem(response, 400, field="as_of")


def test_the_same_key_in_different_objects_is_fine(client: TestClient[Any]) -> None:
    response = client.post("/v1/orders", content=_raw_order(),
                           headers={**PLATFORM, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text  # "amount" at two levels


# -- private stores ----------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_stores_and_their_side_files_are_private(
    client: TestClient[Any], settings: Settings
) -> None:
    events = settings.database.sqlite_path
    if events is None:
        pytest.skip("the SQLite store only")
    assert client.post("/v1/orders", json=_order("o-private"), headers=PLATFORM).status_code == 201
    assert client.get("/v1/disputes", headers=MODERATOR).status_code == 200  # opens the views
    files = sorted(events.parent.glob(f"{events.stem}*"))
    names = {path.name for path in files}
    assert {events.name, f"{events.name}-wal", f"{events.name}-shm",
            f"{events.stem}-views.db"} <= names, names
    assert {path.name: oct(_mode(path)) for path in files} == {
        path.name: oct(0o600) for path in files
    }
