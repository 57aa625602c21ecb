"""The baseline: a bare Litestar handler returning a small msgspec struct."""

from __future__ import annotations

import msgspec
from litestar import Litestar, get


class Pong(msgspec.Struct):
    status: str
    version: int


@get("/bare", sync_to_thread=False)
def bare() -> Pong:
    return Pong(status="ok", version=1)


@get("/health", sync_to_thread=False)
def health() -> Pong:
    return Pong(status="ok", version=1)


app = Litestar(route_handlers=[bare, health], openapi_config=None, logging_config=None)
