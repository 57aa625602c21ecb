"""Claims in the moderation queue, on SQLite and on PostgreSQL: who claimed each case,
the ``claim`` filter, the counts, claims that expire between two reads, and a store
upgraded to the disputes view's schema 3 (rebuilt from the log)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.disputes import DisputeDesk
from application.projections.catalog import READ_MODELS
from application.projections.errors import ReadModelUnavailable
from application.projections.queries import ReadModelQueries
from application.projections.rebuild import rebuild
from application.projections.runner import Projector
from application.projections.source import ApplicationSource
from domain.dispute import Actor
from domain.errors import InvalidInput
from domain.money import Money
from infrastructure.clock import ManualClock
from infrastructure.stores import open_reader
from tests.integration.test_projections_support import (
    PLATFORM,
    catch_up,
    current_versions,
    opened_store,
    settings_for,
)

LA = ZoneInfo("America/Los_Angeles")
M1 = Actor("moderator", "m-1")
M2 = Actor("moderator", "m-2")
#: Past every ship-by of the orders below (US: Tue 24th; GB: Wed 25th).
LATE = datetime(2026, 11, 27, 9, 0, tzinfo=LA)
#: order id -> (region, intervention reason)
CASES = {"o-1": ("US", "not_shipped"), "o-2": ("US", "not_shipped"),
         "o-3": ("US", "other"), "o-4": ("GB", "other")}


@pytest.fixture
def queries(database_url: str, manual_clock: ManualClock) -> Iterator[ReadModelQueries]:
    reader = open_reader(settings_for(database_url).database)
    try:
        yield ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
    finally:
        reader.close()


@pytest.fixture
def queued(app: DisputeDesk, manual_clock: ManualClock) -> dict[str, UUID]:
    """Four cases under review, in the queue in the order o-1 .. o-4."""
    cases: dict[str, UUID] = {}
    for order_id, (region, _) in CASES.items():
        currency = "GBP" if region == "GB" else "USD"
        view, _ = app.place_order(
            order_id=order_id, buyer_id="b-1", seller_id="s-1", region=region,
            category="general", amount=Money.of("25.00", currency),
            placed_at=manual_clock.now(), actor=PLATFORM,
        )
        cases[order_id] = UUID(view["id"])
    manual_clock.set(LATE)
    for order_id, (_, reason) in CASES.items():
        case = cases[order_id]
        app.contact_seller(case, message="where is it?", channel="chat",
                           actor=Actor("buyer", "b-1"))
        app.respond(case, message="soon", actor=Actor("seller", "s-1"))
        manual_clock.advance(timedelta(minutes=1))
        app.request_intervention(case, reason=reason, statement="late",
                                 actor=Actor("buyer", "b-1"))
    return cases


def ids(page: dict[str, Any]) -> list[str]:
    return [row["order_id"] for row in page["data"]]


def claims(page: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {row["order_id"]: (row["claimed_by"], row["claim_expires_at"]) for row in page["data"]}


def test_the_queue_names_who_claimed_each_case_filters_and_counts(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock,
    queued: dict[str, UUID],
) -> None:
    mine = app.claim(queued["o-1"], actor=M1)
    app.claim(queued["o-3"], actor=M2)
    catch_up(app, database_url)

    everything = queries.moderation_queue(M1)
    assert ids(everything) == ["o-1", "o-2", "o-3", "o-4"]
    expires = mine["claim"]["expires_at"]
    assert claims(everything)["o-1"] == ("m-1", expires)
    assert claims(everything)["o-3"][0] == "m-2"
    assert claims(everything)["o-2"] == claims(everything)["o-4"] == (None, None)
    assert everything["counts"] == {"total": 4, "unclaimed": 2, "mine": 1,
                                    "by_reason": {"not_shipped": 2, "other": 2}}

    assert ids(queries.moderation_queue(M1, claim="mine")) == ["o-1"]
    assert ids(queries.moderation_queue(M1, claim="others")) == ["o-3"]
    assert ids(queries.moderation_queue(M1, claim="unclaimed")) == ["o-2", "o-4"]
    assert ids(queries.moderation_queue(M2, claim="mine")) == ["o-3"]
    assert ids(queries.moderation_queue(M2, claim="others")) == ["o-1"]
    assert queries.moderation_queue(M2)["counts"]["mine"] == 1

    # The counts follow the other filters, never the claim filter or the page.
    page = queries.moderation_queue(M1, claim="unclaimed", limit=1)
    assert ids(page) == ["o-2"] and page["counts"] == everything["counts"]
    assert ids(queries.moderation_queue(M1, claim="unclaimed", after=page["next_after"])) == [
        "o-4"]
    assert queries.moderation_queue(M1, reason="other")["counts"] == {
        "total": 2, "unclaimed": 1, "mine": 0, "by_reason": {"other": 2}}
    assert queries.moderation_queue(M1, region="GB", claim="mine")["counts"] == {
        "total": 1, "unclaimed": 1, "mine": 0, "by_reason": {"other": 1}}
    with pytest.raises(InvalidInput, match="mine, unclaimed, others"):
        queries.moderation_queue(M1, claim="everybody")


def test_a_claim_expires_at_read_time_and_a_release_is_folded_in(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock,
    queued: dict[str, UUID],
) -> None:
    app.claim(queued["o-1"], actor=M1)
    app.claim(queued["o-2"], actor=M2)
    catch_up(app, database_url)
    manual_clock.advance(timedelta(minutes=119))
    assert ids(queries.moderation_queue(M1, claim="mine")) == ["o-1"]

    # Two hours after: no new event, yet the claims lapsed for the queue.
    manual_clock.advance(timedelta(minutes=1))
    later = queries.moderation_queue(M1)
    assert set(claims(later).values()) == {(None, None)}
    assert later["counts"]["unclaimed"] == 4 and later["counts"]["mine"] == 0
    assert ids(queries.moderation_queue(M1, claim="mine")) == []
    assert ids(queries.moderation_queue(M1, claim="others")) == []

    # A fresh claim, then its release: the row follows the log.
    app.claim(queued["o-4"], actor=M1)
    catch_up(app, database_url)
    assert claims(queries.moderation_queue(M1))["o-4"][0] == "m-1"
    released = app.release_claim(queued["o-4"], actor=M1)
    catch_up(app, database_url)
    page = queries.moderation_queue(M1, min_position=released["position"])
    assert claims(page)["o-4"] == (None, None)


def test_an_upgraded_store_rebuilds_the_disputes_view_with_the_claims(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, queued: dict[str, UUID],
) -> None:
    assert READ_MODELS["disputes"].schema == 3
    app.claim(queued["o-2"], actor=M2)
    catch_up(app, database_url)
    with opened_store(app, database_url) as store:
        # A store written before claims: its disputes view is at schema 2.
        session: Any = store.session  # type: ignore[attr-defined]
        with session.transaction():
            session.execute("UPDATE rm_versions SET schema_version = 2 WHERE name = 'disputes'")
        Projector(ApplicationSource(app), store).load()
        with pytest.raises(ReadModelUnavailable, match="rebuild disputes"):
            queries.moderation_queue(M1)
        result = rebuild(ApplicationSource(app), store, "disputes")
        assert result.switched
        assert current_versions(store)["disputes"].schema == 3
    rebuilt = queries.moderation_queue(M1)
    assert claims(rebuilt)["o-2"][0] == "m-2"
    assert rebuilt["counts"]["unclaimed"] == 3
