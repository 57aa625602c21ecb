"""How often a request waits for the handler thread pool.

Under load every request that hands work to the pool waits its turn there behind
the commands, so a dependency that hops to a thread for work without I/O
doubles a read's wait (an evidence upload's p50 was 1.7 times a seller
contact's for that alone). The routes of the load run hop once, for their
handler's own I/O, and a case known current not at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from litestar.concurrency import set_asyncio_executor
from litestar.testing import TestClient

from tests.api.conftest import BUYER, MODERATOR, SELLER


class CountingPool(ThreadPoolExecutor):
    """The handler pool, counting what it is handed."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="counted")
        self.handed = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pool() -> Iterator[CountingPool]:
    counting = CountingPool()
    set_asyncio_executor(counting)
    try:
        yield counting
    finally:
        set_asyncio_executor(None)
        counting.shutdown()


def _hops(pool: CountingPool, call: Callable[[], Any]) -> int:
    before = pool.handed
    response = call()
    assert response.status_code == 200, response.text
    return pool.handed - before


@pytest.mark.parametrize("path", [
    "/v1/disputes?limit=20", "/v1/moderation/queue", "/v1/metrics", "/v1/sellers/s-1/scorecard",
])
def test_a_read_model_read_hands_the_pool_only_its_query(
    client: TestClient[Any], case: dict[str, Any], pool: CountingPool, path: str
) -> None:
    # The first read opens the store (in a thread); the seller's scorecard is there
    # once the projections have seen the order.
    deadline = time.monotonic() + 10
    while client.get(path, headers=MODERATOR).status_code != 200:
        assert time.monotonic() < deadline, f"{path} never answered 200"
        time.sleep(0.05)
    assert _hops(pool, lambda: client.get(path, headers=MODERATOR)) == 1


def test_evidence_hands_the_pool_only_the_command(
    client: TestClient[Any], case: dict[str, Any], pool: CountingPool
) -> None:
    body = {"kind": "chat_log", "description": "the chat"}
    url = f"/v1/disputes/{case['id']}/evidence"
    assert _hops(pool, lambda: client.post(url, json=body, headers=BUYER)) == 1
    assert _hops(pool, lambda: client.post(
        url, json=body, headers={**BUYER, "Idempotency-Key": "ev-1"})) == 1


def test_a_case_known_current_is_answered_without_the_pool(
    client: TestClient[Any], case: dict[str, Any], pool: CountingPool
) -> None:
    url = f"/v1/disputes/{case['id']}"
    client.get(url, headers=SELLER)  # read once: kept, and known current from then on
    assert _hops(pool, lambda: client.get(url, headers=SELLER)) == 0
