"""Replay the recorded history under a candidate policy and compare it with production.

One streaming pass over the event store (ordered by aggregate, so each
dispute's history is contiguous): every dispute is replayed twice in memory,
summarised into :class:`~application.simulation_report.ReportBuilder`, and
dropped. Nothing is ever saved.

How a dispute is replayed (exactly how the live application records derived
events, so the replay is faithful):

- its recorded *facts* are applied in order; the recorded *derived* events
  (DeadlineMissed, SellerResponseOverdue, RefundAutoApproved,
  OrderAutoCancelled) are set aside for the fidelity check;
- before each fact, ``Dispute.record_due(policy, until=fact.timestamp)``
  records what fell due by the time the fact was recorded (a live command
  does the same before it acts); after the last fact,
  ``record_due(policy, until=as_of)``;
- facts and derived events recorded after ``as_of`` do not count;
- the *baseline* uses the policy version the order recorded (what
  production did); the *candidate* replaces OrderPlaced's ``ship_by`` and
  ``auto_cancel_at`` with the candidate's deadlines and uses its rules. A
  recorded fact that the candidate would have made illegal (a shipment after
  a candidate auto-cancel) is still applied as recorded: applying an event
  never validates. Such disputes are flagged *counterfactual* (see
  :class:`DisputeOutcome`).

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from application.disputes import DisputeDesk
from application.event_decoder import FastDecoder
from application.simulation_ports import HistoryReader
from application.simulation_report import ReportBuilder
from domain import deadlines
from domain.calendar import BusinessCalendar
from domain.dispute import Dispute, new_dispute
from domain.errors import InvalidInput, NaiveDatetime
from domain.policy import Policy, PolicyError, Rules

__all__ = [
    "Derived",
    "DisputeOutcome",
    "Filters",
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
ORDER_PLACED_TOPIC = Dispute.OrderPlaced.TOPIC

Progress = Callable[[int, int], None]


class SimulationInputError(InvalidInput):
    code = "invalid-simulation"


# ---- the request ----------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which orders a simulation covers (all when every field is None)."""

    region: str | None = None
    seller_id: str | None = None
    category: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None

    def admits(self, placed: Dispute.OrderPlaced) -> bool:
        if self.region is not None and placed.region != self.region:
            return False
        if self.seller_id is not None and placed.seller_id != self.seller_id:
            return False
        if self.category is not None and placed.category != self.category:
            return False
        if self.placed_from is not None and placed.placed_at < self.placed_from:
            return False
        return not (self.placed_to is not None and placed.placed_at > self.placed_to)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "region": self.region,
            "seller_id": self.seller_id,
            "category": self.category,
            "placed_from": _iso(self.placed_from),
            "placed_to": _iso(self.placed_to),
        }


@dataclass(frozen=True)
class SimulationRequest:
    candidate: Policy
    as_of: datetime
    filters: Filters = field(default_factory=Filters)
    changes: Mapping[str, Any] | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(f"{name} must carry a UTC offset (RFC 3339)", field=name)
    return value


def _optional_text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned:
        raise SimulationInputError(f"{name} must not be empty when given", field=name)
    return cleaned


def candidate_policy(
    current: Policy,
    *,
    policy: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Policy:
    """The candidate: a whole document, or dotted changes over ``current``.

    Validated like a published policy: a :class:`PolicyError` lists every problem.
    """
    if (policy is None) == (changes is None):
        raise SimulationInputError(
            'give the candidate either as "policy" (a whole document) or as "changes" '
            "(dotted keys over the current policy), not both or neither",
            field="policy",
        )
    if policy is not None:
        return Policy.from_document(policy)
    assert changes is not None
    if not changes:
        raise PolicyError(["changes: name at least one dotted key to change"])
    return current.with_changes(changes)


def build_request(
    *,
    current: Policy,
    now: datetime,
    policy: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    as_of: datetime | None = None,
    region: str | None = None,
    seller_id: str | None = None,
    category: str | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
) -> SimulationRequest:
    """Validate plain inputs (from HTTP or the CLI) into a request.

    ``as_of`` defaults to ``now`` (the application's clock) and may not lie
    after it. Raises InvalidInput or PolicyError (both a 422 at the API).
    """
    candidate = candidate_policy(current, policy=policy, changes=changes)
    moment = _aware(as_of, "as_of") or now
    if moment > now:
        raise SimulationInputError(
            f"as_of {moment.isoformat()} is in the future (now is {now.isoformat()}); "
            "a simulation replays what happened",
            field="as_of",
        )
    start = _aware(placed_from, "placed_from")
    end = _aware(placed_to, "placed_to")
    if start is not None and end is not None and start > end:
        raise SimulationInputError("placed_from is after placed_to", field="placed_from")
    filters = Filters(
        region=_optional_text(region, "region"),
        seller_id=_optional_text(seller_id, "seller_id"),
        category=_optional_text(category, "category"),
        placed_from=start,
        placed_to=end,
    )
    return SimulationRequest(
        candidate=candidate,
        as_of=moment,
        filters=filters,
        changes=dict(changes) if changes is not None else None,
    )


# ---- replaying one dispute ----------------------------------------------------------


class Derived(NamedTuple):
    """A derived event of a replay: its type, when its rule fired, the money it refunds."""

    kind: str
    at: datetime
    refund: Decimal | None


def with_deadlines(
    placed: Dispute.OrderPlaced, ship_by: datetime, auto_cancel_at: datetime, version: str
) -> Dispute.OrderPlaced:
    """``dataclasses.replace(placed, ...)`` built the way the mapper builds events.

    (``replace`` re-runs the frozen dataclass ``__init__``: ten times slower.)
    """
    state = dict(placed.__dict__)
    state.update(ship_by=ship_by, auto_cancel_at=auto_cancel_at, policy_version=version)
    event = object.__new__(type(placed))
    object.__setattr__(event, "__dict__", state)
    return event


class _Side:
    """One in-memory replay of a dispute under one policy (never saved)."""

    __slots__ = ("calendar", "derived", "dispute", "forced", "policy", "rules")

    def __init__(
        self, policy: Policy, rules: Rules, calendar: BusinessCalendar, placed: Dispute.OrderPlaced
    ) -> None:
        self.policy = policy
        self.rules = rules
        self.calendar = calendar
        self.dispute = new_dispute(placed)
        self.derived: list[Derived] = []
        self.forced = 0

    def record_due(self, until: datetime) -> None:
        dispute = self.dispute
        # The first check record_due makes, with this order's rules and
        # calendar looked up once per segment instead of on every call.
        due = deadlines.next_due(dispute, self.rules, self.calendar)
        if due is None or due.at > until:
            return
        dispute.record_due_under(self.rules, self.calendar, self.policy.version, until, due=due)
        for event in dispute.collect_events():
            refund: Decimal | None = None
            if isinstance(event, Dispute.RefundAutoApproved):
                refund = event.amount
            elif isinstance(event, Dispute.OrderAutoCancelled):
                refund = event.refund_amount
            at: datetime = event.occurred_at  # type: ignore[attr-defined]
            self.derived.append(Derived(type(event).__name__, at, refund))

    def apply(self, fact: Dispute.Event) -> None:
        # ``apply`` (not ``mutate``): the replay's derived events do not take
        # the recorded ones' version numbers, so the version check cannot hold.
        fact.apply(self.dispute)
        self.forced = len(self.derived)

    def late_dispatch_eligible(self, as_of: datetime) -> bool:
        """Counted in late_dispatch_rate's denominator: shipped, or ship_by passed."""
        return self.dispute.is_shipped or self.dispute.ship_by <= as_of


@dataclass(slots=True)
class DisputeOutcome:
    """What one dispute got under both policies, and what was recorded.

    ``counterfactual``: the baseline and candidate timelines of derived events
    (type and instant) first differ at ``diverged_at``, and a fact other than
    OrderPlaced was recorded at or after that instant: a human (or the
    platform) acted in a world where that derived event had (or had not)
    happened, so the candidate's later history is not what would have been.
    """

    dispute_id: UUID
    order_id: str
    seller_id: str
    region: str
    category: str
    currency: str
    baseline_version: str
    facts: int
    baseline: list[Derived]
    candidate: list[Derived]
    recorded: list[tuple[str, datetime]]
    baseline_forced: int
    baseline_late_eligible: bool
    candidate_late_eligible: bool
    baseline_history: list[tuple[str, datetime]]
    candidate_history: list[tuple[str, datetime]]
    last_action_at: datetime | None

    @property
    def shared(self) -> bool:
        """The candidate took the baseline's decisions for this order: one replay served both."""
        return self.candidate is self.baseline

    @property
    def changed(self) -> bool:
        if self.shared:
            return False
        return {d.kind for d in self.baseline} != {d.kind for d in self.candidate}

    @property
    def diverged_at(self) -> datetime | None:
        if self.shared:
            return None
        for b, c in zip(self.baseline, self.candidate, strict=False):
            if b.kind != c.kind or b.at != c.at:
                return min(b.at, c.at)
        if len(self.baseline) == len(self.candidate):
            return None
        longer = self.baseline if len(self.baseline) > len(self.candidate) else self.candidate
        return longer[min(len(self.baseline), len(self.candidate))].at

    @property
    def counterfactual(self) -> bool:
        at = self.diverged_at
        return at is not None and self.last_action_at is not None and self.last_action_at >= at

    @property
    def matches_recorded(self) -> bool:
        """The baseline replay reproduces the derived events on record.

        The record must be a prefix of the baseline's derived events (same
        type and instant, same order) that includes every event the baseline
        recorded before one of its facts (a live command records those in the
        same transaction as the fact). Later ones, due after the last recorded
        fact, exist only where a sweep has already run; a sweep records every
        event due by its instant, in time order, hence a prefix.
        """
        recorded = self.recorded
        if not recorded:
            return self.baseline_forced == 0
        if len(recorded) < self.baseline_forced or len(recorded) > len(self.baseline):
            return False
        pairs = zip(recorded, self.baseline, strict=False)
        return all(kind == d.kind and at == d.at for (kind, at), d in pairs)


class _Segment:
    """What every order of one (baseline version, region, category) shares.

    The rules and calendars of both policies are looked up once. ``same``:
    both policies take the same timer decisions (``record_due`` reads only
    the rules and the calendar, besides the version it stamps on derived
    events), so such an order replays exactly as its baseline does and the
    replay runs once. The candidate's order deadlines are memoised per local
    order day: a window's end depends only on the local day it opened.
    """

    __slots__ = (
        "baseline",
        "baseline_calendar",
        "baseline_rules",
        "candidate",
        "candidate_calendar",
        "candidate_rules",
        "deadlines",
        "same",
    )

    def __init__(self, baseline: Policy, candidate: Policy, region: str, category: str) -> None:
        self.baseline = baseline
        self.candidate = candidate
        self.baseline_rules = baseline.rules_for(region, category)
        self.baseline_calendar = baseline.calendar(region)
        self.candidate_rules = candidate.rules_for(region, category)
        self.candidate_calendar = candidate.calendar(region)
        ra, rb = baseline.regions[region], candidate.regions[region]
        self.same = self.baseline_rules == self.candidate_rules and (
            ra.timezone,
            ra.holiday_subdivision,
        ) == (rb.timezone, rb.holiday_subdivision)
        self.deadlines: dict[date, tuple[datetime, datetime]] = {}

    def candidate_deadlines(self, placed_at: datetime) -> tuple[datetime, datetime]:
        calendar = self.candidate_calendar
        day = calendar.local_date(placed_at)
        found = self.deadlines.get(day)
        if found is None:
            rules = self.candidate_rules
            found = self.deadlines[day] = (
                calendar.window_end(placed_at, rules.ship_within_business_days),
                calendar.window_end(placed_at, rules.auto_cancel_after_business_days),
            )
        return found


class _Replay:
    """The replay of the dispute whose rows are being read."""

    __slots__ = ("baseline", "candidate", "facts", "last_action_at", "placed", "recorded", "sides")

    def __init__(self, placed: Dispute.OrderPlaced, segment: _Segment) -> None:
        self.placed = placed
        self.baseline = _Side(
            segment.baseline, segment.baseline_rules, segment.baseline_calendar, placed
        )
        self.candidate: _Side | None = None
        ship_by, auto_cancel_at = segment.candidate_deadlines(placed.placed_at)
        if not (
            segment.same and ship_by == placed.ship_by and auto_cancel_at == placed.auto_cancel_at
        ):
            candidate = segment.candidate
            self.candidate = _Side(
                candidate,
                segment.candidate_rules,
                segment.candidate_calendar,
                with_deadlines(placed, ship_by, auto_cancel_at, candidate.version),
            )
        self.sides = (self.baseline,) if self.candidate is None else (self.baseline, self.candidate)
        self.recorded: list[tuple[str, datetime]] = []
        self.facts = 1
        self.last_action_at: datetime | None = None

    def fact(self, event: Dispute.Event) -> None:
        at = event.timestamp
        for side in self.sides:
            side.record_due(at)
            side.apply(event)
        self.facts += 1
        if self.last_action_at is None or at > self.last_action_at:
            self.last_action_at = at

    def finish(self, as_of: datetime) -> DisputeOutcome:
        baseline = self.baseline
        baseline.record_due(as_of)
        candidate = self.candidate
        if candidate is None:
            candidate = baseline
            candidate_eligible = baseline_eligible = baseline.late_dispatch_eligible(as_of)
        else:
            candidate.record_due(as_of)
            baseline_eligible = baseline.late_dispatch_eligible(as_of)
            candidate_eligible = candidate.late_dispatch_eligible(as_of)
        placed = self.placed
        return DisputeOutcome(  # positional: this runs once per dispute
            placed.originator_id,
            placed.order_id,
            placed.seller_id,
            placed.region,
            placed.category,
            placed.currency,
            baseline.policy.version,
            self.facts,
            baseline.derived,
            candidate.derived,
            self.recorded,
            baseline.forced,
            baseline_eligible,
            candidate_eligible,
            baseline.dispute.history,
            candidate.dispute.history,
            self.last_action_at,
        )


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
    replay: _Replay | None = None
    segments: dict[tuple[str, str, str], _Segment] = {}
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
                            segment = segments[key] = _Segment(
                                baseline, candidate, placed.region, placed.category
                            )
                        replay = _Replay(placed, segment)
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
