"""Decode stored events faster than ``Mapper.to_domain_event``, into the same objects.

The projections and the simulator read every event of the store; this is their
decoder. A test checks it gives exactly what the library's mapper gives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import msgspec
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

_FAST: dict[type[Transcoding], Callable[[Any], Any]] = {
    DatetimeAsISO: datetime.fromisoformat,
    DecimalAsStr: Decimal,
    UUIDAsHex: UUID,
}


class _Transcoded(msgspec.Struct, rename={"kind": "_type_", "data": "_data_"}):
    kind: str
    data: Any


class _Stamps(msgspec.Struct):
    timestamp: _Transcoded
    occurred_at: _Transcoded


# An event class, its originator-id convertor, its class version, and the keys
# that hold transcoded values (None: decode every value the long way).
_Shape = tuple[type[Any], Callable[[Any], Any], int, tuple[str, ...] | None]


class FastDecoder:
    """``Mapper.to_domain_event`` for the plain JSON transcoder, about twice as fast.

    The library's decoder calls a Python hook for every JSON object; here msgspec
    parses the state and only the transcoded values (``{"_type_", "_data_"}``) are
    turned back into objects, innermost first, exactly as the hook would. Mappers
    with a cipher or a compressor, and anything this does not parse, go through
    the library's own ``to_domain_event``.
    """

    def __init__(self, mapper: Mapper[Any]) -> None:
        self._mapper = mapper
        transcoder = mapper.transcoder
        self.enabled = (
            isinstance(transcoder, JSONTranscoder)
            and mapper.cipher is None
            and mapper.compressor is None
        )
        names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        # The library's own transcodings decode with one C call; others with their method.
        self._names: dict[str, Callable[[Any], Any]] = {
            name: _FAST.get(type(transcoding), transcoding.decode)
            for name, transcoding in names.items()
        }
        self._json = msgspec.json.Decoder()
        self._shapes: dict[tuple[str, type[object]], _Shape] = {}
        self._stamps = msgspec.json.Decoder(_Stamps)

    def __call__(self, stored: StoredEvent) -> object:
        return self.decode(
            stored.originator_id, stored.originator_version, stored.topic, stored.state
        )

    def decode(
        self, originator_id: UUID | str, originator_version: int, topic: str, raw: bytes
    ) -> Any:
        """The domain event of a stored event given by its columns (no StoredEvent built)."""
        if not self.enabled:
            return self._slow(originator_id, originator_version, topic, raw)
        try:
            state = self._json.decode(raw)
        except msgspec.DecodeError:
            return self._slow(originator_id, originator_version, topic, raw)
        if type(state) is not dict:
            return self._slow(originator_id, originator_version, topic, raw)
        id_type = type(originator_id)
        shape = self._shapes.get((topic, id_type))
        if shape is None:
            shape = self._learn(topic, id_type, raw, state)
        else:
            cls, convertor, class_version, typed = shape
            if not (
                typed is not None
                and raw.count(b'"_type_"') == len(typed)
                and self._convert_typed(state, typed)
            ):
                self._convert_all(state)
        cls, convertor, class_version, _ = shape
        state["originator_id"] = convertor(originator_id)
        state["originator_version"] = originator_version
        if class_version > 1:
            from_version = state.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def stamps(
        self, originator_id: UUID | str, originator_version: int, topic: str, raw: bytes
    ) -> tuple[datetime, datetime]:
        """Only an event's ``timestamp`` and ``occurred_at``, without decoding the rest."""
        if self.enabled:
            try:
                found = self._stamps.decode(raw)
                names = self._names
                return (
                    names[found.timestamp.kind](found.timestamp.data),
                    names[found.occurred_at.kind](found.occurred_at.data),
                )
            except (msgspec.DecodeError, KeyError):
                pass
        event: Any = self.decode(originator_id, originator_version, topic, raw)
        return event.timestamp, event.occurred_at

    def _slow(
        self, originator_id: UUID | str, originator_version: int, topic: str, raw: bytes
    ) -> object:
        stored = StoredEvent(originator_id, originator_version, topic, raw)
        return self._mapper.to_domain_event(stored)

    def _learn(
        self, topic: str, id_type: type[object], raw: bytes, state: dict[str, Any]
    ) -> _Shape:
        """Decode the first event of a topic the long way and remember its shape.

        The shape's typed keys are the top-level fields that held a transcoded
        value. A later event of the topic takes the short way only when its bytes
        hold exactly that many transcoded values and each of those keys holds one,
        so a value anywhere else is never missed.
        """
        typed = tuple(
            key
            for key, value in state.items()
            if type(value) is dict
            and len(value) == 2
            and type(value.get("_data_")) is str
            and "_type_" in value
        )
        self._convert_all(state)
        cls = resolve_topic(topic)
        shape: _Shape = (
            cls,
            find_id_convertor(cls, cast(Hashable, id_type)),
            getattr(cls, "class_version", 1),
            typed if raw.count(b'"_type_"') == len(typed) else None,
        )
        self._shapes[(topic, id_type)] = shape
        return shape

    def _convert_typed(self, state: dict[str, Any], typed: tuple[str, ...]) -> bool:
        """Convert the values at ``typed``; False if one is not a transcoded value.

        A partial conversion is harmless: the long way leaves converted values be.
        """
        names = self._names
        try:
            for key in typed:
                value = state[key]
                if len(value) != 2:
                    return False
                state[key] = names[value["_type_"]](value["_data_"])
        except (KeyError, TypeError):
            return False
        return True

    def _convert_all(self, state: dict[str, Any]) -> None:
        names = self._names
        for key, value in state.items():
            kind = type(value)
            if kind is dict:
                data = value.get("_data_")
                if len(value) == 2 and type(data) is str and "_type_" in value:
                    state[key] = names[value["_type_"]](data)  # the common case
                else:
                    state[key] = self._value(value)
            elif kind is list:
                state[key] = self._value(value)

    def _value(self, value: Any) -> Any:
        kind = type(value)
        if kind is list:
            return [self._value(item) for item in value]
        if kind is not dict:
            return value
        decoded = {key: self._value(item) for key, item in value.items()}
        if len(decoded) == 2 and "_type_" in decoded and "_data_" in decoded:
            return self._names[decoded["_type_"]](decoded["_data_"])
        return decoded
