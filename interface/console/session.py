"""Who is signed in to the console: a pasted API token kept in an encrypted session cookie.

The cookie (Litestar's client-side session: AES-GCM, ``HttpOnly``,
``SameSite=Strict``, path ``/console``) holds the token itself, so every page
checks it again exactly as the API would: an expired token signs the moderator
out, and a buyer's or seller's token never gets a session; the check is the API's
own :class:`TokenVerifier` (development and platform tokens). Forms carry a CSRF
token (Litestar's double-submit middleware). Both keys are derived from the
API's signing key, so every worker and host that shares it shares sessions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.dispute import Actor
from domain.dispute.access import may
from interface.http.auth import TokenRefused, TokenVerifier

PREFIX = "/console"
SESSION_COOKIE = "dd_console"
CSRF_COOKIE = "dd_console_csrf"
#: A session lasts at most this long; the token's own expiry ends it sooner.
SESSION_SECONDS = 12 * 3600
#: The console's entry points: a role that may run neither never gets a session.
ENTRY_ACTIONS = ("moderation_queue", "simulate")


class SignInRequired(Exception):
    """No session, or its token no longer passes: go to the sign-in page."""


class NotForThisRole(Exception):
    """Signed in, but this page is not for the caller's role."""


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"disputedesk/console/{purpose}\0{secret}".encode()).digest()


def session_middleware(secret: str, *, secure: bool) -> DefineMiddleware:
    return DefineMiddleware(_SessionCookie, key=_key(secret, "session"), secure=secure)


class _SessionCookie:
    """Litestar's session middleware, built when the app is: a router's middleware is
    copied as it is registered, and the cipher inside the session backend cannot be."""

    def __init__(self, app: ASGIApp, *, key: bytes, secure: bool) -> None:
        config = CookieBackendConfig(
            secret=key,
            key=SESSION_COOKIE,
            max_age=SESSION_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=secure,
        )
        self._app = config.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def csrf_middleware(secret: str, *, secure: bool) -> DefineMiddleware:
    config = CSRFConfig(
        secret=_key(secret, "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_path=PREFIX,
        cookie_httponly=True,
        cookie_samesite="strict",
        cookie_secure=secure,
    )
    return DefineMiddleware(CSRFMiddleware, config=config)


def may_enter(role: str) -> bool:
    return any(may(role, action) for action in ENTRY_ACTIONS)


def sign_in(request: Request[Any, Any, Any], verifier: TokenVerifier, token: str) -> Actor:
    """Check ``token`` as the API would and keep it in the session (TokenRefused,
    NotForThisRole)."""
    actor = verifier.actor(token.strip())
    if not may_enter(actor.role):
        raise NotForThisRole(
            f"the console is for moderators and analysts; this token is a {actor.role}'s"
        )
    request.set_session({"token": token.strip()})
    return actor


def signed_in(request: Request[Any, Any, Any], verifier: TokenVerifier) -> Actor:
    """The caller, from the session's token (SignInRequired when there is none or it
    no longer passes: the session is cleared)."""
    session = request.session if "session" in request.scope else {}
    token = session.get("token") if isinstance(session, dict) else None
    if not isinstance(token, str):
        raise SignInRequired("sign in to continue")
    try:
        actor = verifier.actor(token)
    except TokenRefused as refused:
        request.clear_session()
        raise SignInRequired(f"signed out: {refused}") from None
    if not may_enter(actor.role):
        request.clear_session()
        raise SignInRequired("this token's role has no console")
    return actor


def require(actor: Actor, action: str) -> None:
    """The access table's word on ``action`` for the caller (NotForThisRole)."""
    if not may(actor.role, action):
        raise NotForThisRole(f"a {actor.role} cannot use this page")
