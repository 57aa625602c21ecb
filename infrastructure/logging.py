"""Structured logging for the whole process (structlog in front of stdlib logging).

Call :func:`configure_logging` once at start-up (calling it again with the same
arguments does nothing; with different ones it reconfigures cleanly). Then:

- ``get_logger(__name__).info("case_opened", dispute_id=...)`` logs an event;
- ``structlog.contextvars.bind_contextvars(request_id=...)`` adds fields to every
  event logged in the current context (request ids, actor ids);
- records sent through stdlib ``logging`` (uvicorn, litestar, eventsourcing) get
  the same format, because one handler on the root logger renders everything.

Formats: ``console`` (coloured when the stream is a terminal) or ``json`` (one
object per line with ``timestamp`` in ISO 8601 UTC, ``level``, ``logger`` and
``event``). With ``fmt=None`` the format is ``console`` on a terminal, else ``json``.

Servers: pass ``log_config=None`` to uvicorn and ``logging_config=None`` to
Litestar (or call :func:`adopt_stdlib_loggers` after they configured themselves),
so they do not install handlers of their own. uvicorn's access log stays off
(``SILENT_LOGGERS``): the HTTP app writes one ``http.request`` line per request,
with the query's secrets hidden, whatever the worker count (uvicorn writes its
access line when that logger has a handler, and each worker configures anew).

While a request is traced (OpenTelemetry), every line carries ``trace_id`` and
``span_id``, so a log search and a trace lead to each other.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from typing import IO, Any

import msgspec
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["adopt_stdlib_loggers", "configure_logging", "get_logger", "hot_logger"]

FORMATS = ("console", "json")
#: Loggers that install their own handlers; they are made to propagate to ours.
THIRD_PARTY_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "litestar",
    "eventsourcing",
)
#: Loggers kept without handlers and not propagating: uvicorn's access line would
#: repeat (unredacted) what ``http.request`` says.
SILENT_LOGGERS = ("uvicorn.access",)

_lock = threading.Lock()
_state: tuple[str, int, int] | None = None  # (format, level, id of stream)


class _Handler(logging.StreamHandler[IO[str]]):
    """Marks the handler this module installed, so reconfiguring can replace it."""


_encoder = msgspec.json.Encoder(enc_hook=str)


def _json(obj: Any, **_: Any) -> str:
    return _encoder.encode(obj).decode()


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment a line is written."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


_STDERR = _CurrentStderr()


class _QuietStream:
    """The stream structlog's lines go to: like stdlib logging, a closed or broken
    stream never breaks the caller."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except (ValueError, OSError):
            return 0

    def flush(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._file.flush()


class _NamedWriteLogger(structlog.WriteLogger):
    """structlog's line writer, with the name ``add_logger_name`` reads."""

    def __init__(self, file: _QuietStream, name: str) -> None:
        super().__init__(file)  # type: ignore[arg-type]  # any object with write and flush
        self.name = name


class _NamedWriteLoggerFactory(structlog.WriteLoggerFactory):
    """``WriteLoggerFactory`` that names each logger after ``get_logger``'s argument."""

    def __init__(self, file: IO[str]) -> None:
        super().__init__()
        self._stream = _QuietStream(file)  # one stream, so one lock for every logger

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._stream, str(args[0]) if args else "disputedesk")


def _resolve_format(fmt: str | None, stream: IO[str]) -> str:
    if fmt is None:
        isatty = getattr(stream, "isatty", None)
        return "console" if callable(isatty) and isatty() else "json"
    normalised = fmt.strip().lower()
    if normalised not in FORMATS:
        raise ValueError(f"log format must be 'console' or 'json', got {fmt!r}")
    return normalised


def _resolve_level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelNamesMapping().get(level.strip().upper())
    if value is None:
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    return value


def add_trace_ids(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Add the current span's ``trace_id`` and ``span_id`` (hex), when one is recording."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.UnicodeDecoder(),
    ]


def adopt_stdlib_loggers(*names: str) -> None:
    """Strip the handlers of the named stdlib loggers and let them propagate to root."""
    for name in names or THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = name not in SILENT_LOGGERS


def configure_logging(
    fmt: str | None = None, level: str | int = "INFO", *, stream: IO[str] | None = None
) -> None:
    """Configure structlog and stdlib logging to render to ``stream`` (default stderr)."""
    global _state
    out: IO[str] = stream if stream is not None else _STDERR  # type: ignore[assignment]
    resolved_fmt = _resolve_format(fmt, out)
    resolved_level = _resolve_level(level)
    state = (resolved_fmt, resolved_level, id(out))
    with _lock:
        if _state == state:
            return

        renderer: Processor
        final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
        if resolved_fmt == "json":
            final += [structlog.processors.format_exc_info]
            renderer = structlog.processors.JSONRenderer(sort_keys=False)
        else:
            isatty = getattr(out, "isatty", None)
            colors = bool(callable(isatty) and isatty())
            renderer = structlog.dev.ConsoleRenderer(colors=colors)
        final.append(renderer)

        formatter = structlog.stdlib.ProcessorFormatter(
            processors=final,
            foreign_pre_chain=_shared_processors(),
        )
        handler = _Handler(out)
        handler.setFormatter(formatter)

        root = logging.getLogger()
        for old in [h for h in root.handlers if isinstance(h, _Handler)]:
            root.removeHandler(old)
            old.close()
        root.addHandler(handler)
        root.setLevel(resolved_level)
        adopt_stdlib_loggers()

        if resolved_fmt == "json":
            # structlog's own events skip stdlib logging altogether: one write per line,
            # with the fields of the stdlib path (_shared_processors + format_exc_info).
            processors: list[Processor] = [
                *_shared_processors(),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_json),
            ]
            factory: Any = _NamedWriteLoggerFactory(out)
        else:
            processors = [
                *_shared_processors(),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ]
            factory = structlog.stdlib.LoggerFactory()
        wrapper = structlog.make_filtering_bound_logger(resolved_level)
        structlog.configure(
            processors=processors,
            logger_factory=factory,
            # Filters by level before any processor runs: a filtered call is free.
            wrapper_class=wrapper,
            context_class=dict,
            # Not cached, so that reconfiguring also reaches module-level loggers.
            cache_logger_on_first_use=False,
        )
        _state = state


def get_logger(name: str, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (use ``__name__``)."""
    return structlog.stdlib.get_logger(name, **initial_values)


class _HotLogger:
    """A logger for a hot path: assembled once per structlog configuration.

    structlog's lazy proxy (what :func:`get_logger` returns, uncached on purpose)
    assembles a new bound logger on every call, which costs more than rendering
    the line. This one keeps the assembled logger while the configuration (its
    processors, wrapper class, logger factory and context class) stays the same,
    so reconfiguring still takes effect at once.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._key: tuple[Any, ...] | None = None
        self._bound: Any = None

    def _logger(self) -> Any:
        config = structlog.get_config()
        key = (
            id(config["processors"]),
            config["wrapper_class"],
            config["logger_factory"],
            config["context_class"],
        )
        bound = self._bound
        if key != self._key or bound is None:
            bound = structlog.get_logger(self._name).bind()
            self._bound, self._key = bound, key
        return bound

    def debug(self, event: str, **fields: Any) -> None:
        self._logger().debug(event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._logger().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._logger().warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._logger().error(event, **fields)


def hot_logger(name: str) -> _HotLogger:
    """A logger for code that logs on every request (see :class:`_HotLogger`)."""
    return _HotLogger(name)
