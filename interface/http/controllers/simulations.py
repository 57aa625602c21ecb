"""``POST /v1/simulations``: replay the history under a candidate policy (analysts).

The report is built by ``application.simulator.run_simulation``, the same
function behind ``disputedesk simulate --json``; this module only translates.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller
from litestar.di import NamedDependency
from litestar.params import Body
from litestar.types import Guard
from msgspec import Meta, Struct

from application.disputes import DisputeDesk
from application.simulator import build_request, run_simulation
from infrastructure.history_reader import history_reader_for
from interface.http.errors import problem_responses
from interface.http.guards import requires, roles_note
from interface.http.idempotency import IdempotencyKey
from interface.http.routes import post
from interface.http.schemas import Instant, Money

_COMMAND = "simulate"
GUARD: Guard = requires(_COMMAND)


class SimulationBody(Struct, forbid_unknown_fields=True, kw_only=True):
    """The candidate (exactly one of ``policy`` and ``changes``), the instant, the filters."""

    policy: Annotated[
        dict[str, Any] | None,
        Meta(description="A whole candidate policy document (the shape of POST /v1/policies)."),
    ] = None
    changes: Annotated[
        dict[str, Any] | None,
        Meta(
            description="Dotted keys over the current policy, e.g. "
            '`{"regions.US.ship_within_business_days": 3}`; `null` removes a key.',
            examples=[{"regions.US.ship_within_business_days": 3}],
        ),
    ] = None
    as_of: Annotated[
        Instant | None,
        Meta(description="Replay the facts recorded by then (default: now; never later)."),
    ] = None
    region: str | None = None
    seller_id: str | None = None
    category: str | None = None
    placed_from: Annotated[Instant | None, Meta(description="Orders placed at or after.")] = None
    placed_to: Annotated[Instant | None, Meta(description="Orders placed at or before.")] = None


class Counts(Struct):
    baseline: int
    candidate: int


class Rates(Struct):
    baseline: float | None
    candidate: float | None


class SellerFigures(Struct):
    seller_id: str
    orders: int
    late_dispatch_rate: Rates
    auto_cancel_rate: Rates


class Exposure(Struct):
    currency: str
    baseline: Money
    candidate: Money


class WeekCounts(Struct):
    week: Annotated[str, Meta(description="ISO week (UTC) of the derived events, e.g. 2026-W48")]
    baseline: int
    candidate: int


class TimelineEntry(Struct):
    type: str
    occurred_at: str
    derived: bool


class Timelines(Struct):
    baseline: list[TimelineEntry]
    candidate: list[TimelineEntry]


class ImpossibleFact(Struct):
    """The first recorded fact the candidate's case would have refused."""

    type: str
    recorded_at: str
    reason: Annotated[str, Meta(description="The refusal its command would have met")]


class SideStatus(Struct):
    baseline: str
    candidate: str


class Sample(Struct):
    dispute_id: str
    order_id: str
    seller_id: str
    region: str
    category: str
    baseline: Annotated[list[str], Meta(description="Derived event types, baseline")]
    candidate: Annotated[list[str], Meta(description="Derived event types, candidate")]
    status: Annotated[SideStatus, Meta(description="The case's status as of as_of")]
    change: Annotated[
        Literal["changed", "retimed"],
        Meta(description="changed: other derived events, refunds or status; retimed: the "
             "same ones at other instants (sampled only when counterfactual)"),
    ]
    diverged_at: Annotated[
        str | None, Meta(description="The first instant the derived events differ")
    ]
    counterfactual: bool
    impossible_fact: ImpossibleFact | None
    timeline: Timelines


class NotComparable(Struct):
    region: str
    category: str
    disputes: int


class Filters(Struct):
    region: str | None
    seller_id: str | None
    category: str | None
    placed_from: str | None
    placed_to: str | None


class SimulationReport(Struct):
    """What the candidate would have done to the recorded history, next to what did happen."""

    as_of: str
    baseline_policy_version: str
    candidate_policy_version: str
    baseline_policy_versions: Annotated[
        dict[str, int], Meta(description="Disputes per policy version their orders recorded")
    ]
    changes: dict[str, Any] | None
    filters: Filters
    events_read: int
    events_replayed: Annotated[int, Meta(description="Facts applied (recorded by as_of)")]
    disputes: int
    derived: dict[str, Counts]
    changed_disputes: Annotated[
        int,
        Meta(
            description="Disputes whose derived events differ other than in time (their "
            "types, their number or order, the money they refund) or whose final status "
            "differs; every dispute whose set of derived event types differs is one"
        ),
    ]
    retimed_disputes: Annotated[
        int,
        Meta(
            description="Disputes with the same derived events and status, some of them at "
            "other instants"
        ),
    ]
    counterfactual_disputes: Annotated[
        int,
        Meta(
            description="Changed or retimed disputes with a recorded fact that could not have "
            "happened as recorded under the candidate: its command would have been refused "
            "then (a shipment after the candidate's earlier auto-cancel, the seller's refund "
            "decision after its auto-approval). A fact merely recorded after a deadline that "
            "moved does not count"
        ),
    ]
    counterfactual_facts: Annotated[
        dict[str, int],
        Meta(description="Counterfactual disputes by the type of their first impossible fact"),
    ]
    baseline_matches_recorded: Annotated[
        bool,
        Meta(
            description="Replaying each order under the policy it recorded reproduces the "
            "derived events on record (type and instant): per dispute, the record is a prefix "
            "of the replay's derived events that holds every one due before the dispute's last "
            "recorded fact (later ones appear only once a sweep ran)."
        ),
    ]
    mismatched_count: int
    mismatched_disputes: Annotated[list[str], Meta(description="At most 100 dispute ids")]
    not_comparable: list[NotComparable]
    sellers: list[SellerFigures]
    refund_exposure: list[Exposure]
    return_postage_exposure: Annotated[
        list[Exposure],
        Meta(description="Recorded return-label costs the seller pays under each policy's "
                         "return_shipping_payer, per currency"),
    ]
    derived_per_week: list[WeekCounts]
    samples: list[Sample]


SimulationPayload = Annotated[
    SimulationBody,
    Body(
        title="Simulation",
        description='Either `{"changes": {...}}` or `{"policy": {...}}`, optionally `as_of` '
        "and the filters `region`, `seller_id`, `category`, `placed_from`, `placed_to`.",
    ),
]


class SimulationsController(Controller):
    path = "/v1/simulations"
    tags = ["simulations"]

    @post(
        "/",
        operation_id="simulate",
        guards=[GUARD],
        status_code=200,
        sync_to_thread=True,
        summary="Replay the history under a candidate policy",
        description="Reads the recorded history once (never writing to it) and replays the "
        "facts recorded by `as_of` under the policy each order recorded (baseline) and under "
        "the candidate, then compares them. An invalid candidate is 422 with every problem in "
        "`errors`. " + roles_note(_COMMAND),
        responses=problem_responses(400, 401, 403, 415, 422, 503),
    )
    def simulate(
        self,
        data: SimulationPayload,
        desk: NamedDependency[DisputeDesk],
        idempotency_key: IdempotencyKey = None,
    ) -> SimulationReport:
        request = build_request(
            current=desk.current_policy(),
            now=desk.clock.now(),
            policy=data.policy,
            changes=data.changes,
            as_of=data.as_of,
            region=data.region,
            seller_id=data.seller_id,
            category=data.category,
            placed_from=data.placed_from,
            placed_to=data.placed_to,
        )
        report = run_simulation(desk, history_reader_for(desk), request)
        return msgspec.convert(report, SimulationReport)
