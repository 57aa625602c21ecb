"""Bearer tokens: missing, malformed, tampered, expired, wrong role claims."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from infrastructure.settings import Settings
from interface.http.auth import issue_token, resolve_secret
from tests.api.conftest import BUYER, SECRET, assert_problem

CASE_PATH = "/v1/policies/current"


def _challenge(response: Any) -> None:
    assert response.headers["www-authenticate"].startswith('Bearer realm="disputedesk"')


def test_a_valid_token_is_accepted(client: TestClient[Any]) -> None:
    assert client.get(CASE_PATH, headers=BUYER).status_code == 200


def test_no_token_is_401_with_a_challenge(client: TestClient[Any]) -> None:
    response = client.get(CASE_PATH)
    assert_problem(response, 401)
    _challenge(response)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_malformed_authorization_is_401(client: TestClient[Any], header: str) -> None:
    response = client.get(CASE_PATH, headers={"Authorization": header})
    assert_problem(response, 401)
    _challenge(response)


def test_tampered_token_is_401(client: TestClient[Any]) -> None:
    token = issue_token(SECRET, "buyer", "b-1")
    header, payload, signature = token.split(".")
    forged_claims = jwt.encode(
        {"sub": "b-1", "role": "moderator", "iat": 1, "exp": 4102444800},
        "a-guessed-key-that-is-long-enough-0123456789",
        algorithm="HS256",
    ).split(".")[1]
    for forged in (
        f"{header}.{forged_claims}.{signature}",
        f"{header}.{payload}.{signature[:-2]}AA",
    ):
        response = client.get(CASE_PATH, headers={"Authorization": f"Bearer {forged}"})
        assert_problem(response, 401)


def test_token_signed_with_another_key_is_401(client: TestClient[Any]) -> None:
    token = issue_token("another-secret-0123456789abcdef0123", "buyer", "b-1")
    assert_problem(client.get(CASE_PATH, headers={"Authorization": f"Bearer {token}"}), 401)


def test_expired_token_is_401_and_says_so(client: TestClient[Any]) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    token = issue_token(SECRET, "buyer", "b-1", ttl=timedelta(hours=1), now=past)
    response = client.get(CASE_PATH, headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401)
    assert "expired" in body["detail"]
    assert "expired" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "b-1", "role": "admin"},
        {"sub": "b-1"},
        {"role": "buyer"},
        {"sub": "b-1", "role": "buyer", "exp": None},
    ],
)
def test_tokens_without_the_required_claims_are_401(
    client: TestClient[Any], claims: dict[str, Any]
) -> None:
    now = int(datetime.now(UTC).timestamp())
    full = {"iat": now, "exp": now + 3600, **claims}
    full = {key: value for key, value in full.items() if value is not None}
    token = jwt.encode(full, SECRET, algorithm="HS256")
    assert_problem(client.get(CASE_PATH, headers={"Authorization": f"Bearer {token}"}), 401)


def test_alg_none_is_refused(client: TestClient[Any]) -> None:
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode(
        {"sub": "m", "role": "moderator", "iat": now, "exp": now + 60}, None, algorithm="none"
    )
    assert_problem(client.get(CASE_PATH, headers={"Authorization": f"Bearer {token}"}), 401)


def test_health_and_schema_need_no_token(client: TestClient[Any]) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/schema/openapi.json").status_code == 200


def test_issue_token_claims() -> None:
    now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    token = issue_token(SECRET, "seller", "s-9", ttl=timedelta(minutes=30), now=now)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "sub": "s-9",
        "role": "seller",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
    }
    with pytest.raises(ValueError):
        issue_token(SECRET, "admin", "x")
    with pytest.raises(ValueError):
        issue_token(SECRET, "buyer", " ")


def test_development_secret_is_made_once_with_private_permissions(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    with capture_logs() as logs:
        first = resolve_secret(settings)
        path = tmp_path / "var" / "dev-secret"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert resolve_secret(settings) == first
    warnings = [line for line in logs if line["event"] == "auth.development_secret"]
    assert len(warnings) == 1  # serve and its app both ask: one warning
    assert len(first) >= 32
    configured = Settings.from_env({"DISPUTEDESK_SECRET": "configured"}, cwd=tmp_path)
    assert resolve_secret(configured) == "configured"
