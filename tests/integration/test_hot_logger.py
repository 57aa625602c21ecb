"""The per-request logger writes exactly the lines structlog's own chain writes."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from infrastructure.logging import configure_logging, get_logger, hot_logger

pytestmark = pytest.mark.usefixtures("restore_logging")


FIELDS = {"method": "GET", "status": 200, "role": None, "duration_ms": 0.25, "raw": b"abc"}


def test_json_lines_match_structlog() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.contextvars.bind_contextvars(request_id="req-1")
    get_logger("disputedesk.http").info("http.request", **FIELDS)
    hot_logger("disputedesk.http").info("http.request", **FIELDS)
    hot_logger("disputedesk.http").warning("slow", ms=3)
    plain, hot, warning = (json.loads(line) for line in stream.getvalue().splitlines())
    assert hot.pop("timestamp").endswith("Z") and plain.pop("timestamp").endswith("Z")
    assert list(hot.items()) == list(plain.items())
    assert hot["request_id"] == "req-1" and hot["raw"] == "abc"
    assert warning["level"] == "warning" and warning["ms"] == 3


def test_level_and_reconfiguring_are_respected() -> None:
    stream = io.StringIO()
    log = hot_logger("disputedesk.http")
    configure_logging("json", "WARNING", stream=stream)
    log.info("hidden")
    log.error("shown")
    configure_logging("console", "INFO", stream=stream)
    log.info("console line", n=1)
    lines = stream.getvalue().splitlines()
    assert [json.loads(lines[0])["event"]] == ["shown"]
    assert "console line" in lines[1] and "n=1" in lines[1]


def test_capture_logs_sees_hot_lines() -> None:
    configure_logging("json", stream=io.StringIO())
    with capture_logs() as captured:
        hot_logger("disputedesk.http").info("captured", n=2)
    assert captured == [{"n": 2, "event": "captured", "log_level": "info"}]


def test_exceptions_still_render() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        hot_logger("disputedesk.http").error("failed", exc_info=True)
    line = json.loads(stream.getvalue())
    assert "ValueError: boom" in line["exception"]


def test_lines_from_many_threads_stay_whole_and_a_closed_stream_breaks_nobody(
    tmp_path: Path,
) -> None:
    with (tmp_path / "server.log").open("w") as stream:
        configure_logging("json", stream=stream)
        log = hot_logger("disputedesk.http")

        def write(thread: int) -> None:
            for index in range(300):
                log.info("http.request", thread=thread, index=index, path="/x" * 40)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    lines = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()]
    assert len(lines) == 8 * 300
    assert {(line["thread"], line["index"]) for line in lines} == {
        (n, i) for n in range(8) for i in range(300)
    }
    log.info("http.request", after="close")  # the stream is closed: no error reaches us
