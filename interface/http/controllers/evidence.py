"""Evidence on a case: described (JSON) or uploaded with a file (``multipart/form-data``,
streamed to the blob store as it arrives), the file fetched back, and a moderator's
request for more."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import quote
from uuid import UUID

import anyio
import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, Router
from litestar.concurrency import sync_to_thread
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Stream
from litestar.serialization import decode_json
from msgspec import Meta, Struct

from application.disputes import DisputeDesk
from application.evidence_files import Admission, Download, EvidenceFiles, Received
from domain.dispute import Actor
from domain.dispute.evidence import EVIDENCE_CONTENT_TYPES
from domain.dispute.evidence_commands import PARTIES
from domain.dispute.vocabulary import EVIDENCE_KINDS
from domain.errors import Contention
from infrastructure.bootstrap import evidence_files
from infrastructure.logging import get_logger
from interface.http.conditional import ETAG_HEADER, IfMatch, expected_version
from interface.http.deadline import DEADLINE_OPT, DEFAULT_BUDGET, PROBLEM_CODE
from interface.http.errors import problem_responses, problem_spec
from interface.http.guards import requires, roles_note
from interface.http.idempotency import (
    STREAMED_BODY_OPT,
    IdempotencyKey,
    deferred_key_of,
    request_stamp_of,
)
from interface.http.responses import CASE_HEADERS, case_response
from interface.http.routes import get, post
from interface.http.schemas import AddEvidence, CaseView, one_of
from interface.http.strict_body import check_content_type, check_decoded, too_deep
from interface.http.uploads import (
    FORM_ALLOWANCE,
    MULTIPART,
    Form,
    StreamedBody,
    multipart_boundary,
    read_form,
)

JSON = "application/json"
#: The most bytes of a JSON body (evidence described, no file).
MAX_JSON_BODY = 1024 * 1024
#: Uploads read at once by one process; one more waits for a turn (it holds a thread).
MAX_UPLOADS = 16
TEXT_FIELDS = frozenset({"kind", "description", "reference"})
_LITESTAR_PATH = re.compile(r"`\$\.(.+)`$")
_FILE_TYPES = ", ".join(EVIDENCE_CONTENT_TYPES)

#: How long each step that waits on the database may take (s): the budget every other
#: route gets from the deadline middleware, which leaves this one alone (an upload
#: takes as long as its sender does).
BUDGET = DEFAULT_BUDGET
T = TypeVar("T")
log = get_logger("disputedesk.http")

EvidenceId = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                      description="The evidence item's `id` (e.g. `ev-3`)")]


class RequestEvidence(Struct, forbid_unknown_fields=True, kw_only=True):
    party: Annotated[str, one_of(PARTIES, "Who is asked")]
    description: Annotated[str, Meta(description="What is asked for")]


def _provide_files(desk: NamedDependency[DisputeDesk]) -> EvidenceFiles:
    return evidence_files(desk)


# ---- OpenAPI ----------------------------------------------------------------------------


def _text(description: str, *, nullable: bool = False) -> Schema:
    if nullable:
        return Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
                      description=description)
    return Schema(type=OpenAPIType.STRING, description=description)


_FIELDS: dict[str, Reference | Schema] = {
    "kind": Schema(type=OpenAPIType.STRING, description="What the evidence is",
                   enum=list(EVIDENCE_KINDS)),
    "description": _text("What the evidence shows"),
    "reference": _text("Where it comes from (an order page, a chat id), at most 500 characters",
                       nullable=True),
}


@dataclass
class TakesJsonOrFile(Operation):
    """The body of ``addEvidence``: JSON, or a form with the file (read by the handler)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The evidence described (JSON), or described with a file "
            "(`multipart/form-data`).",
            content={
                JSON: OpenAPIMediaType(schema=Schema(
                    type=OpenAPIType.OBJECT, properties=_FIELDS, required=["kind", "description"],
                    additional_properties=False,
                )),
                MULTIPART: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={
                            "file": Schema(
                                type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
                                description=f"The file ({_FILE_TYPES}, told by its content)",
                            ),
                            **_FIELDS,
                        },
                        required=["file", "kind", "description"],
                        additional_properties=False,
                    ),
                    encoding={"file": Encoding(content_type=_FILE_TYPES)},
                ),
            },
        )


@dataclass
class SendsTheFile(Operation):
    """The answer of ``getEvidenceFile``: the bytes, in the type recorded."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                kind: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING,
                                                     format=OpenAPIFormat.BINARY))
                for kind in EVIDENCE_CONTENT_TYPES
            }


UPLOAD_ERRORS = {
    **problem_responses(400, 401, 403, 404, 409, 412, 422, 503),
    413: problem_spec(413, (
        "The file is larger than the policy's `evidence_file_max_mb`, or would take the "
        "case's files past `evidence_case_max_mb` (field `file`); nothing was kept.")),
    415: problem_spec(415, (
        "The body is neither JSON nor `multipart/form-data` (`Accept-Post` says what is), "
        "or the file's content is not JPEG, PNG, WebP, PDF or plain text, or is not what "
        "its name or part `Content-Type` says (field `file`; `detail` names the content's "
        "type); nothing was kept.")),
}


def _header(name: str, description: str) -> ResponseHeader:
    return ResponseHeader(name=name, description=description, documentation_only=True)


FILE_HEADERS = [
    _header("Content-Type", "The type recorded when the file was added (read from its "
            "content); text is UTF-8"),
    _header("Content-Length", "The file's size in bytes"),
    _header("Content-Disposition", "`attachment; filename=\"...\"; filename*=UTF-8''...`: "
            "always a download, under the name it was sent with"),
    _header("ETag", "The file's SHA-256 (hex), as recorded in its EvidenceAdded event"),
    _header("Repr-Digest", "`sha-256=:<base64>:` (RFC 9530): the same SHA-256, to check "
            "the bytes against"),
    _header("X-Content-Type-Options", "`nosniff`"),
    _header("Content-Security-Policy", "`default-src 'none'; sandbox`: nothing in the file "
            "is ever run or shown inline as a page"),
]

UPLOAD_DESCRIPTION = (
    "Records EvidenceAdded; its id appears in `evidence` and can be cited by an "
    "intervention request. Send JSON (`kind, description, reference?`) to describe "
    "evidence, or `multipart/form-data` with a `file` part and the same fields to file "
    "it: a JPEG, PNG, WebP, PDF or plain-text (UTF-8) file, told by its content. A file "
    "whose name or part `Content-Type` says otherwise than its content, or of any other "
    "type, is 415 (the detail says what the content is); one larger than the policy's "
    "`evidence_file_max_mb`, or that would take the case's files past "
    "`evidence_case_max_mb`, is 413; an empty one 422. The case then lists the item "
    "with `sha256, content_type, size, filename, file_url`. A refused upload leaves "
    "nothing stored, and a closed case (409), a case that holds its policy's most "
    "evidence items (`evidence_case_max_items`) or bytes (409 `case-limit-reached`, "
    "naming `limit_name` and `limit`), another's case (404) or a stale "
    "`If-Match` (412) is refused before anything is stored. The upload is streamed: "
    "retrying it with the same `Idempotency-Key` answers the first outcome and keeps no "
    "second copy. Send `If-Match` with the case's ETag to refuse the command if the "
    "case changed meanwhile (412). Returns the case. "
)


# ---- the routes ---------------------------------------------------------------------------


def file_response(download: Download) -> Stream:
    """An evidence file as an attachment that no browser runs or sniffs (the API's
    download and the console's)."""
    return Stream(  # text is UTF-8: Litestar names the charset of any text/* type
        _sent(download.chunks),
        media_type=download.content_type,
        headers={
            "Content-Length": str(download.size),
            "Content-Disposition": content_disposition(download.filename),
            "ETag": f'"{download.sha256}"',
            "Repr-Digest": f"sha-256=:{_base64(download.sha256)}:",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            **CASE_HEADERS,
        },
    )


class EvidenceController(Controller):
    path = "/v1/disputes"
    tags = ["disputes"]
    dependencies = {"evidence_files": Provide(_provide_files, sync_to_thread=False)}

    def __init__(self, owner: Router) -> None:
        super().__init__(owner)
        self._uploads = anyio.CapacityLimiter(MAX_UPLOADS)

    @post(
        "/{dispute_id:uuid}/evidence",
        operation_id="addEvidence",
        summary="Add evidence to the case, with a file or without",
        guards=[requires("add_evidence")],
        status_code=200,
        description=UPLOAD_DESCRIPTION + roles_note("add_evidence"),
        response_headers=[ETAG_HEADER],
        responses=UPLOAD_ERRORS,
        operation_class=TakesJsonOrFile,
        # The body is this handler's to read (as it arrives) and to size by the case's
        # policy; an upload takes as long as its sender does.
        request_max_body_size=None,
        opt={STREAMED_BODY_OPT: True, DEADLINE_OPT: None},
    )
    async def add_evidence(
        self,
        dispute_id: FromPath[UUID],
        request: Request[Actor, Any, Any],
        desk: NamedDependency[DisputeDesk],
        evidence_files: NamedDependency[EvidenceFiles],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        version = expected_version(if_match)
        if request.content_type[0] == MULTIPART:
            return await self._upload(request, dispute_id, evidence_files, version)
        data = await _json_body(request)
        view = await _in_time(sync_to_thread(partial(
            desk.add_evidence, dispute_id, kind=data.kind, description=data.description,
            reference=data.reference, actor=request.user, expected_version=version,
            request=request_stamp_of(request),
        )))
        return case_response(request, view)

    async def _upload(self, request: Request[Actor, Any, Any], dispute_id: UUID,
                      files: EvidenceFiles, version: int | None) -> Response[CaseView]:
        deferred = deferred_key_of(request)
        boundary = multipart_boundary(request)
        admission: Admission = await _in_time(sync_to_thread(partial(
            files.admit, dispute_id, request.user, expected_version=version,
            may_be_retry=deferred is not None,
        )))
        admission.check_size(request.content_length or 0, FORM_ALLOWANCE)
        body = StreamedBody(request, admission.limit + FORM_ALLOWANCE)
        form = await anyio.to_thread.run_sync(
            partial(_read_upload, files, admission, body, boundary), limiter=self._uploads
        )
        return await _in_time(_record(request, files, admission, form, version))

    @get(
        "/{dispute_id:uuid}/evidence/{evidence_id:str}/file",
        operation_id="getEvidenceFile",
        summary="An evidence file's bytes",
        guards=[requires("evidence_file")],
        description="The file as it was uploaded, in the type recorded for it (read from its "
        "content when it was added), always as a download (`Content-Disposition: "
        "attachment`), never to be rendered inline (`X-Content-Type-Options: nosniff`, "
        "`Content-Security-Policy: default-src 'none'; sandbox`). Whoever may read the "
        "case may fetch its files: another buyer's or seller's case is 404, as for the "
        "case; an evidence id that is not on the case, or evidence without a file, 404. "
        + roles_note("evidence_file"),
        response_headers=FILE_HEADERS,
        responses=problem_responses(400, 401, 403, 404, 503),
        operation_class=SendsTheFile,
    )
    async def evidence_file(
        self,
        dispute_id: FromPath[UUID],
        evidence_id: EvidenceId,
        request: Request[Actor, Any, Any],
        evidence_files: NamedDependency[EvidenceFiles],
    ) -> Stream:
        download = await _in_time(
            sync_to_thread(evidence_files.download, dispute_id, evidence_id, request.user),
            late=lambda opened: _close(opened.chunks),
        )
        request.scope.setdefault("state", {})["dispute_id"] = str(dispute_id)
        return file_response(download)

    @post(
        "/{dispute_id:uuid}/evidence-requests",
        operation_id="requestEvidence",
        summary="Ask a party for more evidence",
        guards=[requires("request_evidence")],
        status_code=200,
        sync_to_thread=True,
        description="Records EvidenceRequested: `party` (buyer or seller) is asked for "
        "`description`, due at the end of the policy's `evidence_due_business_days` in "
        "the order's region. The case lists it in `evidence_requests`; that party's next "
        "evidence answers it. Only while the case is open (409). Send `If-Match` with the "
        "case's ETag to refuse the command if the case changed meanwhile (412). Returns "
        "the case. " + roles_note("request_evidence"),
        response_headers=[ETAG_HEADER],
        responses=problem_responses(400, 401, 403, 404, 409, 412, 415, 422, 503),
    )
    def request_evidence(
        self,
        dispute_id: FromPath[UUID],
        data: JSONBody[RequestEvidence],
        desk: NamedDependency[DisputeDesk],
        request: Request[Actor, Any, Any],
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseView]:
        view = desk.request_evidence(
            dispute_id,
            party=data.party,
            description=data.description,
            actor=request.user,
            expected_version=expected_version(if_match),
            request=request_stamp_of(request),
        )
        return case_response(request, view)


# ---- helpers -------------------------------------------------------------------------------


class StoreTimedOut(Contention):
    """A step that waits on the database did not end within :data:`BUDGET` (503, retry
    with the same key: the step goes on, and a retry finds what it recorded)."""

    code = PROBLEM_CODE


#: Steps that ran out of time, kept referenced until they end.
_abandoned: set[asyncio.Future[Any]] = set()


async def _in_time(work: Awaitable[T], late: Callable[[T], object] | None = None) -> T:
    """``work``'s result if it comes within :data:`BUDGET`; else :class:`StoreTimedOut`,
    and ``work`` goes on to its end on its own (``late`` gets what it gives then)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), BUDGET)
    except TimeoutError:
        _abandoned.add(task)
        task.add_done_callback(partial(_ended, late=late))
        log.warning("http.deadline_exceeded", budget_s=BUDGET)
        raise StoreTimedOut(
            f"the request did not finish within {BUDGET:g} s (the database is slow or "
            "unavailable); retry shortly, with the same Idempotency-Key"
        ) from None


def _ended(task: asyncio.Future[Any], late: Callable[[Any], object] | None) -> None:
    _abandoned.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("http.abandoned_request_finished", outcome="error",
                    error_type=type(error).__name__, error=str(error))
        return
    log.info("http.abandoned_request_finished", outcome="response")
    if late is not None:
        late(task.result())


def _close(chunks: Iterator[bytes]) -> None:
    """Let go of a blob opened for a download that will not be sent."""
    close = getattr(chunks, "close", None)
    if close is not None:
        asyncio.get_running_loop().run_in_executor(None, close)


async def _record(request: Request[Actor, Any, Any], files: EvidenceFiles, admission: Admission,
                  form: Form, version: int | None) -> Response[CaseView]:
    """Settle the idempotency key, then record the evidence with its file. Whatever
    answers instead (a replay, another request's key, a refusal) leaves nothing of this
    upload stored, also when it ends after its client heard 503."""
    received: Received = form.file
    fields = form.fields
    deferred = deferred_key_of(request)
    if deferred is not None:
        try:
            answer = await deferred.settle(request, _what_it_is(fields, received))
        except BaseException:
            await _discard(files, received)
            raise
        if answer is not None:
            await _discard(files, received)
            return answer
    view = await sync_to_thread(partial(
        files.file, admission, received, kind=fields["kind"],
        description=fields["description"], reference=fields.get("reference"),
        actor=request.user, expected_version=version, request=request_stamp_of(request),
    ))
    return case_response(request, view)


def _read_upload(files: EvidenceFiles, admission: Admission, body: StreamedBody,
                 boundary: str) -> Form:
    """Read the form (in a worker thread), its file into the blob store; nothing is left
    stored if the form turns out wrong."""
    kept: list[Received] = []

    def on_file(data: Iterator[bytes], segment: Any, filename: str | None) -> Received:
        received = files.receive(admission, data, filename=filename,
                                 declared_type=segment.content_type)
        kept.append(received)
        return received

    try:
        form = read_form(body, boundary, text_fields=TEXT_FIELDS, file_field="file",
                         on_file=on_file)
        missing = [name for name in ("file", "kind", "description")
                   if (form.file if name == "file" else form.fields.get(name)) is None]
        if missing:
            message = f"the form lacks {', '.join(missing)}"
            raise ValidationException(message, extra=[
                {"key": name, "message": f"{name} is required", "source": "body"}
                for name in missing
            ])
    except BaseException:
        for received in kept:
            files.discard(received)
        raise
    return form


def _what_it_is(fields: dict[str, str], received: Received) -> bytes:
    """What makes an upload the same request as another: its fields and its file (not
    the multipart framing, which a client draws anew for each try)."""
    return json.dumps(
        {**fields, "file": {"sha256": received.blob.sha256, "size": received.blob.size,
                            "filename": received.filename}},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    ).encode()


async def _discard(files: EvidenceFiles, received: Received) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(files.discard, received)


async def _json_body(request: Request[Actor, Any, Any]) -> AddEvidence:
    """The JSON body, checked as every JSON route's is (``strict_body``), at most
    :data:`MAX_JSON_BODY` bytes."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise ClientException(
                f"the request body may hold at most {MAX_JSON_BODY:,} bytes", status_code=413
            )
    body = bytes(raw)
    check_content_type(request, body, accepts=(JSON, MULTIPART))
    if not body.strip():
        message = "send the evidence as JSON or as multipart/form-data"
        raise ValidationException(message, extra=[{"key": "data", "message": message,
                                                    "source": "body"}])
    try:
        data = decode_json(body)
    except RecursionError:
        raise too_deep() from None
    except SerializationException as error:
        raise ClientException(str(error)) from None
    check_decoded(body, data, AddEvidence)
    try:
        return msgspec.convert(data, AddEvidence, strict=False)
    except msgspec.ValidationError as error:
        text = str(error)
        at = _LITESTAR_PATH.search(text)
        raise ValidationException(
            f"Validation failed for POST {request.url.path}",
            extra=[{"message": text.split(" - ", 1)[0], "key": at[1] if at else "data",
                    "source": "body"}],
        ) from None


async def _sent(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A blob's chunks, each read in a worker thread; the blob is let go of at the end,
    however the response ends."""
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


def content_disposition(filename: str) -> str:
    """``attachment``, with the name in ASCII (others replaced) and in full (RFC 6266)."""
    fallback = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in filename
    ) or "evidence"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
