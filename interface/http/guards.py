"""Role checks, all built from the one access table (``domain.dispute.access``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from application.access import refusal, refusal_of
from domain.dispute import Actor
from domain.dispute.access import ACCESS, COMMAND_ROLES


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    user = connection.scope.get("user")
    if not isinstance(user, Actor):
        raise NotAuthorizedException("send Authorization: Bearer <token>")
    return user


def roles_for(command: str) -> list[str]:
    return sorted(COMMAND_ROLES[command])


def requires(
    command: str, *, when: Callable[[ASGIConnection[Any, Any, Any, Any]], bool] | None = None
) -> Guard:
    """A guard admitting the roles that may run ``command`` (only ``when`` it applies),
    as supervisors where the access table asks for one."""
    roles = COMMAND_ROLES[command]
    supervisors_only = ACCESS[command].supervisors_only

    # Async on purpose: Litestar runs sync guards in a worker thread, a costly hop per request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if when is not None and not when(connection):
            return
        actor = actor_of(connection)
        if actor.role not in roles:
            raise PermissionDeniedException(refusal(actor.role, command, roles))
        if supervisors_only and (reason := refusal_of(actor, command)) is not None:
            raise PermissionDeniedException(reason)

    guard.__name__ = f"requires_{command}"
    return guard


def all_of(*guards: Guard) -> Guard:
    """One guard running ``guards`` in order.

    Litestar copies the route handler once per guard and request; one guard per
    route keeps that to a single copy.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
                    ) -> None:
        for each in guards:
            await each(connection, handler)  # type: ignore[misc]

    guard.__name__ = "_and_".join(getattr(each, "__name__", "guard") for each in guards)
    return guard


def roles_note(command: str) -> str:
    """A line for a route's OpenAPI description."""
    only = " (supervisors only)" if ACCESS[command].supervisors_only else ""
    return f"Roles: {', '.join(roles_for(command))}{only}."
