"""Replay the recorded history under a candidate policy and compare it with production.

One streaming pass over the event store (ordered by aggregate, so each
dispute's history is contiguous): every dispute is replayed twice in memory,
summarised into :class:`~application.simulation_report.ReportBuilder`, and
dropped. Nothing is ever saved.

How a dispute is replayed (exactly how the live application records derived
events, so the replay is faithful):

- its recorded *facts* are applied in order; the recorded *derived* events
  (``deadlines.DERIVED_TYPES``: DeadlineMissed, SellerResponseOverdue,
  RefundAutoApproved, OrderAutoCancelled, DeadlineApproaching, PromiseBroken)
  are set aside for the fidelity check;
- before each fact, ``Dispute.record_due(policy, until=fact.timestamp)``
  records what fell due by the time the fact was recorded (a live command
  does the same before it acts); after the last fact,
  ``record_due(policy, until=as_of)``;
- facts and derived events recorded after ``as_of`` do not count;
- the *baseline* uses the policy version the order recorded (what
  production did); the *candidate* replaces OrderPlaced's ``ship_by`` and
  ``auto_cancel_at`` with the candidate's deadlines and uses its rules. A
  recorded fact that the candidate would have made illegal (a shipment after
  a candidate auto-cancel, the seller's refund decision after a candidate
  auto-approval) is still applied as recorded: applying an event never
  validates. Before each fact the candidate's case is asked whether the
  fact's command would have been allowed then (``domain.dispute.feasibility``,
  the command's own guard); the first refusal the baseline's case did not
  share makes the dispute *counterfactual* (see :class:`DisputeOutcome`). A
  fact merely recorded after a moved deadline (a delivery after a later
  DeadlineMissed) is not.

Facts are applied with the event's own ``apply`` (the replay's derived events
take version numbers the recorded ones did not, so ``mutate``'s version check
cannot hold). ``baseline_matches_recorded`` compares the baseline's derived
events with the recorded ones by the prefix rule of
:attr:`DisputeOutcome.matches_recorded`. When the candidate takes the same
timer decisions as an order's baseline (same rules and calendar for its region
and category, same deadlines), one replay serves both.

The candidate applies to every order in scope whatever its ``effective_from``:
the question is "what if this policy had been in force".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.disputes import DisputeDesk
from application.event_decoder import FastDecoder
from application.simulation_ports import HistoryReader
from application.simulation_replay import Replay, Segment, with_deadlines
from application.simulation_report import ReportBuilder
from application.simulation_request import build_request, candidate_policy
from application.simulation_types import (
    Derived,
    DisputeOutcome,
    Filters,
    ImpossibleFact,
    SimulationInputError,
    SimulationRequest,
)
from domain import deadlines
from domain.dispute import Dispute
from domain.dispute.late_reports import DEADLINE_MISS_WITHDRAWN
from domain.policy import Policy, PolicyError

__all__ = [
    "Derived",
    "DisputeOutcome",
    "Filters",
    "ImpossibleFact",
    "SimulationInputError",
    "SimulationRequest",
    "build_request",
    "candidate_policy",
    "replay_history",
    "run_simulation",
    "with_deadlines",
]

DERIVED_NAMES: dict[str, str] = {
    getattr(Dispute.DERIVED[kind], "TOPIC"): kind for kind in deadlines.DERIVED_TYPES  # noqa: B009
}
# Recorded by the policy with a late-reported shipment: the replay derives its own.
DERIVED_NAMES[Dispute.DeadlineMissWithdrawn.TOPIC] = DEADLINE_MISS_WITHDRAWN
ORDER_PLACED_TOPIC = Dispute.OrderPlaced.TOPIC

Progress = Callable[[int, int], None]


# ---- the pass over the store ----------------------------------------------------------


def replay_history(
    reader: HistoryReader,
    decoder: FastDecoder,
    baseline_policy: Callable[[str], Policy],
    request: SimulationRequest,
    report: ReportBuilder,
    progress: Progress | None = None,
) -> None:
    """One streaming pass: replay each dispute in scope and hand its outcome to ``report``."""
    as_of = request.as_of
    decode = decoder.decode
    candidate = request.candidate
    admits = request.filters.admits
    derived_names = DERIVED_NAMES
    rows_read = 0
    current_id: object = None
    dispute_id: UUID | str = ""
    replay: Replay | None = None
    segments: dict[tuple[str, str, str], Segment] = {}
    with reader.scan() as scan:
        estimated = scan.estimated_events
        for batch in scan.batches():
            for originator_id, originator_version, topic, state in batch:
                if originator_id != current_id:
                    if replay is not None:
                        report.add(replay.finish(as_of))
                        replay = None
                    current_id = originator_id
                    if topic != ORDER_PLACED_TOPIC:
                        continue  # the policy ledger, or anything that is not a dispute
                    # Converted once per dispute, not once per event (SQLite stores text).
                    dispute_id = (
                        UUID(originator_id) if isinstance(originator_id, str) else originator_id
                    )
                    placed = decode(dispute_id, originator_version, topic, state)
                    if placed.timestamp > as_of or not admits(placed):
                        continue
                    baseline = baseline_policy(placed.policy_version)
                    key = (baseline.version, placed.region, placed.category)
                    segment = segments.get(key)
                    try:
                        if segment is None:
                            segment = segments[key] = Segment(
                                baseline, candidate, placed.region, placed.category
                            )
                        replay = Replay(placed, segment)
                    except PolicyError:
                        report.not_comparable(placed.region, placed.category)
                    continue
                if replay is None:
                    continue
                name = derived_names.get(topic)
                if name is not None:  # only its instants matter: no need to decode it all
                    recorded_at, occurred_at = decoder.stamps(
                        dispute_id, originator_version, topic, state
                    )
                    if recorded_at <= as_of:
                        replay.recorded.append((name, occurred_at))
                    continue
                event = decode(dispute_id, originator_version, topic, state)
                if event.timestamp <= as_of:
                    replay.fact(event)
            rows_read += len(batch)
            report.events_read = rows_read
            if progress is not None:
                progress(rows_read, max(estimated, rows_read))
        if replay is not None:
            report.add(replay.finish(as_of))


def run_simulation(
    app: DisputeDesk,
    reader: HistoryReader,
    request: SimulationRequest,
    *,
    progress: Progress | None = None,
    sample_limit: int = 20,
) -> dict[str, Any]:
    """The report of ``request`` over ``app``'s history (the API and CLI both call this).

    ``app``'s mapper decodes the stored events (through :class:`FastDecoder`);
    its policy ledger supplies the versions the orders recorded; ``reader`` reads
    the store ``app`` writes to.
    """
    policies: dict[str, Policy] = {}

    def baseline_policy(version: str) -> Policy:
        found = policies.get(version)
        if found is None:
            found = app.policy(version)
            if found is None:
                raise RuntimeError(f"policy version {version!r} is not on record")
            policies[version] = found
        return found

    report = ReportBuilder(
        request=request,
        baseline_policy_version=app.current_policy().version,
        sample_limit=sample_limit,
    )
    replay_history(reader, FastDecoder(app.mapper), baseline_policy, request, report, progress)
    return report.build()
