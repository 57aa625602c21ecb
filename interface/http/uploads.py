"""Reading an upload as it arrives: a ``multipart/form-data`` body, streamed.

Litestar's own form parsing reads the whole body first. Here the body is read from
the request stream a chunk at a time, by a worker thread (:class:`StreamedBody`
hands it each chunk from the event loop), and parsed with ``multipart``'s push
parser: the file part's bytes go on to the blob store as they come, the text fields
(small) are kept. Nothing holds more than a chunk or two of the file.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

import anyio.from_thread
from litestar import Request
from litestar.exceptions import (
    ClientException,
    HTTPException,
    InternalServerException,
    ValidationException,
)
from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    ParserLimitReached,
    PushMultipartParser,
)

__all__ = ["MULTIPART", "Form", "StreamedBody", "multipart_boundary", "read_form"]

MULTIPART = "multipart/form-data"
#: The most bytes one text field may hold.
MAX_FIELD_BYTES = 64 * 1024
#: The most parts a form may have (the file and three fields, with room to spare).
MAX_PARTS = 8
#: What a form may hold besides its file: fields, part headers, boundaries.
FORM_ALLOWANCE = 1024 * 1024
R = TypeVar("R")
_FILENAME_STAR = re.compile(r"""filename\*\s*=\s*(?:UTF-8|utf-8)''([^;\s]+)""")


class TooLarge(HTTPException):
    status_code = 413


@dataclass
class Form:
    """A form read to its end: its text fields, and what ``on_file`` made of its file."""

    fields: dict[str, str] = field(default_factory=dict)
    file: Any = None


def multipart_boundary(request: Request[Any, Any, Any]) -> str:
    media_type, options = request.content_type
    boundary = options.get("boundary", "").strip('"')
    if media_type != MULTIPART or not boundary or len(boundary) > 200:
        raise ClientException("a multipart/form-data body needs a boundary (1 to 200 characters)")
    return boundary


class StreamedBody:
    """The request body as a blocking iterator of chunks, for a thread started by
    ``anyio.to_thread``: each step waits on the event loop for the next chunk. More
    than ``limit`` bytes: 413."""

    def __init__(self, request: Request[Any, Any, Any], limit: int) -> None:
        self._stream: AsyncIterator[bytes] = request.stream()
        self._limit = limit
        self.size = 0

    async def _next(self) -> bytes | None:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            return None
        except InternalServerException:  # the client went away mid-body
            raise ClientException("the request body ended before it was complete") from None

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := anyio.from_thread.run(self._next)) is not None:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._limit:
                raise TooLarge(f"the request body may hold at most {self._limit:,} bytes")
            yield chunk


def read_form(
    chunks: Iterable[bytes],
    boundary: str,
    *,
    text_fields: frozenset[str],
    file_field: str,
    on_file: Callable[[Iterator[bytes], MultipartSegment, str | None], R],
) -> Form:
    """Parse a form from ``chunks``: each of ``text_fields`` at most once (UTF-8, up to
    :data:`MAX_FIELD_BYTES`), and one file, whose bytes, part and file name go to
    ``on_file`` as they arrive (it must read them to the end). Another part, or a
    malformed body: 400."""
    form = Form()
    try:
        parser = PushMultipartParser(
            boundary, max_header_count=8, max_segment_count=MAX_PARTS
        )
        events = _events(parser, chunks)
        for segment in events:
            if not isinstance(segment, MultipartSegment):
                raise ClientException("the multipart body is malformed")
            name = segment.name or ""
            data = _part(events)
            if name == file_field and form.file is None:
                form.file = on_file(data, segment, _filename(segment))
                for _ in data:  # whatever on_file left
                    pass
            elif name in text_fields and name not in form.fields:
                form.fields[name] = _text(data, name)
            else:
                problem = "appears twice" if name in (*form.fields, file_field) else \
                    "is not a field of this form"
                raise _field_problem(name or "(unnamed part)", f"the part {name!r} {problem}")
    except ParserLimitReached as error:
        raise ClientException(f"the multipart body has too many or too large parts ({error})") \
            from None
    except MultipartError as error:
        raise ClientException(f"the multipart body is malformed ({error})") from None
    return form


def _events(parser: PushMultipartParser, chunks: Iterable[bytes]) -> Iterator[Any]:
    with parser:
        for chunk in chunks:
            yield from parser.parse(chunk)
            if parser.closed:
                return


def _part(events: Iterator[Any]) -> Iterator[bytes]:
    """The bytes of the current part, up to its end (the ``None`` event)."""
    for event in events:
        if event is None:
            return
        yield event
    raise ClientException("the multipart body ended inside a part")


def _text(data: Iterator[bytes], name: str) -> str:
    raw = bytearray()
    for chunk in data:
        raw += chunk
        if len(raw) > MAX_FIELD_BYTES:
            raise _field_problem(name, f"{name} may hold at most {MAX_FIELD_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _field_problem(name, f"{name} must be UTF-8 text") from None


def _filename(segment: MultipartSegment) -> str | None:
    """The file's name: ``filename``, or the RFC 5987 ``filename*`` some clients send."""
    if segment.filename:
        return str(segment.filename)
    for header, value in segment.headerlist:
        if header == "Content-Disposition":
            match = _FILENAME_STAR.search(value)
            if match:
                return unquote(match[1], errors="replace")
    return None


def _field_problem(name: str, message: str) -> ValidationException:
    return ValidationException(message, extra=[{"key": name, "message": message,
                                                "source": "body"}])
