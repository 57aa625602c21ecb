"""Where commands report how they ended and what they appended (the metrics' port).

Every command on a dispute passes :class:`~application.dispute_commands.DisputeCommands`;
it reports there, and whoever watches the process (the HTTP app's metrics)
subscribes. Like the logger, the hub is process-wide: the application never
knows who listens, and nothing listens unless something subscribed.
"""

from __future__ import annotations

import enum
import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from domain.errors import (
    ConcurrentModification,
    Contention,
    InvalidInput,
    NotForThisActor,
    NotFound,
    TransitionRefused,
)

__all__ = ["COMMAND_OUTCOMES", "CommandObserver", "CommandOutcomes", "Outcome", "counted"]

P = ParamSpec("P")
S = TypeVar("S")
R = TypeVar("R")


class Outcome(enum.StrEnum):
    """How a command ended, coarse enough to be a metric's label."""

    OK = "ok"
    REPLAYED = "replayed"  # a retried request, answered from its first run
    REFUSED = "refused"  # the case's state or the actor's place does not allow it
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # another writer won (If-Match, or contention)
    ERROR = "error"


def outcome_of(error: BaseException) -> Outcome:
    if isinstance(error, TransitionRefused | NotForThisActor):
        return Outcome.REFUSED
    if isinstance(error, InvalidInput):
        return Outcome.INVALID
    if isinstance(error, NotFound):
        return Outcome.NOT_FOUND
    if isinstance(error, ConcurrentModification | Contention):
        return Outcome.CONFLICT
    return Outcome.ERROR


class CommandObserver(Protocol):
    """Told each command's end and each event a command appended."""

    def command_done(self, command: str, outcome: Outcome) -> None: ...

    def events_appended(self, event_types: list[str]) -> None: ...


class CommandOutcomes:
    """The hub: observers subscribe; reports reach each (a failing one is skipped)."""

    def __init__(self) -> None:
        self._observers: tuple[CommandObserver, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, observer: CommandObserver) -> Callable[[], None]:
        """Start telling ``observer``; returns the call that stops it."""
        with self._lock:
            self._observers = (*self._observers, observer)

        def unsubscribe() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)

        return unsubscribe

    def command_done(self, command: str, outcome: Outcome) -> None:
        for observer in self._observers:
            try:
                observer.command_done(command, outcome)
            except Exception:  # counting never fails a command
                continue

    def appended(self, events: Iterable[object]) -> None:
        observers = self._observers
        if not observers:
            return
        names = [type(event).__name__ for event in events]
        for observer in observers:
            try:
                observer.events_appended(names)
            except Exception:  # counting never fails a command
                continue


COMMAND_OUTCOMES = CommandOutcomes()


def _replayed(result: object) -> bool:
    view = result[0] if isinstance(result, tuple) and result else result
    return isinstance(view, dict) and bool(view.get("replayed"))


def counted(
    name: str | None = None,
) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Report each call's outcome; the command is ``name`` or the call's first argument."""

    def decorate(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        @functools.wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            command = name if name is not None else str(_first(args, kwargs))
            try:
                result = method(self, *args, **kwargs)
            except BaseException as error:
                COMMAND_OUTCOMES.command_done(command, outcome_of(error))
                raise
            outcome = Outcome.REPLAYED if _replayed(result) else Outcome.OK
            COMMAND_OUTCOMES.command_done(command, outcome)
            return result

        return wrapper

    return decorate


def _first(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    return args[0] if args else kwargs.get("command", "unknown")
