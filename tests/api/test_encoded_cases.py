"""A case read encodes its body once per dispute version, role and next actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar import Request
from litestar.testing import TestClient

from application.disputes import DisputeDesk
from domain.dispute import Actor
from infrastructure.clock import ManualClock
from interface.http import encoded_cases, schemas
from interface.http.encoded_cases import EncodedCase
from tests.api.conftest import BUYER, MODERATOR, SELLER


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions of the case views turned into response bodies."""
    seen: list[int] = []
    convert = schemas.case_view

    def counting(view: dict[str, Any]) -> schemas.CaseView:
        seen.append(view["version"])
        return convert(view)

    monkeypatch.setattr(encoded_cases.schemas, "case_view", counting)
    return seen


def test_an_unchanged_case_is_encoded_once_per_role(
    client: TestClient[Any], case: dict[str, Any], desk: DisputeDesk, encodes: list[int]
) -> None:
    path = f"/v1/disputes/{case['id']}"
    first, second = client.get(path, headers=BUYER), client.get(path, headers=BUYER)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert encodes == [case["version"]]
    expected = desk.case(uuid.UUID(case["id"]), Actor("buyer", "b-1"))
    assert first.json() == msgspec.to_builtins(msgspec.convert(expected, schemas.CaseView))
    for response in (first, second):
        assert response.headers["etag"] == f'"{case["version"]}"'
        assert response.headers["content-type"] == "application/json"
        assert response.headers["content-length"] == str(len(response.content))
        assert response.headers["vary"] == "Authorization"
        assert response.headers["cache-control"] == "private, no-cache"
        assert len(response.headers.get_list("x-request-id")) == 1
    assert first.headers["x-request-id"] != second.headers["x-request-id"]

    seller, moderator = client.get(path, headers=SELLER), client.get(path, headers=MODERATOR)
    assert seller.json()["next_actions"] != first.json()["next_actions"]
    assert "ship" in seller.json()["next_actions"] and "close" in moderator.json()["next_actions"]
    assert len(encodes) == 3


def test_a_new_version_or_new_actions_are_encoded_again(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock,
    encodes: list[int],
) -> None:
    path = f"/v1/disputes/{case['id']}"
    assert "review" in client.get(path, headers=BUYER).json()["next_actions"]
    contacted = client.post(f"{path}/seller-contacts", headers=BUYER,
                            json={"message": "Where is it?", "channel": "chat"})
    assert contacted.status_code == 200
    encodes.clear()
    after = client.get(path, headers=BUYER)
    assert after.json()["version"] == case["version"] + 1 == contacted.json()["version"]
    assert after.headers["etag"] == f'"{case["version"] + 1}"'
    manual_clock.advance(timedelta(days=61))  # past the review window
    later = client.get(path, headers=BUYER)
    assert "review" not in later.json()["next_actions"]
    assert later.json()["version"] == after.json()["version"]
    assert encodes == [after.json()["version"]] * 2


def test_headers_or_cookies_a_layer_adds_are_kept(client: TestClient[Any]) -> None:
    request: Request[Any, Any, Any] = Request({"type": "http", "method": "GET", "path": "/",
                                               "headers": [], "state": {}})
    response = EncodedCase(b'{"id":"x"}', [(b"content-type", b"application/json"),
                                            (b"etag", b'"3"')])
    plain = response.to_asgi_response(None, request)
    assert plain.encode_headers() == [(b"content-type", b"application/json"), (b"etag", b'"3"')]
    layered = EncodedCase(b'{"id":"x"}', [(b"etag", b'"3"')]).to_asgi_response(
        None, request, headers={"X-Layer": "1"})
    headers = dict(layered.encode_headers())
    assert headers[b"x-layer"] == b"1" and headers[b"etag"] == b'"3"'
    assert layered.body == b'{"id":"x"}'
