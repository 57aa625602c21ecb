"""DISPUTEDESK_THREADS: how many threads a server process gives blocking handlers."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

from infrastructure.settings import Settings
from infrastructure.settings_errors import SettingsError
from interface.http.runtime import THREAD_PREFIX, thread_pool


def test_unset_leaves_pythons_default() -> None:
    assert Settings.from_env({}).ops.threads is None


def test_a_number_of_threads_is_read() -> None:
    assert Settings.from_env({"DISPUTEDESK_THREADS": " 32 "}).ops.threads == 32


@pytest.mark.parametrize("raw", ["0", "257", "-1", "many", "2.5"])
def test_anything_else_is_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(SettingsError, match="DISPUTEDESK_THREADS must be a whole number"):
        Settings.from_env({"DISPUTEDESK_THREADS": raw})


def _threads_used(size: int | None, calls: int) -> set[str]:
    """The names of the threads ``calls`` blocking calls ran in, all started at once
    and each holding its thread until all the pool's threads are busy."""

    async def main() -> set[str]:
        thread_pool(size)()
        loop = asyncio.get_running_loop()
        busy = threading.Barrier(min(calls, size or calls), timeout=5)

        def call() -> str:
            with contextlib.suppress(threading.BrokenBarrierError):  # the test then fails
                busy.wait()
            return threading.current_thread().name

        return set(await asyncio.gather(*(loop.run_in_executor(None, call)
                                           for _ in range(calls))))

    return asyncio.run(main())


def test_the_start_up_hook_gives_the_loop_a_pool_of_that_size() -> None:
    names = _threads_used(3, calls=9)
    assert len(names) == 3  # never more threads than asked, all of them used
    assert all(name.startswith(THREAD_PREFIX) for name in names)


def test_without_a_size_the_hook_changes_nothing() -> None:
    names = _threads_used(None, calls=2)
    assert not any(name.startswith(THREAD_PREFIX) for name in names)
