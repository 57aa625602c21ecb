"""An evidence file's type is read from its content, and its name and declared type must
agree with it."""

from __future__ import annotations

import pytest

from application.evidence_types import (
    HEAD_BYTES,
    check_claims,
    clean_filename,
    content_type_of,
)
from domain.errors import UnsupportedMediaType

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


@pytest.mark.parametrize(
    ("head", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (PDF, "application/pdf"),
     (b"plain words\r\n\tand a form feed\f", "text/plain"),
     ("ünïcödé ✓ 😀\n".encode(), "text/plain"),
     (b"GIF89a\x01\x00\x01\x00", "image/gif"),
     (b"a NUL\x00 inside", "application/octet-stream"),
     (b"\x1b[31mcoloured\x1b[0m", "application/octet-stream"),
     ("a C1 control \x85".encode(), "application/octet-stream"),
     (b"caf\xe9", "application/octet-stream")],
)
def test_the_type_comes_from_the_content(head: bytes, expected: str) -> None:
    assert content_type_of(head, whole=True) == expected


def test_a_character_cut_at_the_end_of_the_kept_bytes_is_still_text() -> None:
    text = ("x" * (HEAD_BYTES - 1) + "é and more").encode()
    head = text[:HEAD_BYTES]  # ends in the middle of "é"
    assert content_type_of(head, whole=False) == "text/plain"
    # ... but a file that really ends there is not valid UTF-8.
    assert content_type_of(head, whole=True) == "application/octet-stream"


@pytest.mark.parametrize(
    ("content_type", "name", "declared"),
    [("image/png", "shot.png", "image/png"), ("image/jpeg", "shot.JPG", "image/jpg"),
     ("image/png", "upload", "application/octet-stream"), ("image/png", "shot.png", None),
     ("text/plain", "export.csv", "text/csv; charset=utf-8"),
     ("text/plain", "order.json", "application/json"), ("text/plain", "notes.log", "")],
)
def test_claims_that_agree_with_the_content_pass(
    content_type: str, name: str, declared: str | None
) -> None:
    check_claims(content_type, filename=name, declared_type=declared)


@pytest.mark.parametrize(
    ("content_type", "name", "declared", "says"),
    [("text/plain", "notes.png", "image/png", "sent as image/png"),
     ("text/plain", "notes.png", None, "named 'notes.png', which says image/png"),
     ("image/png", "shot.jpg", "image/png", "which says image/jpeg"),
     ("application/zip", "a.zip", "application/zip", "reads as application/zip")],
)
def test_claims_that_contradict_the_content_are_415(
    content_type: str, name: str, declared: str | None, says: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        check_claims(content_type, filename=name, declared_type=declared)
    assert says in refused.value.detail and refused.value.field == "file"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("C:\\Users\\me\\shot.png", "shot.png"), ("../../etc/passwd", "passwd"),
     ("a\u202egnp.txt", "agnp.txt"), ("", "evidence.png"), (None, "evidence.png"),
     ("x" * 300 + ".png", "x" * 251 + ".png")],
)
def test_a_file_name_keeps_only_its_last_part_and_printable_characters(
    raw: str | None, expected: str
) -> None:
    assert clean_filename(raw, "image/png") == expected
