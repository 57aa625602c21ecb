"""The cap on open event streams per caller, through a server in this process (a stream
never ends, so the test client cannot hold one open)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bench.load.scenario import free_port
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings
from interface.http.app import create_app
from interface.http.auth import issue_token
from tests.api.conftest import SECRET, assert_problem

QUEUE = "/v1/moderation/queue/stream"
MODERATOR = {"Authorization": f"Bearer {issue_token(SECRET, 'moderator', 'm-1')}"}
OTHER_MODERATOR = {"Authorization": f"Bearer {issue_token(SECRET, 'moderator', 'm-2')}"}
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@contextmanager
def live_server(tmp_path: Path, **env: str) -> Iterator[str]:
    """The app served by uvicorn in a thread; yields its base URL."""
    settings = Settings.from_env({"DISPUTEDESK_DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
                                  "DISPUTEDESK_SECRET": SECRET, **env}, cwd=tmp_path)
    desk = build_application(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(desk, settings), host="127.0.0.1",
                                           port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        desk.close()


@contextmanager
def opened(http: httpx.Client, path: str, headers: dict[str, str] | None = None
           ) -> Iterator[httpx.Response]:
    """A stream held open (its first line read), closed on leaving."""
    with http.stream("GET", path, headers=headers) as response:
        lines = response.iter_lines()  # kept: dropping it would close the connection
        if response.status_code == 200:
            next(lines)
        yield response
        del lines


def until_opens(http: httpx.Client, path: str, headers: dict[str, str] | None = None) -> int:
    """The status of the first try that is not 429 (the server sees a close shortly after)."""
    for _ in range(200):
        with opened(http, path, headers) as response:
            if response.status_code != 429:
                return response.status_code
        time.sleep(0.05)
    return 429


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, DISPUTEDESK_MAX_STREAMS="2") as url:
        yield url


def test_a_stream_past_the_cap_is_429_until_one_closes(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10.0) as http, ExitStack() as held:
        # Given a moderator holds the 2 streams allowed
        first = held.enter_context(opened(http, QUEUE, MODERATOR))
        held.enter_context(opened(http, QUEUE, MODERATOR))
        assert first.status_code == 200
        # When the moderator opens a third
        with opened(http, QUEUE, MODERATOR) as third:
            third.read()
            # Then it is refused, saying why and when to retry
            body = assert_problem(third, 429)
        assert body["type"].endswith("/too-many-streams")
        assert "at most 2" in body["detail"]
        assert int(third.headers["retry-after"]) >= 1
        # And another moderator is not held back
        with opened(http, QUEUE, OTHER_MODERATOR) as other:
            assert other.status_code == 200
        # When one of the two streams closes, a new one opens
        held.close()
        assert until_opens(http, QUEUE, MODERATOR) == 200


def sign_in(http: httpx.Client, token: str) -> None:
    form = http.get("/console/sign-in")
    csrf = _CSRF.search(form.text)
    assert csrf, form.text
    answer = http.post("/console/sign-in", data={"token": token, "_csrf_token": csrf[1]})
    assert answer.status_code in (200, 303), answer.text


def test_the_consoles_live_pages_count_towards_the_cap(base: str) -> None:
    token = issue_token(SECRET, "moderator", "m-1")
    with httpx.Client(base_url=base, timeout=10.0) as console, \
            httpx.Client(base_url=base, timeout=10.0) as api, ExitStack() as held:
        sign_in(console, token)
        # Given a moderator's console holds a live page and the API one stream
        live: Any = held.enter_context(opened(console, "/console/live/queue"))
        assert live.status_code == 200
        held.enter_context(opened(api, QUEUE, MODERATOR))
        # When the console opens another live page
        with opened(console, "/console/live/queue") as refused:
            # Then it is refused
            assert refused.status_code == 429
        # And once the streams close, it opens
        held.close()
        assert until_opens(console, "/console/live/queue") == 200
