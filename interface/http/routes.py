"""Route decorators: Litestar's, minus a copy of the route handler per guard call.

On every request Litestar hands each guard a fresh copy of the route handler,
so that a guard cannot change it. Our guards read the connection only, and the
copy cost more than the guard: a case read served from memory answered 5 to 15%
more requests without it (``docs/decisions.md``, "Serving").
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler

__all__ = ["delete", "get", "post"]


class GuardedRoute(HTTPRouteHandler):
    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]


def get(path: str | None = None, **options: Any) -> GuardedRoute:
    return GuardedRoute(path, http_method=HttpMethod.GET, **options)


def post(path: str | None = None, **options: Any) -> GuardedRoute:
    return GuardedRoute(path, http_method=HttpMethod.POST, **options)


def delete(path: str | None = None, **options: Any) -> GuardedRoute:
    return GuardedRoute(path, http_method=HttpMethod.DELETE, **options)
