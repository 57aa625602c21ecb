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
so they do not install handlers of their own.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

import msgspec
import structlog
from structlog.typing import Processor

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


class _NamedWriteLogger(structlog.WriteLogger):
    """A plain line writer that knows its name, so ``add_logger_name`` works.

    Like stdlib logging, it never lets a closed or broken stream break the caller.
    """

    def __init__(self, file: IO[str], name: str | None) -> None:
        super().__init__(file)  # type: ignore[arg-type]  # any text stream works
        self.name = name or "disputedesk"

    def msg(self, message: str) -> None:
        # structlog's own msg() adds a lock and a retry on EINTR: the stream's writer
        # keeps each write whole under its own lock, and Python retries EINTR itself
        # (PEP 475). Every line is written and flushed at once, as before.
        try:
            self._write(message + "\n")
            self._flush()
        except (ValueError, OSError):
            pass

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _NamedWriteLoggerFactory:
    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        return _NamedWriteLogger(self._file, str(args[0]) if args else None)


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


class _UtcStamp:
    """``timestamp``: ISO 8601 in UTC with a ``Z``, exactly as structlog's ``TimeStamper(
    fmt="iso", utc=True)`` writes it, at a fraction of the cost (the seconds part is
    formatted once per second)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _logger: Any, _name: str, event_dict: Any) -> Any:
        now = time.time()
        second = int(now)
        micros = int((now - second) * 1_000_000)
        if second != self._second:
            # A racing thread can only write the same pair for the same second.
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        prefix = self._prefix
        if micros:
            event_dict["timestamp"] = f"{prefix}.{micros:06d}Z"
        else:  # datetime.isoformat() leaves out a zero fraction
            event_dict["timestamp"] = prefix + "Z"
        return event_dict


_RARE_KEYS = ("positional_args", "stack_info", "exc_info")
_positional = structlog.stdlib.PositionalArgumentsFormatter()
_stack_info = structlog.processors.StackInfoRenderer()
_unicode = structlog.processors.UnicodeDecoder()


def _json_ready(logger: Any, name: str, event_dict: Any) -> Any:
    """What ``PositionalArgumentsFormatter``, ``StackInfoRenderer``, ``UnicodeDecoder``
    and ``format_exc_info`` do, with one look at the keys for the usual event (none of
    them applies)."""
    for key in _RARE_KEYS:
        if key in event_dict:
            event_dict = _positional(logger, name, event_dict)
            event_dict = _stack_info(logger, name, event_dict)
            event_dict = _unicode(logger, name, event_dict)
            return structlog.processors.format_exc_info(logger, name, event_dict)
    for key, value in event_dict.items():
        if type(value) is bytes:
            event_dict[key] = value.decode("utf-8", "replace")
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
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
        logger.propagate = True


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
        stamp: _UtcStamp | None = None
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
            # structlog's own events skip stdlib logging altogether: one write per line.
            # The same fields as _shared_processors() + format_exc_info, computed faster.
            stamp = _UtcStamp()
            processors: list[Processor] = [
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                stamp,
                _json_ready,
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
        global _json_lines
        _json_lines = (
            _JsonLines(processors, factory, wrapper, resolved_level, stamp)
            if resolved_fmt == "json"
            else None
        )
        _state = state


def get_logger(name: str, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (use ``__name__``)."""
    return structlog.stdlib.get_logger(name, **initial_values)


class _JsonLines:
    """The json configuration :func:`configure_logging` installed, for :class:`_HotLogger`."""

    def __init__(
        self, processors: list[Processor], factory: Any, wrapper: Any, level: int, stamp: Any
    ) -> None:
        self.processors = processors
        self.chain = tuple(processors)
        self.factory = factory
        self.wrapper = wrapper
        self.level = level
        self.stamp = stamp

    def current(self) -> bool:
        """Whether structlog still runs this configuration (not another, e.g. in tests)."""
        config = structlog.get_config()
        processors = config["processors"]
        return (
            processors is self.processors
            and tuple(processors) == self.chain  # capture_logs() changes the list in place
            and config["logger_factory"] is self.factory
            and config["wrapper_class"] is self.wrapper
        )


_json_lines: _JsonLines | None = None


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
        self._writer: tuple[_JsonLines, Any] | None = None

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

    def _emit(self, method: str, level: int, event: str, fields: dict[str, Any]) -> None:
        lines = _json_lines
        if lines is None or not lines.current():
            getattr(self._logger(), method)(event, **fields)
            return
        # The json chain of configure_logging, step by step, without structlog's
        # per-call machinery: the same line, in the same key order.
        if level < lines.level:
            return
        fields["event"] = event
        event_dict = structlog.contextvars.merge_contextvars(None, method, fields)
        writer = self._writer
        if writer is None or writer[0] is not lines:
            writer = self._writer = (lines, lines.factory(self._name))
        event_dict["logger"] = writer[1].name
        event_dict["level"] = method
        event_dict = lines.stamp(None, method, event_dict)
        event_dict = _json_ready(None, method, event_dict)
        writer[1].msg(_json(event_dict))

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", logging.ERROR, event, fields)


def hot_logger(name: str) -> _HotLogger:
    """A logger for code that logs on every request (see :class:`_HotLogger`)."""
    return _HotLogger(name)
