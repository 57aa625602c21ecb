"""Choosing a seller: the seller search and the seller's page, on SQLite and PostgreSQL.

Most tests search a demo marketplace (named shops, some renamed in the window,
abusive reviews a moderator hid, return labels the sellers paid) and check
every answer against the cases themselves; the rest build small stories by
hand (names by placement, hiding and showing a review, several currencies).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

import pytest

from application.disputes import DisputeDesk
from application.projections.errors import ReadModelUnavailable, SellerNotFound
from application.projections.queries import ReadModelQueries
from application.projections.rebuild import rebuild
from application.projections.records import SellerQuery, to_micros
from application.projections.runner import Projector
from application.projections.source import ApplicationSource
from domain.dispute import Actor, dispute_id_for
from domain.errors import InvalidInput
from domain.money import Money
from infrastructure.clock import ManualClock
from infrastructure.stores import open_reader
from interface.demo.profile import DEFAULT_PROFILE
from interface.demo.scenario import order_id, run_demo
from tests.integration.test_projections_support import (
    MODERATOR,
    PLATFORM,
    catch_up,
    dump,
    opened_store,
    settings_for,
)

BUYER = Actor("buyer", "b-anyone")
SEED = 21
ORDERS = 120
END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # the manual clock's now
#: Small shops, many returns, renames and abusive reviews, so that 120 orders show each.
PROFILE = dataclasses.replace(
    DEFAULT_PROFILE, orders_per_seller=12, returns=0.3, rebrands=0.3, abusive_reviews=0.15
)


@pytest.fixture
def queries(
    app: DisputeDesk, database_url: str, manual_clock: ManualClock
) -> Iterator[ReadModelQueries]:
    reader = open_reader(settings_for(database_url).database)
    try:
        yield ReadModelQueries(reader, manual_clock, wait_timeout=1.0)
    finally:
        reader.close()


@dataclasses.dataclass
class Expected:
    """A seller as its cases tell it."""

    name: tuple[str, str] = ("", "")  # (placed_at, name) of the latest named order
    orders: int = 0
    regions: set[str] = dataclasses.field(default_factory=set)
    categories: set[str] = dataclasses.field(default_factory=set)
    markets: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    ratings: list[int] = dataclasses.field(default_factory=list)  # the reviews buyers see
    hidden: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    reviews: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # every review
    labels: dict[str, list[Decimal]] = dataclasses.field(default_factory=dict)

    @property
    def average(self) -> Fraction | None:
        return Fraction(sum(self.ratings), len(self.ratings)) if self.ratings else None


@pytest.fixture
def market(app: DisputeDesk, database_url: str, manual_clock: ManualClock) -> dict[str, Expected]:
    """The demo marketplace, projected; each seller as its cases tell it."""
    summary = run_demo(app, manual_clock, orders=ORDERS, seed=SEED, end=END, days=20,
                       profile=PROFILE)
    assert summary.refused == {}
    sellers: dict[str, Expected] = defaultdict(Expected)
    for n in range(1, ORDERS + 1):
        case = app.case(dispute_id_for(order_id(SEED, n)), MODERATOR)
        seller = sellers[case["seller_id"]]
        seller.orders += 1
        seller.regions.add(case["region"])
        seller.categories.add(case["category"])
        seller.markets.add((case["region"], case["category"]))
        if case["seller_name"] is not None:
            seller.name = max(seller.name, (case["placed_at"], case["seller_name"]))
        review = case["review"]
        if review is not None:
            seller.reviews.append({**review, "dispute_id": case["id"],
                                   "order_id": case["order_id"]})
            if review["hidden"]:
                seller.hidden.append(review)
            else:
                seller.ratings.append(review["rating"])
        refund = case["refund"]
        sent_back = refund and refund["return"]
        if sent_back and sent_back["label_cost"] is not None:
            cost = sent_back["label_cost"]
            seller.labels.setdefault(cost["currency"], []).append(Decimal(cost["amount"]))
    catch_up(app, database_url, batch_size=97)
    return dict(sellers)


def everyone(queries: ReadModelQueries, **filters: Any) -> list[dict[str, Any]]:
    return list(queries.sellers(BUYER, limit=500, **filters)["data"])


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["seller_id"] for row in rows]


# ---- the search ---------------------------------------------------------------------


def test_the_search_lists_every_seller_as_its_cases_tell_it(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    # The marketplace has what the tests below rely on.
    assert sum(len(s.hidden) for s in market.values()) >= 3
    assert sum(len(s.labels) for s in market.values()) >= 3

    rows = everyone(queries)
    assert sorted(ids(rows)) == sorted(market)
    for row in rows:
        seller = market[row["seller_id"]]
        assert row["seller_name"] == seller.name[1], row
        assert row["orders"] == seller.orders
        assert row["regions"] == sorted(seller.regions)
        assert row["categories"] == sorted(seller.categories)
        assert row["reviews"] == len(seller.ratings)
        average = seller.average
        assert row["average_rating"] == (None if average is None else round(float(average), 2))
        # The list's figures are the scorecard's.
        card = queries.scorecard(BUYER, row["seller_id"])
        assert {k: card[k] for k in row if k in card} == {k: row[k] for k in row if k in card}


def test_a_seller_is_found_by_id_or_by_the_start_of_its_name(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    some = sorted(market)[3]
    assert ids(queries.sellers(BUYER, q=some)["data"]) == [some]
    assert ids(queries.sellers(BUYER, q=f"  {some} ")["data"]) == [some]
    assert queries.sellers(BUYER, q=some.upper())["data"] == []  # ids are exact

    for seller_id, seller in market.items():
        name = seller.name[1]
        for prefix in (name, name[:4].upper(), name[:4].lower(), name.split()[0]):
            expected = {
                other for other, s in market.items()
                if s.name[1].casefold().startswith(prefix.casefold())
            }
            assert seller_id in expected
            assert set(ids(everyone(queries, q=prefix))) == expected, prefix
    assert everyone(queries, q="No Such Shop") == []


def test_a_renamed_seller_is_found_under_its_latest_name_only(
    app: DisputeDesk, market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    names: dict[str, set[str]] = defaultdict(set)
    for n in range(1, ORDERS + 1):
        case = app.case(dispute_id_for(order_id(SEED, n)), MODERATOR)
        names[case["seller_id"]].add(case["seller_name"])
    renamed = {seller_id: found for seller_id, found in names.items() if len(found) > 1}
    assert renamed, "the marketplace has a seller that traded under two names"
    for seller_id, found in renamed.items():
        latest = market[seller_id].name[1]
        (old,) = found - {latest}
        assert seller_id in ids(everyone(queries, q=latest))
        if not latest.casefold().startswith(old.casefold()):
            assert seller_id not in ids(everyone(queries, q=old))


def test_region_and_category_keep_the_sellers_that_sold_there(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    regions = {r for s in market.values() for r in s.regions}
    categories = {c for s in market.values() for c in s.categories}
    assert len(regions) == 3 and len(categories) > 3
    for region in regions:
        expected = {i for i, s in market.items() if region in s.regions}
        assert set(ids(everyone(queries, region=region))) == expected
    for category in categories:
        expected = {i for i, s in market.items() if category in s.categories}
        assert set(ids(everyone(queries, category=category))) == expected
        for region in regions:
            both = {i for i, s in market.items() if (region, category) in s.markets}
            found = everyone(queries, region=region, category=category)
            assert set(ids(found)) == both, (region, category)
    assert everyone(queries, region="XX") == []
    # With a name too: every filter applies.
    seller_id, seller = sorted(market.items())[0]
    region = sorted(seller.regions)[0]
    assert seller_id in ids(everyone(queries, q=seller.name[1], region=region))


def _exact_keys(queries: ReadModelQueries, sort: str, now: int) -> dict[str, tuple[Any, ...]]:
    """Each seller's sort key from its exact figures (as the store holds them)."""
    found = queries.reader.sellers(SellerQuery(now, sort, limit=1000)).value
    keys: dict[str, tuple[Any, ...]] = {}
    for s in found:
        c = s.counts
        if sort == "rating":
            average = Fraction(c.rating_sum, c.reviews) if c.reviews else Fraction(-1)
            keys[s.seller_id] = (-average, -c.reviews, s.seller_id)
        elif sort == "late_dispatch_rate":
            settled = c.dispatch_settled + s.pending_due
            rate = Fraction(c.late, settled) if settled else Fraction(2)
            keys[s.seller_id] = (rate, -c.orders, s.seller_id)
        else:
            keys[s.seller_id] = (-c.orders, s.seller_id)
    return keys


def test_each_sort_orders_the_sellers_and_pages_show_each_once(
    market: dict[str, Expected], queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    start = manual_clock.now()
    for sort, figure in (("rating", "average_rating"),
                         ("late_dispatch_rate", "late_dispatch_rate"), ("orders", "orders")):
        manual_clock.set(start)
        rows = everyone(queries, sort=sort)
        keys = _exact_keys(queries, sort, to_micros(start))
        assert ids(rows) == sorted(market, key=keys.__getitem__), sort
        # Sellers without the figure come last.
        values = [row[figure] for row in rows]
        missing = [v is None for v in values]
        assert missing == sorted(missing)
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=sort != "late_dispatch_rate")

        seen: list[str] = []
        after = None
        pages = 0
        while True:
            page = queries.sellers(BUYER, sort=sort, limit=3, after=after)
            seen += ids(page["data"])
            pages += 1
            after = page["next_after"]
            if after is None:
                break
            # Time passing between pages moves nobody: the cursor holds the first
            # page's instant (orders whose ship_by passes meanwhile count later).
            manual_clock.advance(timedelta(days=1))
        assert seen == ids(rows) and pages == -(-len(rows) // 3), sort
    assert everyone(queries) == everyone(queries, sort="rating")  # the default


def test_bad_searches_are_refused(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    with pytest.raises(InvalidInput) as sort:
        queries.sellers(BUYER, sort="best")
    assert sort.value.field == "sort"
    with pytest.raises(InvalidInput) as limit:
        queries.sellers(BUYER, limit=0)
    assert limit.value.field == "limit"
    after = queries.sellers(BUYER, sort="orders", limit=1)["next_after"]
    assert after is not None and after[0] == "orders"
    for sort_name, wrong in (
        ("rating", after),  # another sort's
        ("orders", [*after[:-1], 7]),
        ("orders", [after[0], True, *after[2:]]),
        ("orders", after[:2]),
        ("orders", "orders"),
    ):
        with pytest.raises(InvalidInput) as cursor:
            queries.sellers(BUYER, sort=sort_name, after=wrong)
        assert cursor.value.field == "cursor", wrong


# ---- a seller's page ----------------------------------------------------------------


def test_a_sellers_page_hides_hidden_reviews_from_all_but_moderators(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    hiding = [i for i, s in market.items() if s.hidden]
    assert hiding
    for seller_id in sorted(market):
        seller = market[seller_id]
        page = queries.seller(BUYER, seller_id)
        assert page["seller_id"] == seller_id and page["seller_name"] == seller.name[1]
        assert page["regions"] == sorted(seller.regions)
        assert page["categories"] == sorted(seller.categories)
        counts = Counter(seller.ratings)
        assert page["rating_distribution"] == {str(r): counts[r] for r in range(1, 6)}
        assert sum(page["rating_distribution"].values()) == page["reviews"]
        shown = sorted(
            (r for r in seller.reviews if not r["hidden"]),
            key=lambda r: (r["at"], r["dispute_id"]), reverse=True,
        )[:10]
        assert page["recent_reviews"] == [
            {"rating": r["rating"], "comment": r["comment"], "reviewed_at": r["at"]}
            for r in shown
        ]
        assert "hidden_reviews" not in page

        staff = queries.seller(MODERATOR, seller_id)
        every = sorted(seller.reviews, key=lambda r: (r["at"], r["dispute_id"]),
                       reverse=True)[:10]
        assert staff["recent_reviews"] == [
            {"rating": r["rating"], "comment": r["comment"], "reviewed_at": r["at"],
             "dispute_id": r["dispute_id"], "order_id": r["order_id"],
             "hidden": r["hidden"], "hidden_reason": r["hidden_reason"]}
            for r in every
        ]
        assert staff["hidden_reviews"] == len(seller.hidden)
        # What the moderator sees besides is the same page.
        assert {k: v for k, v in staff.items() if k not in ("recent_reviews", "hidden_reviews")} \
            == {k: v for k, v in page.items() if k != "recent_reviews"}
    for seller_id in hiding:
        hidden = [r for r in queries.seller(MODERATOR, seller_id)["recent_reviews"] if r["hidden"]]
        assert all(r["hidden_reason"] == "abusive language" for r in hidden)


def test_a_sellers_page_sums_the_return_labels_it_paid(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    paying = [i for i, s in market.items() if s.labels]
    assert paying
    for seller_id, seller in market.items():
        costs = queries.seller(BUYER, seller_id)["return_costs"]
        assert costs == [
            {"amount": Money.of(sum(amounts, Decimal(0)), currency).amount_text(),
             "currency": currency, "labels": len(amounts)}
            for currency, amounts in sorted(seller.labels.items())
        ]


def test_an_unknown_seller_is_not_found(
    market: dict[str, Expected], queries: ReadModelQueries
) -> None:
    for read in (queries.seller, queries.scorecard):
        with pytest.raises(SellerNotFound):
            read(BUYER, "s-nobody")


# ---- deterministic and rebuildable --------------------------------------------------


def test_any_batching_gives_the_tables_a_rebuild_gives(
    app: DisputeDesk, database_url: str, market: dict[str, Expected]
) -> None:
    source = ApplicationSource(app)
    with opened_store(app, database_url) as store:
        live = dump(store)  # batches of 97, followed live
        assert live["rm_seller_names"] and live["rm_seller_reviews"]
        assert live["rm_seller_markets"] and live["rm_seller_return_costs"]
        rebuild(source, store, "scorecard", batch_size=13, cache_size=3)
        assert dump(store) == live
        rebuild(source, store, "all", batch_size=5000)
        assert dump(store) == live


def test_a_store_from_before_the_sellers_page_is_stale_until_rebuilt(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries
) -> None:
    place(app, "o-1", name="Acme")
    catch_up(app, database_url)
    with opened_store(app, database_url) as store:
        session: Any = store.session  # type: ignore[attr-defined]
        with session.transaction():  # what a store projected by the last release holds
            session.execute("UPDATE rm_versions SET schema_version = 2 WHERE name = 'scorecard'")
        Projector(ApplicationSource(app), store).load()
        with pytest.raises(ReadModelUnavailable):
            queries.sellers(BUYER)
        with pytest.raises(ReadModelUnavailable):
            queries.scorecard(BUYER, "s-1")
        assert queries.disputes(MODERATOR)["data"]  # the others still serve
        rebuild(ApplicationSource(app), store, "scorecard")
    assert ids(queries.sellers(BUYER, q="acme")["data"]) == ["s-1"]


# ---- small stories ------------------------------------------------------------------


def place(app: DisputeDesk, order: str, *, name: str | None = None, seller: str = "s-1",
          region: str = "US", placed_at: datetime | None = None, amount: str = "25.00") -> UUID:
    currency = app.current_policy().regions[region].currency or "USD"
    view, _ = app.place_order(
        order_id=order, buyer_id="b-1", seller_id=seller, region=region, category="general",
        amount=Money.of(amount, currency), placed_at=placed_at or app.clock.now(),
        actor=PLATFORM, seller_name=name,
    )
    return UUID(view["id"])


def test_the_latest_order_names_the_seller_whatever_order_the_feed_sent(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    now = manual_clock.now()
    place(app, "o-1", name="Acme Goods", placed_at=now - timedelta(hours=2))
    place(app, "o-0", name="Old Acme", placed_at=now - timedelta(hours=5))  # fed in late
    place(app, "o-2", placed_at=now - timedelta(hours=1))  # no name: it says nothing
    catch_up(app, database_url, batch_size=1)
    assert queries.seller(BUYER, "s-1")["seller_name"] == "Acme Goods"
    # The same instant: the one later in the log wins, however the batches fall.
    place(app, "o-3", name="Acme Deluxe", placed_at=now - timedelta(hours=2))
    catch_up(app, database_url)
    assert queries.seller(BUYER, "s-1")["seller_name"] == "Acme Deluxe"
    with opened_store(app, database_url) as store:
        for batch_size in (1, 500):  # one order per batch, or all in one
            rebuild(ApplicationSource(app), store, "scorecard", batch_size=batch_size)
            assert queries.seller(BUYER, "s-1")["seller_name"] == "Acme Deluxe"
    assert ids(queries.sellers(BUYER, q="ACME d")["data"]) == ["s-1"]
    assert queries.sellers(BUYER, q="old acme")["data"] == []
    # A seller that no order names has a page all the same, without a name.
    place(app, "o-4", seller="s-2")
    catch_up(app, database_url)
    assert queries.seller(BUYER, "s-2")["seller_name"] is None
    assert queries.sellers(BUYER, q="s-2")["data"][0]["seller_name"] is None


def test_hiding_a_review_takes_it_out_of_every_figure_and_showing_puts_it_back(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    buyer = Actor("buyer", "b-1")
    cases = [place(app, f"o-{n}", name="Acme") for n in range(3)]
    for case in cases:
        app.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=manual_clock.now(),
                 actor=PLATFORM)
        app.deliver(case, delivered_at=manual_clock.now(), actor=PLATFORM)
    for case, rating in zip(cases, (5, 4, 1), strict=True):
        manual_clock.advance(timedelta(minutes=1))
        app.review(case, rating=rating, comment=f"{rating} stars", actor=buyer)
    catch_up(app, database_url)
    page = queries.seller(BUYER, "s-1")
    assert (page["average_rating"], page["reviews"]) == (3.33, 3)
    assert [r["rating"] for r in page["recent_reviews"]] == [1, 4, 5]

    view = app.set_review_visibility(cases[2], hidden=True, reason="abusive language",
                                     actor=MODERATOR)
    assert view["review"]["hidden"] is True
    catch_up(app, database_url)
    page = queries.seller(BUYER, "s-1", min_position=view["position"])
    assert (page["average_rating"], page["reviews"]) == (4.5, 2)
    assert page["rating_distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert [r["rating"] for r in page["recent_reviews"]] == [4, 5]
    card = queries.scorecard(BUYER, "s-1")
    assert (card["average_rating"], card["reviews"]) == (4.5, 2)
    staff = queries.seller(MODERATOR, "s-1")
    assert staff["hidden_reviews"] == 1
    assert staff["recent_reviews"][0] | {"reviewed_at": None} == {
        "rating": 1, "comment": "1 stars", "reviewed_at": None, "dispute_id": str(cases[2]),
        "order_id": "o-2", "hidden": True, "hidden_reason": "abusive language",
    }
    assert queries.sellers(BUYER, q="acme")["data"][0]["average_rating"] == 4.5

    app.set_review_visibility(cases[2], hidden=False, reason="appeal upheld", actor=MODERATOR)
    catch_up(app, database_url)
    page = queries.seller(BUYER, "s-1")
    assert (page["average_rating"], page["reviews"]) == (3.33, 3)
    assert page["rating_distribution"] == {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1}
    assert queries.seller(MODERATOR, "s-1")["recent_reviews"][0]["hidden"] is False


def test_return_labels_are_summed_per_currency(
    app: DisputeDesk, database_url: str, queries: ReadModelQueries, manual_clock: ManualClock
) -> None:
    buyer = Actor("buyer", "b-1")
    seller = Actor("seller", "s-1")
    labels = (("US", "USD", "7.25"), ("US", "USD", "4.80"), ("GB", "GBP", "3.99"))
    for n, (region, currency, cost) in enumerate(labels):
        case = place(app, f"o-{n}", name="Globe Trading", region=region, amount="20.00")
        app.ship(case, carrier="UPS", tracking_number="1Z", shipped_at=manual_clock.now(),
                 actor=PLATFORM)
        app.deliver(case, delivered_at=manual_clock.now(), actor=PLATFORM)
        app.request_refund(case, reason="not as described", actor=buyer)
        app.decide_refund(case, approve=True, actor=seller)
        app.return_goods(case, carrier="UPS", tracking_number="RT", actor=buyer,
                         label_cost=Money.of(cost, currency))
    place(app, "o-9", name="Globe Trading")  # no return: nothing to add
    catch_up(app, database_url)
    assert queries.seller(BUYER, "s-1")["return_costs"] == [
        {"amount": "3.99", "currency": "GBP", "labels": 1},
        {"amount": "12.05", "currency": "USD", "labels": 2},
    ]
    assert ids(queries.sellers(BUYER, region="GB")["data"]) == ["s-1"]
