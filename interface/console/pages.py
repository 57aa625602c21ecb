"""The console's pages other than a case: sign in and out, the queue, sellers, and
the analysts' simulation. Each reads through the same application and read-model
queries as the API; this module only translates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from application.disputes import DisputeDesk
from application.projections.queries import ReadModelQueries, check_after
from application.simulator import build_request, run_simulation
from domain.dispute import Actor
from domain.dispute.access import may
from domain.dispute.vocabulary import INTERVENTION_REASONS
from domain.errors import DomainError, InvalidInput
from domain.policy import PolicyError
from infrastructure.history_reader import history_reader_for
from interface import policy_text
from interface.console import session
from interface.console.rendering import home_for, page, safe_next
from interface.http.auth import TokenRefused, TokenVerifier
from interface.http.pagination import decode_cursor, encode_cursor
from interface.report_html import report_body, report_title

#: The queue's claim filter, as the form offers it.
CLAIM_FILTERS = (("", "anyone's or no one's"), ("mine", "claimed by me"),
                 ("unclaimed", "unclaimed"), ("others", "claimed by others"))
PAGE_SIZE = 25


def _href(path: str, query: dict[str, str | None]) -> str:
    kept = {key: value for key, value in query.items() if value}
    return path + (f"?{urlencode(kept)}" if kept else "")


def _cursor(value: str | None) -> object:
    try:
        return check_after(decode_cursor(value))
    except InvalidInput:
        raise InvalidInput("that page link is out of date; start from the first page",
                           field="after") from None


class SignInPages(Controller):
    path = ""

    @get("/sign-in", name="console:sign-in")
    async def sign_in_form(self, request: Request[Any, Any, Any],
                           next: FromQuery[str | None] = None) -> Template:
        return page(request, "sign_in.html", None, next=safe_next(next), error=None)

    @post("/sign-in")
    async def sign_in(self, request: Request[Any, Any, Any],
                      console: NamedDependency[TokenVerifier]) -> Template | Redirect:
        form = await request.form()
        token, target = str(form.get("token", "")), safe_next(str(form.get("next", "")))
        try:
            # the check may fetch the identity provider's keys: off the event loop
            actor = await sync_to_thread(session.sign_in, request, console, token)
        except (TokenRefused, session.NotForThisRole) as refused:
            status = 403 if isinstance(refused, session.NotForThisRole) else 401
            return page(request, "sign_in.html", None, status=status, next=target,
                        error=f"Not signed in: {refused}")
        return Redirect(path=target or home_for(actor), status_code=303)

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect(path="/console/sign-in", status_code=303)

    @get("/")
    async def home(self, user: NamedDependency[Actor]) -> Redirect:
        return Redirect(path=home_for(user), status_code=303)


class QueuePage(Controller):
    path = "/queue"

    @get("/", sync_to_thread=True)
    def queue(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[Actor],
        desk: NamedDependency[DisputeDesk],
        queries: NamedDependency[ReadModelQueries],
        region: FromQuery[str | None] = None,
        reason: FromQuery[str | None] = None,
        min_age_hours: FromQuery[str | None] = None,
        claim: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None,
        min_position: FromQuery[int | None] = None,
    ) -> Template:
        """``min_position``: read once the queue has caught up with the log that far (a
        live page asks so after each change)."""
        session.require(user, "moderation_queue")
        filters = {"region": region or None, "reason": reason or None,
                   "min_age_hours": min_age_hours or None, "claim": claim or None}
        try:
            age = float(min_age_hours) if min_age_hours else None
        except ValueError:
            raise InvalidInput("waiting at least: a number of hours", field="min_age_hours"
                               ) from None
        kwargs: dict[str, Any] = {"region": filters["region"], "reason": filters["reason"],
                                  "min_age_hours": age}
        if claim:
            kwargs["claim"] = claim
        result = queries.moderation_queue(user, limit=PAGE_SIZE, after=_cursor(after),
                                          min_position=min_position, **kwargs)
        next_after = result["next_after"]
        return page(
            request, "queue.html", user,
            rows=result["data"], counts=result.get("counts"), filters=filters,
            first_href=_href("/console/queue", filters) if after else None,
            next_href=None if next_after is None else _href(
                "/console/queue", {**filters, "after": encode_cursor(next_after)}),
            regions=sorted(desk.current_policy().regions), reasons=INTERVENTION_REASONS,
            claim_filters=CLAIM_FILTERS, live="/console/live/queue",
        )


class SellerPages(Controller):
    path = "/sellers"

    @get("/", sync_to_thread=True)
    def search(self, request: Request[Any, Any, Any], user: NamedDependency[Actor],
               queries: NamedDependency[ReadModelQueries], q: FromQuery[str | None] = None,
               after: FromQuery[str | None] = None) -> Template:
        session.require(user, "sellers")
        result = queries.sellers(user, q=q or None, limit=PAGE_SIZE,
                                 after=decode_cursor(after))
        next_after = result["next_after"]
        return page(request, "sellers.html", user, rows=result["data"], q=q or "",
                    next_href=None if next_after is None else _href(
                        "/console/sellers", {"q": q, "after": encode_cursor(next_after)}))

    @get("/{seller_id:str}", sync_to_thread=True)
    def seller(self, request: Request[Any, Any, Any], user: NamedDependency[Actor],
               queries: NamedDependency[ReadModelQueries], seller_id: FromPath[str],
               after: FromQuery[str | None] = None) -> Template:
        session.require(user, "sellers")
        detail = queries.seller(user, seller_id)
        disputes = None
        if may(user.role, "list_disputes"):
            disputes = queries.disputes(user, seller_id=seller_id, limit=PAGE_SIZE,
                                        after=_cursor(after))
        next_after = disputes["next_after"] if disputes else None
        return page(request, "seller.html", user, seller=detail,
                    disputes=disputes["data"] if disputes else None,
                    next_href=None if next_after is None else _href(
                        f"/console/sellers/{seller_id}", {"after": encode_cursor(next_after)}))


class SimulationPages(Controller):
    path = "/simulations"

    @get("/")
    async def form(self, request: Request[Any, Any, Any], user: NamedDependency[Actor]
                   ) -> Template:
        session.require(user, "simulate")
        return page(request, "simulate.html", user, problems=[], changes="", as_of="")

    @post("/")
    async def simulate(self, request: Request[Any, Any, Any], user: NamedDependency[Actor],
                       desk: NamedDependency[DisputeDesk]) -> Template | Redirect:
        session.require(user, "simulate")
        form = await request.form()
        changes_text = str(form.get("changes", ""))
        as_of_text = str(form.get("as_of", "")).strip()
        upload = form.get("policy_file")
        try:
            changes, policy = None, None
            if isinstance(upload, UploadFile) and upload.filename:
                raw = await upload.read()
                policy = policy_text.parse_policy_document(
                    raw.decode("utf-8", errors="replace"),
                    is_json=upload.filename.lower().endswith(".json"))
            elif changes_text.strip():
                changes = policy_text.parse_assignments(changes_text.splitlines())
            else:
                raise ValueError("give --set lines or a policy file")
            report = await sync_to_thread(_simulate, desk, policy, changes, as_of_text)
        except PolicyError as error:
            problems = [str(problem) for problem in getattr(error, "problems", [error])]
            return page(request, "simulate.html", user, status=422, problems=problems,
                        changes=changes_text, as_of=as_of_text)
        except (ValueError, DomainError) as error:
            return page(request, "simulate.html", user, status=422, problems=[str(error)],
                        changes=changes_text, as_of=as_of_text)
        return page(request, "report.html", user, title=report_title(report),
                    body=report_body(report))


def _simulate(desk: DisputeDesk, policy: dict[str, Any] | None,
              changes: dict[str, Any] | None, as_of: str) -> dict[str, Any]:
    instant = None
    if as_of:
        try:
            instant = datetime.fromisoformat(as_of)
        except ValueError:
            raise ValueError(f"as of must be a date and time; got {as_of!r}") from None
        if instant.tzinfo is None:
            raise ValueError("as of must carry a UTC offset (Z or +HH:MM)")
    request = build_request(current=desk.current_policy(), now=desk.clock.now(), policy=policy,
                            changes=changes, as_of=instant)
    return run_simulation(desk, history_reader_for(desk), request)

