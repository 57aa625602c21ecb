"""Tokens of the platform's identity provider: keys made here, served by a local JWKS
server that counts its requests; the API, the console and the key cache on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from litestar.testing import TestClient
from structlog.testing import capture_logs
from typer.testing import CliRunner

from domain.dispute import Actor
from infrastructure import token_keys
from infrastructure.bootstrap import build_application
from infrastructure.clock import ManualClock
from infrastructure.identity_settings import IdentitySettings
from infrastructure.settings import Settings, SettingsError
from infrastructure.token_keys import (
    KEEP_FOR,
    RETRY_AFTER_FAILURE,
    UNKNOWN_KID_REFRESH,
    TokenKeys,
)
from interface.cli import app as cli
from interface.http.app import create_app
from interface.http.auth import issue_token
from interface.http.identity import TokenVerifier
from interface.http.token_claims import TokenRefused, role_of
from tests.api.conftest import SECRET, assert_problem
from tests.api.test_console import csrf_of

ISSUER = "https://id.shop.example"
AUDIENCE = "disputedesk"
ROUTE = "/v1/policies/current"
ROLE_MAP = "customer=buyer,merchant=seller,support=moderator"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
ROGUE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SIGNERS: dict[str, tuple[Any, str]] = {
    "rsa-1": (RSA_KEY, "RS256"), "ec-1": (EC_KEY, "ES256"), "ed-1": (ED_KEY, "EdDSA"),
}


def jwk(kid: str, private: Any) -> dict[str, Any]:
    public = private.public_key()
    if isinstance(private, rsa.RSAPrivateKey):
        key = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        key = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        key = OKPAlgorithm.to_jwk(public, as_dict=True)
    return {**key, "kid": kid, "use": "sig"}


def key_set(*kids: str) -> dict[str, Any]:
    return {"keys": [jwk(kid, SIGNERS[kid][0]) for kid in kids]}


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts the requests it answered."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document, self.requests = document, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks.json"
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.http.shutdown()
            self._thread.join()
        self.http.server_close()


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    server = JwksServer(key_set("rsa-1", "ec-1", "ed-1"))
    yield server
    server.stop()


def env_for(provider: JwksServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
        "DISPUTEDESK_SECRET": SECRET,
        "DISPUTEDESK_JWKS_URL": provider.url,
        "DISPUTEDESK_TOKEN_ISSUER": ISSUER,
        "DISPUTEDESK_TOKEN_AUDIENCE": AUDIENCE,
        "DISPUTEDESK_ROLE_CLAIM": "roles",
        "DISPUTEDESK_SUBJECT_CLAIM": "user_id",
        "DISPUTEDESK_ROLE_MAP": ROLE_MAP,
        **extra,
    }


@contextmanager
def client_for(env: dict[str, str], tmp_path: Path,
               clock: ManualClock) -> Iterator[TestClient[Any]]:
    settings = Settings.from_env(env, cwd=tmp_path)
    desk = build_application(settings, clock=clock)
    try:
        with TestClient(create_app(desk, settings)) as client:
            yield client
    finally:
        desk.close()


@pytest.fixture
def client(provider: JwksServer, tmp_path: Path,
           manual_clock: ManualClock) -> Iterator[TestClient[Any]]:
    with client_for(env_for(provider, tmp_path), tmp_path, manual_clock) as test_client:
        yield test_client


_issued = iter(range(10**9))


def platform_token(kid: str = "rsa-1", *, key: Any = None, algorithm: str | None = None,
                   headers: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token as the provider signs one (a fresh ``jti`` each: no verified-cache hit)."""
    private, default_algorithm = SIGNERS.get(kid, (ROGUE_KEY, "RS256"))
    now = int(datetime.now(UTC).timestamp())
    body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
            "roles": ["customer"], "user_id": "b-1", "jti": str(next(_issued)), **claims}
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key or private, algorithm=algorithm or default_algorithm,
                      headers={"kid": kid, **(headers or {})})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(client: TestClient[Any], token: str, reason: str) -> None:
    response = client.get(ROUTE, headers=bearer(token))
    body = assert_problem(response, 401)
    assert reason in body["detail"], body["detail"]


# ---- the API ---------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_a_provider_token_passes_with_its_roles_mapped(
    client: TestClient[Any], provider: JwksServer, kid: str
) -> None:
    assert client.get(ROUTE, headers=bearer(platform_token(kid))).status_code == 200
    assert client.get(ROUTE, headers=bearer(platform_token(kid))).status_code == 200
    assert provider.requests == 1  # fetched once, then kept


def hs256_signed_with(secret: bytes, claims: dict[str, Any], kid: str) -> str:
    """An HS256 token keyed by ``secret`` (here, the provider's public key), as an
    attacker makes one: PyJWT refuses to sign it."""
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
    head = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = part(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(mac)}"


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
            "roles": ["support"], "user_id": "m-1", **extra}


PEM = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
NOW = int(datetime.now(UTC).timestamp())
REFUSALS: dict[str, tuple[Any, str]] = {
    "wrong issuer": (lambda: platform_token(iss="https://id.elsewhere.example"),
                     "another issuer"),
    "wrong audience": (lambda: platform_token(aud="another-service"), "another audience"),
    "expired": (lambda: platform_token(iat=NOW - 7200, exp=NOW - 3600), "expired"),
    "too long-lived": (lambda: platform_token(exp=NOW + 25 * 3600), "longer than the 86400s"),
    "no iat": (lambda: platform_token(iat=None), "'iat'"),
    "no subject": (lambda: platform_token(user_id=None), "'user_id'"),
    "unknown role": (lambda: platform_token(roles=["admin"]), "no known role"),
    "our own name, not the platform's": (lambda: platform_token(roles="buyer"),
                                         "no known role"),
    "two roles": (lambda: platform_token(roles=["customer", "support"]), "several roles"),
    "alg confusion": (lambda: hs256_signed_with(PEM, _claims(), "rsa-1"),
                      "development tokens (HS256) are not accepted"),
    "an RSA header on the EC key": (lambda: platform_token("ec-1", key=RSA_KEY,
                                                           algorithm="RS256"),
                                    "not its key's"),
    "alg none": (lambda: jwt.encode(_claims(), "", algorithm="none",
                                    headers={"kid": "rsa-1"}), "not its key's"),
    "no kid": (lambda: jwt.encode(_claims(), RSA_KEY, algorithm="RS256"), "no kid"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_tokens_the_provider_did_not_vouch_for_are_401_with_a_reason(
    client: TestClient[Any], case: str
) -> None:
    make, reason = REFUSALS[case]
    refused(client, make(), reason)


def test_alg_confusion_fails_its_signature_even_where_dev_tokens_pass(
    provider: JwksServer, tmp_path: Path, manual_clock: ManualClock
) -> None:
    env = env_for(provider, tmp_path, DISPUTEDESK_ALLOW_DEV_TOKENS="1")
    with client_for(env, tmp_path, manual_clock) as client:
        refused(client, hs256_signed_with(PEM, _claims(), "rsa-1"), "signature is wrong")


def test_an_unknown_kid_fetches_the_keys_again_at_most_once_a_minute(
    client: TestClient[Any], provider: JwksServer
) -> None:
    assert client.get(ROUTE, headers=bearer(platform_token())).status_code == 200
    assert provider.requests == 1
    refused(client, platform_token("rogue-1"), "not among the identity provider's keys")
    assert provider.requests == 2  # one refresh for the unknown kid
    refused(client, platform_token("rogue-2"), "not among the identity provider's keys")
    assert provider.requests == 2  # within the minute: no second refresh


def test_a_token_the_api_verified_before_is_refused_once_its_key_is_rotated_out(
    client: TestClient[Any], provider: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_keys, "KEEP_FOR", 0.3)
    token = platform_token("rsa-1")
    assert client.get(ROUTE, headers=bearer(token)).status_code == 200
    provider.document = key_set("ec-1")
    assert client.get(ROUTE, headers=bearer(token)).status_code == 200  # the keys are fresh
    time.sleep(0.4)
    refused(client, token, "not among the identity provider's keys")
    assert provider.requests == 2


def test_the_tokens_jku_is_never_fetched(client: TestClient[Any], provider: JwksServer) -> None:
    rogue = JwksServer({"keys": [jwk("rogue-1", ROGUE_KEY)]})
    try:
        token = platform_token("rogue-1", headers={"jku": rogue.url, "x5u": rogue.url})
        refused(client, token, "not among the identity provider's keys")
        assert rogue.requests == 0
    finally:
        rogue.stop()


def test_the_keys_held_keep_working_while_the_provider_is_down(
    client: TestClient[Any], provider: JwksServer
) -> None:
    assert client.get(ROUTE, headers=bearer(platform_token("ec-1"))).status_code == 200
    provider.stop()
    refused(client, platform_token("rogue-1"), "not among")  # its refresh fails
    assert client.get(ROUTE, headers=bearer(platform_token("ec-1"))).status_code == 200
    assert client.get(ROUTE, headers=bearer(platform_token("rsa-1"))).status_code == 200


def test_a_provider_never_reached_is_503_not_a_pass(
    tmp_path: Path, manual_clock: ManualClock
) -> None:
    down = JwksServer(key_set("rsa-1"))
    down.stop()
    with client_for(env_for(down, tmp_path), tmp_path, manual_clock) as client:
        with capture_logs() as logs:
            response = client.get(ROUTE, headers=bearer(platform_token()))
        assert_problem(response, 503)  # the errors' handler words every 5xx the same
        assert any("keys are unavailable" in str(line.get("detail")) for line in logs)


def test_development_tokens_are_refused_unless_allowed(
    client: TestClient[Any], provider: JwksServer, tmp_path: Path, manual_clock: ManualClock
) -> None:
    dev = issue_token(SECRET, "buyer", "b-1", ttl=timedelta(hours=1))
    refused(client, dev, "development tokens (HS256) are not accepted")
    (tmp_path / "allowed").mkdir()
    env = env_for(provider, tmp_path / "allowed", DISPUTEDESK_ALLOW_DEV_TOKENS="1")
    with client_for(env, tmp_path, manual_clock) as allowed:
        assert allowed.get(ROUTE, headers=bearer(dev)).status_code == 200
        assert allowed.get(ROUTE, headers=bearer(platform_token())).status_code == 200


def test_a_file_of_keys_serves_as_the_provider(tmp_path: Path, manual_clock: ManualClock,
                                               provider: JwksServer) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(key_set("ec-1")))
    env = {**env_for(provider, tmp_path), "DISPUTEDESK_JWKS_URL": "",
           "DISPUTEDESK_JWKS_FILE": str(path)}
    with client_for(env, tmp_path, manual_clock) as client:
        assert client.get(ROUTE, headers=bearer(platform_token("ec-1"))).status_code == 200
        refused(client, platform_token("rsa-1"), "not among")
    assert provider.requests == 0


# ---- the console ---------------------------------------------------------------------


def test_the_console_signs_a_provider_moderator_in(client: TestClient[Any]) -> None:
    form = client.get("/console/sign-in")
    token = platform_token(roles=["support"], user_id="m-7")
    response = client.post("/console/sign-in", follow_redirects=False,
                           data={"token": token, "_csrf_token": csrf_of(form.text)})
    assert response.status_code == 303, response.text
    assert client.get("/console/queue", follow_redirects=False).status_code == 200
    dev = issue_token(SECRET, "moderator", "m-1")
    form = client.get("/console/sign-in")
    again = client.post("/console/sign-in", data={"token": dev, "_csrf_token": csrf_of(form.text)})
    assert again.status_code == 401
    assert "development tokens" in again.text


# ---- the verifier, its key cache and the role mapping -----------------------------------


class FakeProvider:
    """The fetch a TokenKeys makes, on a clock the test moves."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document: dict[str, Any] | None = document
        self.fetches, self.now = 0, 1000.0

    def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.document is None:
            raise OSError("connection refused")
        return self.document


def test_the_key_cache_refreshes_on_unknown_kids_once_a_minute_and_keeps_keys_when_down(
) -> None:
    fake = FakeProvider(key_set("rsa-1"))
    keys = TokenKeys(fake.fetch, source="fake", monotonic=lambda: fake.now)
    assert keys.key("rsa-1")[1] == 1 and fake.fetches == 1
    fake.document = key_set("rsa-1", "ec-1")
    with pytest.raises(Exception, match="nope"):
        keys.key("nope")
    assert fake.fetches == 2
    fake.now += UNKNOWN_KID_REFRESH - 1
    with pytest.raises(Exception, match="nope"):
        keys.key("nope")
    assert fake.fetches == 2
    fake.now += 1
    assert keys.key("ec-1")[1] == 2  # the rotated set, fetched for the unknown kid
    assert fake.fetches == 2  # ec-1 came with the refresh before
    fake.document = None  # the provider goes down
    fake.now += KEEP_FOR + 1
    assert keys.key("rsa-1")[1] == 2  # its fetch failed: the held keys serve
    assert fake.fetches == 3
    held = keys.fresh()  # the last good keys still vouch for what they verified
    assert held is not None and held.version == 2
    fake.now += RETRY_AFTER_FAILURE
    assert keys.key("rsa-1")[1] == 2 and fake.fetches == 4  # tried again, not each request


def test_a_cached_verification_does_not_outlive_its_key() -> None:
    fake = FakeProvider(key_set("rsa-1"))
    keys = TokenKeys(fake.fetch, source="fake", monotonic=lambda: fake.now)
    settings = IdentitySettings(jwks_url="http://127.0.0.1/jwks", issuer=ISSUER,
                                audience=AUDIENCE, role_claim="roles", subject_claim="user_id",
                                role_map=(("customer", "buyer"),))
    verifier = TokenVerifier(SECRET, settings, keys)
    verified = verifier.verify(platform_token())
    assert verified.actor == Actor("buyer", "b-1")
    assert verifier.still_good(verified)
    fake.document = key_set("ec-1")  # the provider rotates rsa-1 out
    fake.now += KEEP_FOR + 1
    assert not verifier.still_good(verified)
    with pytest.raises(TokenRefused, match="not among"):
        verifier.verify(platform_token())


def test_role_mapping() -> None:
    names = {"customer": "buyer", "merchant": "seller", "support": "moderator",
             "staff": "moderator"}
    assert role_of("customer", names) == "buyer"
    assert role_of(["newsletter", "merchant"], names) == "seller"
    assert role_of(["support", "staff"], names) == "moderator"  # both say the same
    assert role_of("analyst") == "analyst"  # no map: our names
    for claim in ("buyer", ["admin"], [], None, 7, [["customer"]]):
        with pytest.raises(TokenRefused, match="no known role"):
            role_of(claim, names)
    with pytest.raises(TokenRefused, match="several roles"):
        role_of(["customer", "merchant"], names)


# ---- settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"DISPUTEDESK_JWKS_URL": "http://id.shop.example/jwks"}, "https://"),
        ({"DISPUTEDESK_TOKEN_AUDIENCE": ""}, "DISPUTEDESK_TOKEN_AUDIENCE"),
        ({"DISPUTEDESK_JWKS_FILE": "missing.json"}, "DISPUTEDESK_JWKS_FILE"),
        ({"DISPUTEDESK_ROLE_MAP": "customer=admin"}, "DISPUTEDESK_ROLE_MAP"),
        ({"DISPUTEDESK_ROLE_MAP": "customer=buyer,customer=seller"}, "DISPUTEDESK_ROLE_MAP"),
        ({"DISPUTEDESK_TOKEN_LEEWAY_SECONDS": "1h"}, "at most 300s"),
        ({"DISPUTEDESK_TOKEN_MAX_LIFETIME": "forever"}, "DISPUTEDESK_TOKEN_MAX_LIFETIME"),
        ({"DISPUTEDESK_TOKEN_ALGORITHMS": "RS256,HS256"}, "public-key algorithms"),
        ({"DISPUTEDESK_ALLOW_DEV_TOKENS": "maybe"}, "DISPUTEDESK_ALLOW_DEV_TOKENS"),
    ],
)
def test_a_bad_identity_setting_is_one_line_and_exit_2(
    provider: JwksServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    setting: dict[str, str], says: str,
) -> None:
    env = {**env_for(provider, tmp_path), **setting}
    with pytest.raises(SettingsError, match=says):
        Settings.from_env(env, cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["token", "--role", "buyer", "--subject", "b-1"], env=env)
    assert result.exit_code == 2
    assert says in result.output and len(result.output.strip().splitlines()) == 1


def test_the_defaults() -> None:
    identity = Settings.from_env({}, cwd=Path("/tmp")).identity
    assert not identity.platform_tokens and identity.dev_tokens
    assert identity.leeway_seconds == 60 and identity.max_lifetime_seconds == 86400
    assert (identity.role_claim, identity.subject_claim) == ("role", "sub")


def test_the_token_command_says_the_api_refuses_its_tokens_in_jwks_mode(
    provider: JwksServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["token", "--role", "buyer", "--subject", "b-1"]
    result = CliRunner().invoke(cli, args, env=env_for(provider, tmp_path))
    assert result.exit_code == 0
    assert jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])["sub"] == "b-1"
    assert "DISPUTEDESK_ALLOW_DEV_TOKENS=1" in result.stderr
    allowed = env_for(provider, tmp_path, DISPUTEDESK_ALLOW_DEV_TOKENS="1")
    assert CliRunner().invoke(cli, args, env=allowed).stderr == ""
