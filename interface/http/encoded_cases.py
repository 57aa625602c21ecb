"""Case views encoded once: the JSON body and the headers of a case read, kept by
what they are a function of, so that reading an unchanged case again encodes nothing.

A current case view is a function of what ``view_identity`` (in the application)
names; that names a body exactly, and the headers follow from the version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response
from litestar.response.base import ASGIResponse

from application.case_view import ViewIdentity, view_identity
from interface.http import schemas
from interface.http.conditional import etag
from interface.http.responses import CASE_HEADERS

if TYPE_CHECKING:
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.datastructures import Cookie

_ENCODER = msgspec.json.Encoder()

_Key = ViewIdentity


class EncodedCase(Response[Any]):
    """A case view's response, encoded already: answered without Litestar's
    per-response header and body work, unless a layer adds headers or cookies."""

    def __init__(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(body, media_type="application/json")
        self.encoded = headers

    def to_asgi_response(
        self,
        app: Any,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: Any = None,
        status_code: int | None = None,
        type_encoders: Any = None,
    ) -> ASGIResponse:
        if background or cookies or encoded_headers or headers or is_head_response:
            self.headers.update(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in self.encoded
                if name not in (b"content-type", b"content-length")
            )
            return super().to_asgi_response(
                app, request, background=background, cookies=cookies,
                encoded_headers=encoded_headers, headers=headers,
                is_head_response=is_head_response, media_type=media_type,
                status_code=status_code, type_encoders=type_encoders,
            )
        return _Encoded(self.content, self.encoded)


class _Encoded(ASGIResponse):
    """An :class:`ASGIResponse` whose body and headers are encoded already."""

    __slots__ = ("_headers",)

    def __init__(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        # ASGIResponse's own __init__ encodes headers; everything it sets is given here.
        self.background = None
        self.body = body
        self.content_length = len(body)
        self._encoded_cookies = ()
        self.encoding = "utf-8"
        self.is_head_response = False
        self.status_code = 200
        self._headers = headers

    def encode_headers(self) -> list[tuple[bytes, bytes]]:
        return list(self._headers)  # a copy: the request middleware appends X-Request-ID


class EncodedCases:
    """The last few thousand case bodies encoded, by their view's identity.

    Shared by the event loop and the worker threads of one application.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._kept: OrderedDict[_Key, tuple[bytes, list[tuple[bytes, bytes]]]] = OrderedDict()
        self._lock = threading.Lock()

    def response(self, view: dict[str, Any], role: str) -> EncodedCase:
        """The 200 response of a case read of ``view`` by a viewer with ``role``."""
        key: _Key = view_identity(view, role)
        kept = self._kept.get(key)
        if kept is None:
            body = _ENCODER.encode(schemas.case_view(view))
            kept = (body, _headers(view["version"], len(body)))
            with self._lock:
                self._kept[key] = kept
                if len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return EncodedCase(*kept)

    def __len__(self) -> int:
        return len(self._kept)


def _headers(version: int, length: int) -> list[tuple[bytes, bytes]]:
    fields = {
        "content-type": "application/json",
        "content-length": str(length),
        "etag": etag(version),
        **{name.lower(): value for name, value in CASE_HEADERS.items()},
    }
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in fields.items()]
