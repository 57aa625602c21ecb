"""``Idempotency-Key`` on every POST (and DELETE): replay a retry's first outcome, refuse
reuse.

The rules live in :mod:`application.idempotency`; this middleware reads the
request and asks them. A request that may run gets its stamp in the scope
(:func:`request_stamp_of`), which handlers pass to the application so that the
events it records carry it. After the run the outcome is kept: a case answer
as (status, dispute, version), rendered again on replay; any other answer
whole. It runs inside the authentication middleware, so keys are scoped by
principal (role and subject).

A route that streams its body (``opt={STREAMED_BODY_OPT: True}``: an upload, sent
as ``multipart/form-data``) is not read here: its handler reads the body, says what
makes the request the same as another (its fields and the file's SHA-256, not the
multipart boundary a client draws anew on each try), and then asks the key
(:func:`deferred_key_of`, :meth:`DeferredKey.settle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Final
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.params import HeaderParameter
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, ReceiveMessage, Scope, Send

from application.idempotency import (
    MAX_STORED_BODY,
    POLL_SECONDS,
    WAIT_SECONDS,
    CaseOutcome,
    Decision,
    IdempotencyKeys,
    InProgress,
    InvalidKey,
    Mismatch,
    Outcome,
    Proceed,
    Replay,
    StoredResponse,
    check_key,
    fingerprint,
)
from domain.dispute import Actor
from domain.requests import RequestStamp
from interface.http.asgi import header_value
from interface.http.errors import FieldError, problem_response
from interface.http.responses import CASE_OUTCOME
from interface.http.schemas import case_view

HEADER = "idempotency-key"
_HEADER_BYTES = HEADER.encode()
REPLAYED_HEADER = "idempotent-replayed"
MAX_BODY = 1024 * 1024
_KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag", b"vary", b"cache-control"})
_STAMP = "request_stamp"
_DEFERRED = "deferred_idempotency_key"
#: A route's ``opt`` key: its ``multipart/form-data`` body is the handler's to read,
#: and the key is settled once it has (:class:`DeferredKey`).
STREAMED_BODY_OPT: Final = "streamed_body"
#: The methods whose requests a key makes idempotent (a claim's release is a DELETE).
_KEYED_METHODS = frozenset({"POST", "DELETE"})
_MULTIPART = "multipart/form-data"

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]([ -~]*[!-~])?$",
        description="Any unique string (a UUID), one per command. A retry with the same key "
        "and body returns the first outcome (with `Idempotent-Replayed: true`: the same status, "
        "`ETag` and `version`, the case as that command left it, `next_actions` as of now) and "
        "records nothing new, whatever failed in between; the same key with another body is "
        "422; while the first attempt may still commit, the retry waits up to 5 s, then gets "
        "503 with `Retry-After` (problem type `idempotency-key-in-progress`). Keys are kept "
        "for 24 hours, then forgotten.",
    ),
]


#: Renders a kept case outcome again: (dispute id, version, caller) -> the case view.
CaseRenderer = Callable[[UUID, int, Actor], dict[str, Any]]


@dataclass
class IdempotencyState:
    """Filled in at start-up, once the store is open."""

    keys: IdempotencyKeys | None = None
    render_case: CaseRenderer | None = None
    owned: list[Any] = field(default_factory=list)


def request_stamp_of(request: Request[Any, Any, Any]) -> RequestStamp | None:
    """The stamp the events of this request must carry (None without a key)."""
    stamp = request.scope.get("state", {}).get(_STAMP)
    return stamp if isinstance(stamp, RequestStamp) else None


def deferred_key_of(request: Request[Any, Any, Any]) -> DeferredKey | None:
    """The key of a request whose body streams, to settle once the body is read (None
    without a key)."""
    deferred = request.scope.get("state", {}).get(_DEFERRED)
    return deferred if isinstance(deferred, DeferredKey) else None


def _streams_body(scope: Scope) -> bool:
    opt = getattr(scope.get("route_handler"), "opt", None)
    if not opt or not opt.get(STREAMED_BODY_OPT):
        return False
    content_type = header_value(scope, b"content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == _MULTIPART


async def _begin(
    keys: IdempotencyKeys, principal: str, key: str, request_print: str
) -> Decision:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        decision = await anyio.to_thread.run_sync(keys.begin, principal, key, request_print)
        if not isinstance(decision, InProgress) or time.monotonic() >= deadline:
            return decision
        await anyio.sleep(POLL_SECONDS)


_REUSED = "this Idempotency-Key was used for a different request; use a new key"
_IN_PROGRESS = (
    "a request with this Idempotency-Key is still in progress; retry shortly with the same key"
)


@dataclass
class DeferredKey:
    """A request's ``Idempotency-Key`` while the request runs: claimed before it runs
    (``claim``) when the middleware read the body, or settled by the handler once it
    has read a streamed body (:meth:`settle`). Either way the middleware keeps the
    outcome under the key if the claim is the request's."""

    state: IdempotencyState
    keys: IdempotencyKeys
    principal: str
    key: str
    path: str
    claim: str | None = None

    async def settle(
        self, request: Request[Any, Any, Any], content: bytes
    ) -> Response[Any] | None:
        """``content``: what makes this request what it is. None: the key is this
        request's, run it (its stamp is in the scope for :func:`request_stamp_of`).
        Otherwise the answer to give instead: the first outcome again, 422 for a key
        used for another request, 503 while the first may still commit."""
        decision = await _begin(
            self.keys, self.principal, self.key, fingerprint("POST", self.path, content)
        )
        if isinstance(decision, Proceed):
            self.claim = decision.claim
            request.scope.setdefault("state", {})[_STAMP] = decision.stamp
            return None
        if isinstance(decision, Replay):
            return await self._replayed(decision.outcome, request.user)
        if isinstance(decision, Mismatch):
            return problem_response(
                request, 422, _REUSED, code="idempotency-key-reused",
                errors=[FieldError("Idempotency-Key", _REUSED)],
            )
        return problem_response(request, 503, _IN_PROGRESS, code="idempotency-key-in-progress",
                                headers={"Retry-After": "2"})

    async def _replayed(self, outcome: Outcome, actor: Actor) -> Response[Any]:
        body = await _kept_body(self.state, outcome, actor)
        headers = {name: value for name, value in outcome.headers if name != "content-type"}
        media_type = dict(outcome.headers).get("content-type", "application/json")
        headers[REPLAYED_HEADER] = "true"
        return Response(body, status_code=outcome.status, headers=headers, media_type=media_type)


class _TooLarge(Exception):
    pass


async def _kept_body(state: IdempotencyState, outcome: Outcome, actor: Actor) -> bytes:
    """The body of a kept outcome: as kept, or a case rendered as the command left it."""
    if isinstance(outcome, StoredResponse):
        return outcome.body
    render = state.render_case
    assert render is not None, "a case outcome is kept only where cases can be rendered"
    view = await anyio.to_thread.run_sync(render, UUID(outcome.dispute_id), outcome.version, actor)
    view["position"] = outcome.position
    return msgspec.json.encode(case_view(view))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    """A plain ASGI middleware: reads go straight through, with one look at the method.

    Add it as ``DefineMiddleware(IdempotencyMiddleware, state=...)``.
    """

    def __init__(self, app: ASGIApp, state: IdempotencyState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") not in _KEYED_METHODS:
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, self.app)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw_key = header_value(scope, _HEADER_BYTES)
        actor = scope.get("user")
        keys = self.state.keys
        if raw_key is None or not isinstance(actor, Actor) or keys is None:
            await next_app(scope, receive, send)
            return
        try:
            key = check_key(raw_key.strip())
        except InvalidKey as error:
            await self._problem(scope, receive, send, 400, str(error), "Idempotency-Key")
            return
        principal = f"{actor.role}:{actor.id}"
        path = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        if _streams_body(scope):
            deferred = DeferredKey(self.state, keys, principal, key, path)
            scope.setdefault("state", {})[_DEFERRED] = deferred
            await self._run(scope, receive, send, next_app, deferred)
            return
        try:
            body = await _read_body(receive)
        except _TooLarge:
            await self._problem(scope, receive, send, 413, "the request body is too large")
            return
        request_print = fingerprint(str(scope.get("method", "POST")), path, body)
        decision = await _begin(keys, principal, key, request_print)
        if isinstance(decision, Replay):
            await self._replay(decision.outcome, actor, send)
            return
        if isinstance(decision, Mismatch):
            await self._problem(
                scope, receive, send, 422, _REUSED, "Idempotency-Key",
                code="idempotency-key-reused",
            )
            return
        if isinstance(decision, InProgress):
            await self._problem(
                scope, receive, send, 503, _IN_PROGRESS,
                code="idempotency-key-in-progress", headers={"Retry-After": "2"},
            )
            return
        assert isinstance(decision, Proceed)
        scope.setdefault("state", {})[_STAMP] = decision.stamp
        held = DeferredKey(self.state, keys, principal, key, path, decision.claim)
        await self._run(scope, _replaying(body, receive), send, next_app, held)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, held: DeferredKey
    ) -> None:
        """Run the request, then keep its outcome under the key if the key is its own
        (``held.claim``; a streamed request claims it while it runs, if ever)."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await next_app(scope, receive, capture)
        except BaseException:
            if held.claim is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(
                        held.keys.abandon, held.principal, held.key, held.claim
                    )
            raise
        if held.claim is not None:
            outcome = _outcome(messages, scope.get("state", {}).get(CASE_OUTCOME))
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    held.keys.finish, held.principal, held.key, held.claim, outcome
                )
        for message in messages:
            await send(message)

    async def _replay(self, outcome: Outcome, actor: Actor, send: Send) -> None:
        body = await _kept_body(self.state, outcome, actor)
        await _send_kept(outcome.status, outcome.headers, body, send)

    async def _problem(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        detail: str,
        field_name: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        errors = [FieldError(field_name, detail)] if field_name else None
        response = problem_response(request, status, detail, code=code, errors=errors,
                                    headers=headers)
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` with ``body``, read already, handed over first."""
    delivered = False

    async def replay_receive() -> ReceiveMessage:
        nonlocal delivered
        if not delivered:
            delivered = True
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return await receive()

    return replay_receive


def _outcome(
    messages: list[Message], case: tuple[str, int, int | None] | None
) -> Outcome | None:
    """What to keep of a response: a case by name, anything else whole (if not too big)."""
    status = 500
    headers: list[tuple[str, str]] = []
    body = b""
    for message in messages:
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", [])
                if name.lower() in _KEPT_HEADERS
            ]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
    if case is not None and 200 <= status < 300:
        dispute_id, version, position = case
        return CaseOutcome(status, tuple(headers), dispute_id, version, position)
    if len(body) > MAX_STORED_BODY:
        return None
    return StoredResponse(status, tuple(headers), body)


async def _send_kept(
    status: int, kept_headers: tuple[tuple[str, str], ...], body: bytes, send: Send
) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in kept_headers]
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append((REPLAYED_HEADER.encode(), b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
