"""A dispute's state as a lane keeps it: the dispute's own recorded events.

The lane does not encode snapshots: each batch appends, per dispute it
touched, one row with the stored bytes of the events it applied (topic and
state, exactly as the event store holds them); a cache miss reads a dispute's
rows and replays them through the application's mapper and the events' own
``mutate``. Appending costs next to nothing (encoding a snapshot with the JSON
transcoder costs ~80 us per dispute per batch, more than the whole per-event
budget, and rewriting a growing history would write each event many times),
the bytes need no codec of their own (no extra transcoding for ``Money``), and
the state survives changes to the Dispute class: replaying events with the new
code gives the new shape.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from application.projections.ports import Stored

_HEAD = struct.Struct(">IHI")  # originator_version, topic length, state length

_TOPICS: dict[str, bytes] = {}  # each topic encoded once


def frame_all(events: Iterable[Stored]) -> bytes:
    """The events, framed one after the other (what ``unframe`` reads back)."""
    parts: list[bytes] = []
    pack = _HEAD.pack
    for event in events:
        topic = event.topic
        encoded = _TOPICS.get(topic)
        if encoded is None:
            encoded = _TOPICS.setdefault(topic, topic.encode())
        state = event.state
        parts += (pack(event.originator_version, len(encoded), len(state)), encoded, state)
    return b"".join(parts)


def unframe(blob: bytes) -> Iterator[tuple[int, str, bytes]]:
    """(originator_version, topic, state) of each event, in order."""
    offset, end, size = 0, len(blob), _HEAD.size
    while offset < end:
        version, topic_length, state_length = _HEAD.unpack_from(blob, offset)
        offset += size
        topic = blob[offset : offset + topic_length].decode()
        offset += topic_length
        yield version, topic, blob[offset : offset + state_length]
        offset += state_length
