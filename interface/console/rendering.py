"""Rendering a console page: the layout's context (who is signed in, what they may
open, the messages left by the last form) and redirects after a form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.response import Redirect, Template

from domain.dispute import Actor
from domain.dispute.access import may
from domain.errors import DomainError
from interface.console.forms import new_form_key
from interface.http.errors import domain_status

#: The console's sections, each shown to the roles the access table lets run its action.
SECTIONS = (
    ("Queue", "/console/queue", "moderation_queue"),
    ("Sellers", "/console/sellers", "sellers"),
    ("Simulations", "/console/simulations", "simulate"),
)
_FLASH = "flash"


def nav_for(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    return [(name, href) for name, href, action in SECTIONS if may(actor.role, action)]


def home_for(actor: Actor) -> str:
    return nav_for(actor)[0][1]


def flash(request: Request[Any, Any, Any], kind: str, text: str) -> None:
    """Leave a message for the next page this browser opens (``ok`` or ``error``)."""
    session = dict(request.session) if isinstance(request.scope.get("session"), dict) else {}
    session[_FLASH] = [*session.get(_FLASH, []), {"kind": kind, "text": text}]
    request.set_session(session)


def take_flash(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    session = request.scope.get("session")
    if not isinstance(session, dict) or _FLASH not in session:
        return []
    messages = list(session.get(_FLASH) or [])
    request.set_session({k: v for k, v in session.items() if k != _FLASH})
    return messages


def error_text(error: DomainError) -> str:
    """An application error in words, as the API's problem detail says it."""
    status = domain_status(error)
    prefix = {403: "Not allowed", 404: "Not found", 409: "Not now", 412: "Changed meanwhile",
              413: "Too large", 503: "Busy"}.get(status, "Not accepted")
    field = f" ({error.field.replace('_', ' ')})" if error.field else ""
    return f"{prefix}{field}: {error.detail}"


def page(
    request: Request[Any, Any, Any],
    template: str,
    actor: Actor | None,
    *,
    status: int = 200,
    **context: Any,
) -> Template:
    return Template(
        template_name=template,
        status_code=status,
        context={
            "user": actor,
            "nav": nav_for(actor),
            "flash": take_flash(request),
            "form_key": new_form_key,
            "path": request.url.path,
            **context,
        },
    )


def back_to(path: str, **query: str | None) -> Redirect:
    """A redirect after a form (303: the browser then GETs ``path``)."""
    kept = {k: v for k, v in query.items() if v}
    return Redirect(path=path + (f"?{urlencode(kept)}" if kept else ""), status_code=303)


def safe_next(value: str | None) -> str | None:
    """Only a console path may be where sign-in sends the browser next."""
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return None
