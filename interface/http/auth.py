"""Bearer tokens: HS256 JWTs with ``role``, ``sub``, ``iat`` and ``exp`` claims.

Tokens are made by :func:`issue_token` (``disputedesk token``) and checked by
Litestar's JWT middleware. The signing key is ``DISPUTEDESK_SECRET``; without
it, a random development key is kept in ``<var_dir>/dev-secret`` (the directory
0700, the file 0600). A token's ``sub`` becomes the caller's id: it must pass
:func:`check_subject`, when the token is made and again on every request.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from domain.dispute import ROLES, Actor
from infrastructure.logging import get_logger
from infrastructure.private_files import private_directory
from infrastructure.settings import Settings
from interface.http.asgi import header_value

ALGORITHM = "HS256"
DEFAULT_TTL = timedelta(hours=12)
SECURITY_SCHEME = "BearerToken"
#: Routes with this ``opt`` key set need no token (health, the OpenAPI pages).
PUBLIC = "exclude_from_auth"
DEV_SECRET_FILE = "dev-secret"
#: The longest ``sub`` a token may carry.
MAX_SUBJECT_LENGTH = 128

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


def subject_problem(subject: object) -> str | None:
    """Why ``subject`` cannot be a token's ``sub`` (None if it can)."""
    if not isinstance(subject, str):
        return f"the subject must be a string, not {type(subject).__name__}"
    if not subject.strip():
        return "the subject must not be blank"
    if len(subject) > MAX_SUBJECT_LENGTH:
        return f"the subject must be at most {MAX_SUBJECT_LENGTH} characters, not {len(subject)}"
    if not subject.isprintable():
        return "the subject must contain only printable characters (no control characters)"
    if subject != subject.strip():
        return "the subject must not begin or end with spaces"
    return None


def check_subject(subject: str) -> str:
    """``subject`` if it can be a token's ``sub``; ValueError saying why not."""
    problem = subject_problem(subject)
    if problem is not None:
        raise ValueError(problem)
    return subject


def issue_token(
    secret: str,
    role: str,
    subject: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    subject = check_subject(subject.strip())
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "sub": subject,
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


class TokenRefused(Exception):
    """A token that does not pass; the message says why."""


def actor_from_token(secret: str, token: str) -> Actor:
    """The caller a token names, checked as the API's middleware checks it (signature,
    ``exp``, the required claims, role and subject); TokenRefused saying why not.
    For callers that hold a token outside the ``Authorization`` header (the console)."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the token expired; get a new one") from None
    except jwt.InvalidTokenError:
        raise TokenRefused("the token is malformed or its signature is wrong") from None
    return _actor(claims.get("role"), claims.get("sub"))


def _actor(role: object, subject: object) -> Actor:
    if not isinstance(role, str) or role not in ROLES:
        raise TokenRefused("the token names no known role")
    problem = subject_problem(subject)
    if problem is not None or not isinstance(subject, str):
        raise TokenRefused(f"the token's subject is not acceptable: {problem}")
    return Actor(role, subject)


class _Token(Token):
    @classmethod
    def decode_payload(
        cls,
        encoded_token: str,
        secret: str,
        algorithms: list[str],
        issuer: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        options: Any = None,
    ) -> Any:
        try:
            return super().decode_payload(
                encoded_token, secret, algorithms, issuer, audience, options
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthorizedException("the token expired; get a new one") from None
        except jwt.InvalidTokenError:
            raise NotAuthorizedException(
                "the token is malformed or its signature is wrong"
            ) from None


_VERIFIED_MAX = 4096
#: Tokens whose signature and claims were checked, keyed by (secret, token); expiry is
#: re-checked on every use. Verifying an HS256 JWT costs more than the rest of auth.
_verified: dict[tuple[str, str], AuthenticationResult] = {}


class _BearerMiddleware(JWTAuthenticationMiddleware):
    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        key = (self.token_secret, encoded_token)
        known = _verified.get(key)
        if known is not None:
            if known.auth.exp > datetime.now(UTC):
                return known
            _verified.pop(key, None)
            raise NotAuthorizedException("the token expired; get a new one")
        result = await super().authenticate_token(encoded_token, connection)
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


async def _principal(token: Token, _connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    try:
        return _actor(token.extras.get("role"), token.sub)
    except TokenRefused as refused:
        raise NotAuthorizedException(str(refused)) from None


@dataclass(frozen=True)
class Auth:
    """The JWT configuration of one app."""

    jwt: JWTAuth[Actor, Token]

    @classmethod
    def build(cls, secret: str) -> Auth:
        config: JWTAuth[Actor, Token] = JWTAuth(
            token_secret=secret,
            retrieve_user_handler=_principal,
            algorithm=ALGORITHM,
            exclude_opt_key=PUBLIC,
            exclude_http_methods=["OPTIONS"],
            exclude=["^/schema"],
            openapi_security_scheme_name=SECURITY_SCHEME,
            description=(
                "An HS256 JWT with claims `role` (buyer, seller, moderator, analyst, platform), "
                "`sub` (the buyer's, seller's or staff member's id), `iat` and `exp`. "
                "Get one with `disputedesk token --role ROLE --subject ID`."
            ),
            authentication_middleware_class=_BearerMiddleware,
            token_cls=_Token,
            require_claims=["exp", "iat", "sub", "role"],
        )
        return cls(config)
