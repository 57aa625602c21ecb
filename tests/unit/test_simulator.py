"""The simulator in memory: known answers, the replay's building blocks, validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.disputes import DisputeDesk
from application.simulator import (
    Derived,
    DisputeOutcome,
    Filters,
    ImpossibleFact,
    SimulationRequest,
    build_request,
    run_simulation,
    with_deadlines,
)
from application.times import rfc3339
from domain.dispute import Actor, Dispute, new_dispute
from domain.errors import InvalidInput
from domain.money import Money
from domain.policy import PolicyError
from infrastructure.bootstrap import load_policy
from infrastructure.clock import ManualClock
from tests.integration.test_simulator_support import (
    AS_OF,
    CHANGES,
    PLACED,
    RecorderReader,
    assert_known_answers,
    build_history,
    did,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(PLACED)


@pytest.fixture
def desk(clock: ManualClock) -> Iterator[DisputeDesk]:
    app = DisputeDesk(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        clock=clock,
        default_policy=load_policy(None),
    )
    yield app
    app.close()


@pytest.fixture
def history(desk: DisputeDesk, clock: ManualClock) -> DisputeDesk:
    build_history(desk, clock)
    return desk


def simulate(desk: DisputeDesk, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("changes", CHANGES)
    request = build_request(current=desk.current_policy(), now=desk.clock.now(), **kwargs)
    return run_simulation(desk, RecorderReader(desk), request)


def test_given_hand_built_history_when_simulated_then_known_answers(history: DisputeDesk) -> None:
    assert_known_answers(simulate(history))


def test_given_candidate_equal_to_current_when_simulated_then_nothing_changes(
    history: DisputeDesk,
) -> None:
    report = simulate(history, changes={"version": "same-rules"})
    assert report["candidate_policy_version"] == "same-rules"
    assert report["changed_disputes"] == report["retimed_disputes"] == 0
    assert report["counterfactual_disputes"] == 0
    assert all(c["baseline"] == c["candidate"] for c in report["derived"].values())
    assert report["baseline_matches_recorded"] is True
    assert report["samples"] == []


def test_given_whole_policy_document_when_simulated_then_same_as_changes(
    history: DisputeDesk,
) -> None:
    document = history.current_policy().with_changes(CHANGES).to_document()
    by_document = simulate(history, policy=document, changes=None)
    by_changes = simulate(history)
    assert by_document == {**by_changes, "changes": None}


def test_given_as_of_before_the_facts_when_simulated_then_only_earlier_facts_count(
    history: DisputeDesk,
) -> None:
    report = simulate(history, as_of=PLACED + timedelta(hours=1))
    assert report["disputes"] == 6
    assert report["events_replayed"] == 6  # the OrderPlaced facts only
    assert all(c == {"baseline": 0, "candidate": 0} for c in report["derived"].values())
    assert report["baseline_matches_recorded"] is True


def test_given_as_of_before_any_order_when_simulated_then_empty(history: DisputeDesk) -> None:
    report = simulate(history, as_of=PLACED - timedelta(days=1))
    assert report["disputes"] == 0 and report["events_replayed"] == 0
    assert report["sellers"] == [] and report["samples"] == []


@pytest.mark.parametrize(
    ("filters", "orders"),
    [
        ({"region": "GB"}, {"F"}),
        ({"seller_id": "s-us"}, {"A", "B", "C", "D", "E"}),
        ({"category": "general", "region": "US"}, {"A", "B", "C", "D", "E"}),
        ({"category": "electronics"}, set()),
        ({"placed_from": PLACED + timedelta(seconds=1)}, set()),
        ({"placed_to": PLACED}, {"A", "B", "C", "D", "E", "F"}),
    ],
)
def test_given_filters_when_simulated_then_only_matching_orders(
    history: DisputeDesk, filters: dict[str, Any], orders: set[str]
) -> None:
    report = simulate(history, **filters)
    assert report["disputes"] == len(orders)
    changed = {"A", "B", "C", "D"} & orders
    assert {s["order_id"] for s in report["samples"]} == changed
    assert {k: v for k, v in report["filters"].items() if v is not None} == {
        k: (rfc3339(v) if isinstance(v, datetime) else v) for k, v in filters.items()
    }


def test_given_recorded_derived_event_the_policy_would_not_record_then_mismatch_named(
    desk: DisputeDesk, clock: ManualClock
) -> None:
    build_history(desk, clock)
    # A production bug: a derived event recorded under rules the order never had.
    d: Any = desk.repository.get(did("E"))
    assert isinstance(d, Dispute)
    d._record(
        Dispute.SellerResponseOverdue, Actor("system", "policy"), PLACED, AS_OF,
        policy_version="bogus", contacted_at=PLACED,
    )
    desk.save(d)
    report = simulate(desk)
    assert report["baseline_matches_recorded"] is False
    assert report["mismatched_disputes"] == [str(did("E"))]
    assert report["mismatched_count"] == 1


def test_given_a_policy_without_the_orders_region_then_those_orders_not_comparable(
    history: DisputeDesk,
) -> None:
    report = simulate(history, changes={"regions.GB": None})
    assert report["not_comparable"] == [{"region": "GB", "category": "general", "disputes": 1}]
    assert report["disputes"] == 5


# ---- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"changes": None}, "policy"),
        ({"policy": {"version": "x"}, "changes": {"defaults.review_window_days": 5}}, "policy"),
        ({"as_of": NOW + timedelta(seconds=1)}, "as_of"),
        ({"as_of": datetime(2026, 12, 1, 12, 0)}, "as_of"),
        ({"placed_from": NOW, "placed_to": NOW - timedelta(days=1)}, "placed_from"),
        ({"region": "  "}, "region"),
    ],
)
def test_given_bad_request_when_built_then_invalid_input_names_field(
    kwargs: dict[str, Any], field: str
) -> None:
    kwargs.setdefault("changes", CHANGES)
    with pytest.raises(InvalidInput) as raised:
        build_request(current=load_policy(None), now=NOW, **kwargs)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"regions.US.ship_within_business_days": 0},
        {"regions.US.ship_within_business_days": 9},  # after auto-cancel (7)
        {"defaults.ship_within_bussiness_days": 3},
        {"nonsense": 1},
    ],
)
def test_given_invalid_candidate_when_built_then_policy_error(changes: dict[str, Any]) -> None:
    with pytest.raises(PolicyError) as raised:
        build_request(current=load_policy(None), now=NOW, changes=changes)
    assert raised.value.problems


def test_given_whole_document_with_problems_then_every_problem_listed() -> None:
    document = load_policy(None).to_document()
    document["defaults"]["ship_within_business_days"] = -1
    document["regions"]["US"]["timezone"] = "Mars/Olympus"
    with pytest.raises(PolicyError) as raised:
        build_request(current=load_policy(None), now=NOW, policy=document)
    assert len(raised.value.problems) >= 2


def test_given_no_as_of_then_now_and_filters_recorded() -> None:
    request = build_request(current=load_policy(None), now=NOW, changes=CHANGES, region=" US ")
    assert request.as_of == NOW
    assert request.filters == Filters(region="US")
    assert request.changes == CHANGES


# ---- building blocks ---------------------------------------------------------------


def _placed() -> Dispute.OrderPlaced:
    policy = load_policy(None)
    d = Dispute.place(
        order_id="o-1", buyer_id="b", seller_id="s", region="US", category="general",
        amount=Money.of("12.50", "USD"), placed_at=PLACED, policy=policy,
        actor=Actor("platform", "p"), now=PLACED,
    )
    event = d.collect_events()[0]
    assert isinstance(event, Dispute.OrderPlaced)
    return event


def test_new_dispute_builds_what_mutate_builds() -> None:
    placed = _placed()
    built: Any = placed.mutate(None)
    assert isinstance(built, Dispute)
    assert vars(new_dispute(placed)) == vars(built)


def test_with_deadlines_equals_dataclasses_replace() -> None:
    placed = _placed()
    later = placed.ship_by + timedelta(days=1)
    replace: Any = dataclasses.replace
    expected = replace(placed, ship_by=later, auto_cancel_at=later, policy_version="cand")
    assert vars(with_deadlines(placed, later, later, "cand")) == vars(expected)
    assert placed.ship_by != later  # the original is untouched


def _outcome(
    baseline: list[Derived],
    candidate: list[Derived],
    recorded: list[tuple[str, datetime]],
    *,
    forced: int = 0,
    statuses: tuple[str, str] = ("overdue", "overdue"),
    impossible: ImpossibleFact | None = None,
) -> DisputeOutcome:
    return DisputeOutcome(
        dispute_id=did("x"), order_id="x", seller_id="s", region="US", category="general",
        currency="USD", baseline_version="v", facts=1, baseline=baseline, candidate=candidate,
        recorded=recorded, baseline_forced=forced, baseline_late_eligible=True,
        candidate_late_eligible=True, baseline_history=[], candidate_history=[],
        baseline_status=statuses[0], candidate_status=statuses[1], impossible=impossible,
    )


T1, T2, T3 = (PLACED + timedelta(days=n) for n in (1, 2, 3))
DM1 = Derived("DeadlineMissed", T1, None)
DM2 = Derived("DeadlineMissed", T2, None)
OAC3 = Derived("OrderAutoCancelled", T3, Decimal("12.50"))


@pytest.mark.parametrize(
    ("recorded", "forced", "matches"),
    [
        ([], 0, True),  # nothing swept yet
        ([("DeadlineMissed", T1)], 0, True),  # a prefix
        ([("DeadlineMissed", T1), ("OrderAutoCancelled", T3)], 2, True),
        ([], 1, False),  # a fact came after it, so a command must have recorded it
        ([("OrderAutoCancelled", T3)], 0, False),  # not a prefix
        ([("DeadlineMissed", T2)], 0, False),  # another instant
        ([("DeadlineMissed", T1), ("OrderAutoCancelled", T3), ("DeadlineMissed", T3)], 0, False),
    ],
)
def test_matches_recorded_is_prefix_rule(
    recorded: list[tuple[str, datetime]], forced: int, matches: bool
) -> None:
    assert _outcome([DM1, OAC3], [DM1, OAC3], recorded, forced=forced).matches_recorded is matches


def test_divergence_retimed_and_changed() -> None:
    same = _outcome([DM1], [DM1], [])
    assert same.diverged_at is None and not same.differs and not same.changed
    retimed = _outcome([DM1], [DM2], [])
    assert retimed.diverged_at == T1 and retimed.retimed and not retimed.changed
    dropped = _outcome([DM1, OAC3], [DM1], [])
    assert dropped.diverged_at == T3 and dropped.changed and not dropped.retimed
    added = _outcome([], [DM2], [])
    assert added.diverged_at == T2 and added.changed
    twice = _outcome([DM1], [DM1, DM2], [])  # the same set of types, one more event
    assert twice.changed and not twice.retimed
    other_refund = _outcome([OAC3], [OAC3._replace(refund=Decimal("10.00"))], [])
    assert other_refund.diverged_at is None and other_refund.changed
    other_status = _outcome([DM1], [DM1], [], statuses=("overdue", "cancelled"))
    assert other_status.differs and other_status.changed


def test_counterfactual_only_when_a_recorded_fact_was_impossible() -> None:
    # Facts recorded long after the difference do not make it counterfactual.
    assert not _outcome([DM1], [DM2], []).counterfactual
    refused = ImpossibleFact("OrderShipped", T3, "the order was auto-cancelled")
    flagged = _outcome([DM1], [DM2], [], impossible=refused)
    assert flagged.counterfactual and flagged.retimed


def test_filters_admit() -> None:
    placed = _placed()
    assert Filters().admits(placed)
    assert Filters(region="US", seller_id="s", category="general").admits(placed)
    assert not Filters(region="GB").admits(placed)
    assert not Filters(seller_id="t").admits(placed)
    assert Filters(placed_from=PLACED, placed_to=PLACED).admits(placed)
    assert not Filters(placed_to=PLACED - timedelta(seconds=1)).admits(placed)


def test_request_is_plain_data() -> None:
    request = SimulationRequest(candidate=load_policy(None), as_of=NOW)
    assert request.filters == Filters() and request.changes is None
