"""The one check of a bearer token, for the API and the console alike.

Two kinds pass. Development tokens: HS256, signed with ``DISPUTEDESK_SECRET``
(``disputedesk token``), our claim names. Platform tokens: signed by the
platform's identity provider with a key of its JWKS (by the header's ``kid``),
with the configured ``iss`` and ``aud``, ``exp`` and ``iat`` within the allowed
lifetime, and its own claim and role names. Either kind makes a moderator a
supervisor with ``supervisor: true`` (the access audit). With a JWKS,
development tokens pass only when ``DISPUTEDESK_ALLOW_DEV_TOKENS=1``. The
header's ``alg`` only routes the token: each kind accepts its fixed algorithms
(HS256; the settings' algorithms that the key itself is for), so no key is ever
used with another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

from domain.dispute import Actor
from infrastructure.identity_settings import IdentitySettings
from infrastructure.token_keys import (
    KeysUnavailable,
    TokenKeys,
    UnknownKey,
    fetch_url,
    read_file,
)
from interface.http.token_claims import (
    OUR_NAMES,
    SUPERVISOR_CLAIM,
    IdentityUnavailable,
    TokenRefused,
    actor_of,
)

__all__ = ["DEV_ALGORITHM", "TokenVerifier", "Verified"]

DEV_ALGORITHM = "HS256"
_DEV_CLAIMS = ["exp", "iat", "sub", "role"]
_MALFORMED = "the token is malformed or its signature is wrong"
_EXPIRED = "the token expired; get a new one"


@dataclass(frozen=True)
class Verified:
    """A token that passed: who it names, until when, and from which key set (0: the secret)."""

    actor: Actor
    expires_at: datetime
    key_version: int = 0


@dataclass(frozen=True, eq=False)
class TokenVerifier:
    """Checks tokens against the development secret and, when configured, a platform's keys."""

    secret: str
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    keys: TokenKeys | None = None

    @classmethod
    def build(cls, secret: str, identity: IdentitySettings) -> TokenVerifier:
        keys = None
        if identity.jwks_url is not None:
            keys = TokenKeys(fetch_url(identity.jwks_url), source=identity.jwks_url)
        elif identity.jwks_file is not None:
            keys = TokenKeys(read_file(identity.jwks_file), source=str(identity.jwks_file))
        return cls(secret, identity, keys)

    def actor(self, token: str) -> Actor:
        """The caller ``token`` names (TokenRefused saying why not)."""
        return self.verify(token).actor

    def verify(self, token: str) -> Verified:
        """The checked token (TokenRefused; IdentityUnavailable when its keys cannot be had)."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise TokenRefused(_MALFORMED) from None
        if self.keys is None or algorithm == DEV_ALGORITHM:
            if not self.identity.dev_tokens:
                raise TokenRefused(
                    "development tokens (HS256) are not accepted here; use a token of the "
                    "platform's identity provider"
                )
            return self._development(token)
        return self._platform(token, self.keys)

    def still_good(self, verified: Verified) -> bool:
        """A cached ``verified`` may be used again: unexpired, its key set unchanged."""
        if verified.expires_at <= datetime.now(UTC):
            return False
        if verified.key_version == 0:
            return True
        held = self.keys.fresh() if self.keys is not None else None
        return held is not None and held.version == verified.key_version

    def _development(self, token: str) -> Verified:
        try:
            claims = jwt.decode(token, self.secret, algorithms=[DEV_ALGORITHM],
                                options={"require": _DEV_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise TokenRefused(_EXPIRED) from None
        except jwt.InvalidTokenError:
            raise TokenRefused(_MALFORMED) from None
        actor = actor_of(claims.get("role"), claims.get("sub"),
                         supervisor=claims.get(SUPERVISOR_CLAIM))
        return Verified(actor, _instant(claims["exp"]))

    def _platform(self, token: str, keys: TokenKeys) -> Verified:
        settings = self.identity
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key (no kid in its header)")
        try:
            key, version = keys.key(kid)
        except UnknownKey:
            raise TokenRefused(
                f"the token's signing key {kid[:64]!r} is not among the identity provider's keys"
            ) from None
        except KeysUnavailable:
            raise IdentityUnavailable(
                "the token cannot be checked now: the identity provider's keys are "
                "unavailable; try again shortly"
            ) from None
        if key.algorithm_name not in settings.algorithms:
            raise TokenRefused(f"the token's signing key is for {key.algorithm_name}, "
                               "which is not accepted")
        claims = _platform_claims(token, key, settings)
        lifetime = int(claims["exp"]) - int(claims["iat"])  # numbers: PyJWT checked them
        if lifetime > settings.max_lifetime_seconds:
            raise TokenRefused(
                f"the token lives {lifetime}s from iat to exp, longer than the "
                f"{settings.max_lifetime_seconds}s allowed; get a shorter-lived one"
            )
        names: Mapping[str, str] = dict(settings.role_map) or OUR_NAMES
        actor = actor_of(claims.get(settings.role_claim), claims.get(settings.subject_claim),
                         names, claims.get(SUPERVISOR_CLAIM))
        return Verified(actor, _instant(claims["exp"]), version)


def _platform_claims(token: str, key: jwt.PyJWK, settings: IdentitySettings) -> dict[str, Any]:
    required = ["exp", "iat", "iss", "aud", settings.role_claim, settings.subject_claim]
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[key.algorithm_name], issuer=settings.issuer,
            audience=settings.audience, leeway=settings.leeway_seconds,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused(_EXPIRED) from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused("the token is not valid yet (iat or nbf is in the future)") from None
    except jwt.InvalidIssuerError:
        raise TokenRefused("the token was issued by another issuer (iss)") from None
    except jwt.InvalidAudienceError:
        raise TokenRefused("the token is meant for another audience (aud)") from None
    except jwt.MissingRequiredClaimError as missing:
        raise TokenRefused(f"the token has no {missing.claim!r} claim") from None
    except jwt.InvalidAlgorithmError:
        raise TokenRefused("the token's algorithm is not its key's") from None
    except jwt.InvalidTokenError:
        raise TokenRefused(_MALFORMED) from None
    return claims


def _instant(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
