"""Bearer tokens: development HS256 JWTs with ``role``, ``sub``, ``iat`` and ``exp``
claims, and the platform identity provider's tokens (:mod:`interface.http.identity`).

Development tokens are made by :func:`issue_token` (``disputedesk token``). Every
token is checked by the app's :class:`TokenVerifier` in Litestar's JWT middleware
(and by the console's sign-in). The signing key is ``DISPUTEDESK_SECRET``; without
it, a random development key is kept in ``<var_dir>/dev-secret`` (the directory
0700, the file 0600). A token's ``sub`` becomes the caller's id: it must pass
:func:`check_subject`, when the token is made and again on every request.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from domain.dispute import ROLES, Actor
from infrastructure.identity_settings import IdentitySettings
from infrastructure.logging import get_logger
from infrastructure.private_files import private_directory
from infrastructure.settings import Settings
from interface.http.asgi import header_value
from interface.http.identity import DEV_ALGORITHM as ALGORITHM
from interface.http.identity import TokenVerifier
from interface.http.token_claims import (
    MAX_SUBJECT_LENGTH,
    SUPERVISOR_CLAIM,
    IdentityUnavailable,
    TokenRefused,
    check_subject,
    subject_problem,
)

__all__ = [
    "ALGORITHM", "DEFAULT_TTL", "MAX_SUBJECT_LENGTH", "PUBLIC", "Auth", "SecretError",
    "TokenRefused", "TokenVerifier", "actor_from_token", "check_subject", "issue_token",
    "resolve_secret", "subject_problem",
]

DEFAULT_TTL = timedelta(hours=12)
SECURITY_SCHEME = "BearerToken"
#: Routes with this ``opt`` key set need no token (health, the OpenAPI pages).
PUBLIC = "exclude_from_auth"
DEV_SECRET_FILE = "dev-secret"

log = get_logger("disputedesk.auth")


class SecretError(RuntimeError):
    pass


def resolve_secret(settings: Settings) -> str:
    """The signing key: the configured one, else the development key (made on first use)."""
    if settings.secret:
        return settings.secret
    path = settings.var_dir / DEV_SECRET_FILE
    secret = _read_or_create(path)
    if path not in _warned:  # once per process: serve and its app both ask
        _warned.add(path)
        log.warning(
            "auth.development_secret",
            path=str(path),
            detail="DISPUTEDESK_SECRET is unset: tokens are signed with a development key; "
            "set DISPUTEDESK_SECRET in production",
        )
    return secret


_warned: set[Path] = set()


def _read_or_create(path: Path) -> str:
    try:
        private_directory(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_text("utf-8").strip()
            if not secret:
                raise SecretError(
                    f"{path} is empty; delete it to make a new development key"
                ) from None
            return secret
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            secret = secrets.token_urlsafe(48)
            handle.write(secret + "\n")
        return secret
    except OSError as error:
        raise SecretError(f"cannot keep the development key in {path}: {error}") from None


def issue_token(
    secret: str,
    role: str,
    subject: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
    supervisor: bool = False,
) -> str:
    """A development token; ``supervisor``: a supervising moderator's (moderators only)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if supervisor and role != "moderator":
        raise ValueError(f"only a moderator can be a supervisor, not a {role}")
    subject = check_subject(subject.strip())
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "sub": subject,
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
        **({SUPERVISOR_CLAIM: True} if supervisor else {}),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def actor_from_token(secret: str, token: str) -> Actor:
    """The caller a development token names, checked as the API checks one; TokenRefused
    saying why not. (The API and the console ask their app's :class:`TokenVerifier`.)"""
    return TokenVerifier(secret).actor(token)


_VERIFIED_MAX = 4096
#: Tokens that passed, keyed by (verifier, token); each use asks the verifier whether the
#: result still holds (unexpired, its key set unchanged). Verifying costs more than the rest.
_verified: dict[tuple[TokenVerifier, str], AuthenticationResult] = {}


class _BearerMiddleware(JWTAuthenticationMiddleware):
    def __init__(self, *args: Any, verifier: TokenVerifier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verifier = verifier

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        verifier = self.verifier
        key = (verifier, encoded_token)
        known = _verified.get(key)
        if known is not None:
            if verifier.still_good(known.auth):
                return known
            _verified.pop(key, None)
        try:
            if verifier.keys is None:
                verified = verifier.verify(encoded_token)
            else:  # may fetch the provider's keys: off the event loop
                verified = await to_thread.run_sync(verifier.verify, encoded_token)
        except IdentityUnavailable as unavailable:
            raise ServiceUnavailableException(str(unavailable)) from None
        except TokenRefused as refused:
            raise NotAuthorizedException(str(refused)) from None
        result = AuthenticationResult(user=verified.actor, auth=verified)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = result
        return result

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = header_value(connection.scope, self.auth_header.lower().encode("latin-1"))
        if not header:
            raise NotAuthorizedException("send Authorization: Bearer <token>")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("use the Bearer scheme: Authorization: Bearer <token>")
        return await self.authenticate_token(encoded_token=token.strip(), connection=connection)


async def _unused(_token: Token, _connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    raise NotAuthorizedException()  # pragma: no cover - the middleware never asks


@dataclass
class _VerifierAuth(JWTAuth[Actor, Token]):
    """Litestar's JWT configuration (exclusions, OpenAPI), its middleware given the verifier."""

    verifier: TokenVerifier | None = None

    @property
    def middleware(self) -> DefineMiddleware:
        base = super().middleware
        return DefineMiddleware(base.middleware, *base.args, verifier=self.verifier,
                                **base.kwargs)


@dataclass(frozen=True)
class Auth:
    """The JWT configuration of one app."""

    jwt: JWTAuth[Actor, Token]
    #: The one check of a token; the console asks it too.
    verifier: TokenVerifier

    @classmethod
    def build(cls, secret: str, identity: IdentitySettings | None = None) -> Auth:
        verifier = TokenVerifier.build(secret, identity or IdentitySettings())
        config = _VerifierAuth(
            token_secret=secret,
            retrieve_user_handler=_unused,
            algorithm=ALGORITHM,
            exclude_opt_key=PUBLIC,
            exclude_http_methods=["OPTIONS"],
            exclude=["^/schema"],
            openapi_security_scheme_name=SECURITY_SCHEME,
            description=_description(verifier.identity),
            authentication_middleware_class=_BearerMiddleware,
            verifier=verifier,
        )
        return cls(config, verifier)


def _description(identity: IdentitySettings) -> str:
    dev = (
        "An HS256 JWT with claims `role` (buyer, seller, moderator, analyst, platform), "
        "`sub` (the buyer's, seller's or staff member's id), `iat` and `exp`, and for a "
        "supervising moderator `supervisor: true`. "
        "Get one with `disputedesk token --role ROLE --subject ID [--supervisor]`."
    )
    if not identity.platform_tokens:
        return dev
    platform = (
        f"A JWT of the platform's identity provider ({', '.join(identity.algorithms)}, "
        f"by the `kid` of its keys) with `iss`, `aud`, `iat`, `exp`, the role in "
        f"`{identity.role_claim}`, the caller's id in `{identity.subject_claim}` and, for a "
        f"supervising moderator, `{SUPERVISOR_CLAIM}: true`."
    )
    return f"{platform} Or: {dev}" if identity.allow_dev_tokens else platform
