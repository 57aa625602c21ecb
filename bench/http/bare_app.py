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


@get("/bare-thread", sync_to_thread=True)
def bare_in_thread() -> Pong:
    """The same, run in the worker-thread pool as every handler of the API is."""
    return Pong(status="ok", version=1)


@get("/health", sync_to_thread=False)
def health() -> Pong:
    return Pong(status="ok", version=1)


app = Litestar(
    route_handlers=[bare, bare_in_thread, health], openapi_config=None, logging_config=None
)
