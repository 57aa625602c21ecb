"""What a token's verified claims must say to name a caller: one of our roles and a subject.

Development tokens say our role names; a platform's tokens may say its own
(``DISPUTEDESK_ROLE_MAP``), as a string or a list of which exactly one role maps.
Either kind may say ``supervisor: true`` for a moderator who reads the access audit.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.dispute import ROLES, Actor

__all__ = [
    "MAX_SUBJECT_LENGTH", "SUPERVISOR_CLAIM", "IdentityUnavailable", "TokenRefused", "actor_of",
    "check_subject", "role_of", "subject_problem", "supervises",
]

#: The longest ``sub`` a token may carry.
MAX_SUBJECT_LENGTH = 128
#: The claim that makes a moderator a supervisor (``true``); absent or ``false``: not one.
SUPERVISOR_CLAIM = "supervisor"
#: The one role a token may name as a supervisor.
SUPERVISING_ROLE = "moderator"
#: Our roles under their own names: development tokens, and platforms that use them.
OUR_NAMES: Mapping[str, str] = {role: role for role in ROLES}


class TokenRefused(Exception):
    """A token that does not pass; the message says why."""


class IdentityUnavailable(TokenRefused):
    """The token cannot be checked now: the identity provider's keys could not be fetched."""


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


def role_of(claim: object, names: Mapping[str, str] = OUR_NAMES) -> str:
    """Our role for a role claim (a name, or a list of names of which one maps)."""
    said = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    roles = {names[name] for name in said if isinstance(name, str) and name in names}
    if len(roles) > 1:
        raise TokenRefused(f"the token names several roles ({', '.join(sorted(roles))}); "
                           "it must name one")
    if not roles:
        raise TokenRefused("the token names no known role")
    return roles.pop()


def supervises(role: str, claim: object) -> bool:
    """Whether a token of ``role`` whose ``supervisor`` claim is ``claim`` (None: absent)
    names a supervisor; TokenRefused for a claim that is not a boolean, or ``true`` on a
    role other than a moderator's."""
    if claim is None or claim is False:
        return False
    if claim is not True:
        raise TokenRefused(f"the token's {SUPERVISOR_CLAIM!r} claim must be true or false")
    if role != SUPERVISING_ROLE:
        raise TokenRefused(f"only a moderator's token may say {SUPERVISOR_CLAIM}: true; "
                           f"this one names a {role}")
    return True


def actor_of(role_claim: object, subject: object,
             names: Mapping[str, str] = OUR_NAMES, supervisor: object = None) -> Actor:
    """The caller named by a verified token's role, subject and supervisor claims
    (TokenRefused)."""
    role = role_of(role_claim, names)
    problem = subject_problem(subject)
    if problem is not None or not isinstance(subject, str):
        raise TokenRefused(f"the token's subject is not acceptable: {problem}")
    return Actor(role, subject, supervises(role, supervisor))
