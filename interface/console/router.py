"""The moderator console under ``/console``: server-rendered pages, no build step and
nothing from another origin (its script and styles are served here).

The console has its own sign-in (a session cookie, not the API's bearer header)
and CSRF protection, both scoped to this router; the API's routes are untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ExceptionHandlersMap

from application.disputes import Forbidden
from application.projections.errors import ReadModelBehind, ReadModelUnavailable, StoreUnavailable
from application.projections.queries import ReadModelQueries
from domain.dispute import Actor
from domain.errors import DomainError
from interface.console import session
from interface.console.case_pages import CasePages
from interface.console.live import LivePages
from interface.console.pages import QueuePage, SellerPages, SignInPages, SimulationPages
from interface.console.rendering import error_text, page
from interface.http.auth import PUBLIC, TokenVerifier
from interface.http.errors import domain_status
from interface.report_html import STYLE as REPORT_STYLE

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Pages run no script but the console's own, load nothing from elsewhere, and are
#: never framed or cached.
HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Cache-Control", value="no-store"),
]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


def _sign_in_first(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or "/live/" in target:
        target = "/console"
    return Redirect(path=f"/console/sign-in?next={quote(target, safe='')}", status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, text: str) -> Template:
    actor = request.scope.get("user")
    return page(request, "error.html", actor if isinstance(actor, Actor) else None,
                status=status, message=text)


def _not_for_role(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    return _error_page(request, 403, f"Not allowed: {error}")


def _domain_error(request: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    return _error_page(request, domain_status(error), error_text(error))


def _read_models_down(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    return _error_page(request, 503, "The lists are catching up or unavailable; "
                       "reload in a moment.")


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if error.status_code == 403 and "CSRF" in str(error.detail):
        return _error_page(request, 403, "This form is out of date or did not come from the "
                           "console (CSRF check failed). Reload the page and send it again.")
    return _error_page(request, error.status_code, str(error.detail))


HANDLERS: ExceptionHandlersMap = {
    session.SignInRequired: _sign_in_first,
    session.NotForThisRole: _not_for_role,
    Forbidden: _not_for_role,
    ReadModelBehind: _read_models_down,
    ReadModelUnavailable: _read_models_down,
    StoreUnavailable: _read_models_down,
    DomainError: _domain_error,
    HTTPException: _http_error,
}


@get("/report.css", media_type="text/css", include_in_schema=False)
async def report_css() -> str:
    """The simulation report's styles (the CLI's report inlines the same)."""
    return REPORT_STYLE


def console_router(secret: str, verifier: TokenVerifier, queries: Any, *,
                   secure_cookies: bool = False) -> Router:
    """``secret`` keys the cookies; ``verifier`` checks the signed-in token, as the API's
    does; ``queries``: a callable giving the read-model queries (opened on first use)."""

    def provide_user(request: Request[Any, Any, Any]) -> Actor:
        actor = session.signed_in(request, verifier)
        request.scope["user"] = actor  # the caller, as the API's auth leaves it (access log)
        return actor

    def provide_queries() -> ReadModelQueries:
        result: ReadModelQueries = queries()
        return result

    return Router(
        path="/console",
        route_handlers=[
            SignInPages, QueuePage, CasePages, SellerPages, SimulationPages, LivePages,
            report_css,
            create_static_files_router(path="/static", directories=[STATIC],
                                       include_in_schema=False, opt={PUBLIC: True}),
        ],
        dependencies={
            # a check may fetch the identity provider's keys: off the event loop
            "user": Provide(provide_user, sync_to_thread=bool(verifier.keys)),
            "queries": Provide(provide_queries, sync_to_thread=False),
            "console": Provide(lambda: verifier, sync_to_thread=False),
        },
        middleware=[session.session_middleware(secret, secure=secure_cookies),
                    session.csrf_middleware(secret, secure=secure_cookies)],
        exception_handlers=HANDLERS,
        response_headers=HEADERS,
        opt={PUBLIC: True},  # the API's bearer check does not apply: the session does
        include_in_schema=False,
    )
