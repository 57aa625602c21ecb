"""Every request answered within its route's budget, whatever the database does.

A database that hangs (the connection stays open, nothing comes back) holds a
query on its socket: no pool timeout applies to a connection already handed
out, a server-side ``statement_timeout`` never sees a query that did not
arrive, and where the path still acknowledges packets, TCP keepalives and
``tcp_user_timeout`` never fire. The request's worker thread cannot be
interrupted either. So this middleware runs the rest of the app in a task of
its own and, if no response has started within the route's budget, answers 503
(``problem+json``, type ``store-timeout``, with ``Retry-After``) itself.

The abandoned run goes on in its thread until its connection fails or the
database answers; whatever it sends is dropped, and its end is logged
(``http.abandoned_request_finished``). A command may therefore still be
recorded after its client heard 503; a retry with the same ``Idempotency-Key``
gets that outcome and never records it twice (``docs/decisions.md``, "Exactly
once").

Budgets: ``DEFAULT_BUDGET`` for every route, except those in ``BUDGETS`` (by
method and path template) and routes that set ``opt={DEADLINE_OPT: seconds}``
(``None``: no limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, Final, TypeAlias, cast

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.logging import get_logger
from interface.http.errors import problem_response

__all__ = [
    "BUDGETS",
    "DEADLINE_OPT",
    "DEFAULT_BUDGET",
    "PROBLEM_CODE",
    "DeadlineMiddleware",
]

#: Seconds a request may take before it is answered 503. The store's own bounded
#: waits report a database that is down within about 5 s; a command waits up to
#: 5 s for a retry's first run, and ``?min_position=`` up to 5 s for a view.
DEFAULT_BUDGET = 8.0
#: A route's ``opt`` key for a budget of its own (seconds, or ``None``: no limit).
DEADLINE_OPT: Final = "deadline"
#: Budgets other than the default, by method and path template.
BUDGETS: dict[tuple[str, str], float | None] = {
    # The route answers 503 itself after 2 s; this is the backstop.
    ("GET", "/health"): 2.5,
    # Replays the whole history by design: seconds to minutes.
    ("POST", "/v1/simulations"): None,
}
PROBLEM_CODE: Final = "store-timeout"
RETRY_AFTER: Final = "1"

log = get_logger("disputedesk.http")

_PENDING: Final = 0
_STARTED: Final = 1
_ABANDONED: Final = 2

_AppCall: TypeAlias = Coroutine[Any, Any, None]
#: Abandoned runs, kept referenced until they end (the loop keeps only weak ones).
_abandoned: set[asyncio.Task[None]] = set()


class _Run:
    """One run of the app: its messages pass through until it is abandoned."""

    __slots__ = ("decided", "send", "state", "status")

    def __init__(self, send: Send, decided: asyncio.Future[None]) -> None:
        self.send = send
        self.decided = decided
        self.state = _PENDING
        self.status: int | None = None

    async def forward(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.state == _PENDING:
                self.state = _STARTED  # from now on the run is never abandoned
        if self.state != _ABANDONED:
            await self.send(message)

    def decide(self, *_: object) -> None:
        if not self.decided.done():
            self.decided.set_result(None)


class DeadlineMiddleware:
    """A plain ASGI middleware (Litestar builds it with ``app=``); see the module."""

    def __init__(
        self,
        app: ASGIApp,
        default: float | None = None,
        budgets: Mapping[tuple[str, str], float | None] | None = None,
    ) -> None:
        """``default`` and ``budgets``: ``DEFAULT_BUDGET`` and ``BUDGETS`` unless given."""
        self.app = app
        self.default = DEFAULT_BUDGET if default is None else default
        self.budgets = BUDGETS if budgets is None else budgets

    def budget_of(self, scope: Scope) -> float | None:
        opt = getattr(scope.get("route_handler"), "opt", None)
        if opt and DEADLINE_OPT in opt:
            budget: float | None = opt[DEADLINE_OPT]
            return budget
        route = (str(scope.get("method", "")), str(scope.get("path_template", "")))
        return self.budgets.get(route, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self.budget_of(scope) if scope["type"] == ScopeType.HTTP else None
        if budget is None:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        run = _Run(send, loop.create_future())
        started = loop.time()
        # Litestar's apps are coroutine functions: the run is a task of its own.
        task = loop.create_task(cast(_AppCall, self.app(scope, receive, run.forward)))
        task.add_done_callback(run.decide)
        timer = loop.call_later(budget, run.decide)
        try:
            await run.decided  # the run ended, or the budget is spent
        except BaseException:  # cancelled: the run goes with the request, as before
            task.cancel()
            raise
        finally:
            timer.cancel()
        if run.state == _PENDING and not task.done():
            run.state = _ABANDONED
            _abandoned.add(task)
            task.add_done_callback(lambda ended: _ended(ended, run, loop.time() - started))
            log.warning("http.deadline_exceeded", budget_s=budget)
            await _timed_out(scope, receive, send, budget)
            return
        await task  # ended, or its response started in time: its outcome is ours


def _ended(task: asyncio.Task[None], run: _Run, took: float) -> None:
    """An abandoned run ended: say how (its response went nowhere)."""
    _abandoned.discard(task)
    took_ms = round(took * 1000, 3)
    if task.cancelled():
        log.info("http.abandoned_request_finished", outcome="cancelled", took_ms=took_ms)
        return
    error = task.exception()
    if error is not None:
        log.warning(
            "http.abandoned_request_finished",
            outcome="error",
            error_type=type(error).__name__,
            error=str(error),
            took_ms=took_ms,
        )
        return
    log.info("http.abandoned_request_finished", outcome="response", status=run.status,
             took_ms=took_ms)


async def _timed_out(scope: Scope, receive: Receive, send: Send, budget: float) -> None:
    request: Request[Any, Any, Any] = Request(scope, receive)
    detail = f"the request did not finish within {budget:g} s (the database is slow or " \
        "unavailable); retry shortly"
    if scope.get("method") in ("POST", "DELETE"):  # the methods a key makes idempotent
        detail += ", with the same Idempotency-Key"
    response = problem_response(
        request, 503, detail, code=PROBLEM_CODE, headers={"Retry-After": RETRY_AFTER}
    )
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
