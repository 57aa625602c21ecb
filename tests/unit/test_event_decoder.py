"""The fast decoder gives exactly the mapper's events, however a topic's values vary."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from application.event_decoder import FastDecoder


class Parcel(Aggregate):
    @event("Noted")
    def note(self, at: datetime | None, amount: Any, extra: Any) -> None:
        pass

    @event("Stamped")
    def stamp(self, occurred_at: datetime, note: str) -> None:
        pass


def mapper() -> Mapper[Any]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def test_the_fast_decoder_follows_values_that_change_shape_within_a_topic() -> None:
    parcel = Parcel()
    moment = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    parcel.note(at=moment, amount=Decimal("1.50"), extra=None)
    parcel.note(at=None, amount=Decimal("2.00"), extra=moment)  # the same count, other keys
    parcel.note(at=moment, amount=Decimal("2.50"), extra=moment)  # one transcoded value more
    parcel.note(at=moment, amount="plain", extra=[moment, {"nested": Decimal("3")}])
    parcel.note(at=moment, amount=Decimal("4"), extra={"_type_": "not-a-transcoding"})
    parcel.note(at=moment, amount=Decimal("5"), extra='"_type_" in a string')
    the_mapper = mapper()
    stored = [the_mapper.to_stored_event(e) for e in parcel.collect_events()]
    decoder = FastDecoder(the_mapper)
    for item in stored + stored:  # twice: the second time every topic's shape is known
        fast, slow = decoder(item), the_mapper.to_domain_event(item)
        assert type(fast) is type(slow) and vars(fast) == vars(slow)
        by_columns = decoder.decode(
            item.originator_id, item.originator_version, item.topic, item.state
        )
        assert vars(by_columns) == vars(slow)


def test_a_string_originator_id_is_converted_as_the_mapper_does() -> None:
    parcel = Parcel()
    the_mapper = mapper()
    created = the_mapper.to_stored_event(parcel.collect_events()[0])
    as_text = StoredEvent(str(created.originator_id), 1, created.topic, created.state)
    assert vars(FastDecoder(the_mapper)(as_text)) == vars(the_mapper.to_domain_event(as_text))


def test_the_stamps_of_an_event_are_its_decoded_instants() -> None:
    parcel = Parcel()
    parcel.stamp(occurred_at=datetime(2026, 11, 20, 18, 0, tzinfo=UTC), note="x")
    the_mapper = mapper()
    stamped = the_mapper.to_stored_event(parcel.collect_events()[1])
    slow: Any = the_mapper.to_domain_event(stamped)
    assert slow.timestamp != slow.occurred_at
    assert FastDecoder(the_mapper).stamps(
        stamped.originator_id, 2, stamped.topic, stamped.state
    ) == (slow.timestamp, slow.occurred_at)
