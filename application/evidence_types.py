"""What an evidence file is, read from its content: never from its name or the type its
sender declared.

JPEG, PNG, WebP and PDF are told by their magic bytes (``puremagic``). Plain text is
valid UTF-8 with no NUL and no control character but tab, line feed, carriage
return and form feed, judged on the first bytes kept (:data:`HEAD_BYTES`). Anything
else is refused, naming what the content looks like.

A sender's claims (the file name's extension, the part's ``Content-Type``) must agree
with the content: a text file named ``receipt.png`` or sent as ``image/png`` is
refused, saying what it really is. A claim of some kind of text (``text/csv``,
``application/json``) agrees with plain text; ``application/octet-stream``, no type
and an extension nobody knows claim nothing.
"""

from __future__ import annotations

import codecs
import mimetypes
import unicodedata

import puremagic

from domain.dispute.evidence import EVIDENCE_CONTENT_TYPES
from domain.errors import InvalidInput, UnsupportedMediaType

__all__ = [
    "HEAD_BYTES",
    "MAX_FILENAME_LENGTH",
    "PLAIN_TEXT",
    "check_claims",
    "check_not_empty",
    "clean_filename",
    "content_type_of",
]

#: How many of a file's first bytes are kept to tell its type.
HEAD_BYTES = 8192
PLAIN_TEXT = "text/plain"
UNKNOWN = "application/octet-stream"
MAX_FILENAME_LENGTH = 255
#: Told by magic bytes; plain text is told by reading it.
_BY_MAGIC = frozenset(EVIDENCE_CONTENT_TYPES) - {PLAIN_TEXT}
#: Control characters a text may hold: tab, line feed, form feed, carriage return.
_TEXT_CONTROLS = frozenset("\t\n\f\r")
#: Types that name no type at all.
_NO_CLAIM = frozenset({"", UNKNOWN, "binary/octet-stream", "application/unknown"})
#: Other names senders use for the types a case holds.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
}
#: Types of text besides ``text/*``: plain text agrees with these claims.
_TEXT_LIKE = frozenset({"application/json", "application/xml", "application/x-ndjson"})
#: The standard library's own table (not the machine's): the same answer everywhere.
_EXTENSIONS = mimetypes.MimeTypes()


def content_type_of(head: bytes, *, whole: bool) -> str:
    """The type of a file whose first bytes are ``head`` (``whole``: they are all of it).

    One of ``EVIDENCE_CONTENT_TYPES`` for a file a case may hold; otherwise what the
    content looks like (``application/octet-stream`` when it looks like nothing known).
    """
    seen = _magic(head)
    if seen in _BY_MAGIC:
        return seen
    if _is_text(head, whole=whole):
        return PLAIN_TEXT
    return seen or UNKNOWN


def _magic(head: bytes) -> str:
    """The type puremagic reads from ``head``, best match first ('' for none)."""
    if not head:
        return ""
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return ""
    for match in matches:
        mime = str(match.mime_type or "")
        if mime:
            return _ALIASES.get(mime, mime)
    return ""


def _is_text(head: bytes, *, whole: bool) -> bool:
    """Valid UTF-8 with no control character but tab, LF, FF and CR. A character cut
    off at the end of ``head`` (not ``whole``) is not held against it."""
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=whole)
    except UnicodeDecodeError:
        return False
    return not any(
        unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS for ch in text
    )


def _normal(media_type: str | None) -> str:
    kind = (media_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(kind, kind)


def _agrees(claimed: str, content_type: str) -> bool:
    if claimed == content_type:
        return True
    if content_type != PLAIN_TEXT:
        return False
    return (
        claimed.startswith("text/")
        or claimed in _TEXT_LIKE
        or claimed.endswith(("+json", "+xml"))
    )


def check_claims(content_type: str, *, filename: str, declared_type: str | None) -> None:
    """Refuse (415) a file whose content is not a type a case holds, or whose name or
    declared type says it is something else than its content."""
    if content_type not in EVIDENCE_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"evidence files may be JPEG, PNG, WebP, PDF or plain text (UTF-8); this "
            f"one's content reads as {content_type}", field="file",
        )
    claims = [("sent as", _normal(declared_type))]
    by_name, _ = _EXTENSIONS.guess_type(filename, strict=False)
    if by_name is not None:
        claims.append((f"named {filename!r}, which says", _normal(by_name)))
    for how, claimed in claims:
        if claimed not in _NO_CLAIM and not _agrees(claimed, content_type):
            raise UnsupportedMediaType(
                f"the file was {how} {claimed}, but its content is {content_type}; "
                "send it under its own name and type", field="file",
            )


def clean_filename(raw: str | None, content_type: str) -> str:
    """The name to keep and offer for download: the last part of the sender's path,
    without control characters, at most :data:`MAX_FILENAME_LENGTH` characters; a file
    sent without one is called ``evidence`` with its type's extension."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        extension = _EXTENSIONS.guess_extension(content_type, strict=False) or ""
        return f"evidence{'.jpg' if content_type == 'image/jpeg' else extension}"
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_FILENAME_LENGTH - len(extension) - 1
        if dot and 0 < len(extension) <= 16 and keep > 0:
            return f"{stem[:keep]}.{extension}"
        return name[:MAX_FILENAME_LENGTH]
    return name


def check_not_empty(size: int) -> None:
    """An empty file is evidence of nothing (422)."""
    if size == 0:
        raise InvalidInput("the file is empty", field="file")
