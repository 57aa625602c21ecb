"""A store written by an earlier release, opened with today's bundled policy.

An earlier release bundled ``2026-11-default`` (``reminder_hours_before = 0``);
this one bundles ``2027-01-default`` (24, appeal windows, reason codes). The
ledger keys versions by name, so the changed document is a new version: on
start-up it is published beside the old one, which stays on record unchanged,
and the orders placed under the old one keep its rules (no reminders), while new
orders follow the new one. ``policies/bundled-2026-11-default.toml`` is the old
bundled file, byte for byte (``test_policy_upgrade_appeals`` does the same for
``2026-12-default``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from application.disputes import DisputeDesk
from application.policy_ledger import LEDGER_ID, PolicyLedger
from application.simulator import build_request, run_simulation
from domain.dispute import Actor
from domain.money import Money
from domain.policy import parse_policy
from infrastructure.bootstrap import build_application, bundled_policy_text
from infrastructure.clock import ManualClock
from infrastructure.history_reader import history_reader_for
from infrastructure.settings import Settings

OLD_BUNDLED = Path(__file__).parent / "policies" / "bundled-2026-11-default.toml"
LA = ZoneInfo("America/Los_Angeles")
PLATFORM = Actor("platform", "feed")
MODERATOR = Actor("moderator", "m-1")
#: The version this release bundles.
BUNDLED = "2027-01-default"


def open_desk(database_url: str, clock: ManualClock, policy: Path | None = None) -> DisputeDesk:
    env = {"DISPUTEDESK_DATABASE_URL": database_url}
    if policy is not None:
        env["DISPUTEDESK_POLICY"] = str(policy)
    return build_application(Settings.from_env(env), clock=clock)


def place(desk: DisputeDesk, order_id: str) -> dict[str, Any]:
    view, created = desk.place_order(
        order_id=order_id, buyer_id="b-1", seller_id="s-1", region="US", category="general",
        amount=Money.of("25.00", "USD"), placed_at=desk.clock.now(), actor=PLATFORM,
    )
    assert created
    return view


def ledger_events(desk: DisputeDesk) -> list[tuple[int, str, bytes]]:
    """The policy ledger's stored events, as recorded."""
    events = desk.recorder.select_events(LEDGER_ID)
    return [(e.originator_version, e.topic, e.state) for e in events]


def derived(desk: DisputeDesk, view: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (row["type"], row["policy_version"])
        for row in desk.history(UUID(view["id"]), MODERATOR)
        if row["actor_role"] == "system"
    ]


def test_the_old_bundled_version_stays_on_record_for_the_orders_placed_under_it(
    database_url: str, manual_clock: ManualClock
) -> None:
    # Given a store that the previous release seeded and used
    assert parse_policy(OLD_BUNDLED.read_text("utf-8")).version == "2026-11-default"
    old = open_desk(database_url, manual_clock, OLD_BUNDLED)
    try:
        assert old.current_policy().rules_for("US", "general").reminder_hours_before == 0
        before = place(old, "o-before")
        assert before["policy_version"] == "2026-11-default"
        recorded = ledger_events(old)
    finally:
        old.close()

    # When this release starts on it with the bundled policy (no crash)
    manual_clock.set(datetime(2026, 11, 20, 11, tzinfo=LA))
    new = open_desk(database_url, manual_clock)
    try:
        # Then the new version is published beside the old one, which is untouched
        assert ledger_events(new)[: len(recorded)] == recorded
        assert len(ledger_events(new)) == len(recorded) + 1
        assert new.current_policy() == parse_policy(bundled_policy_text())
        assert new.current_policy().version == BUNDLED
        kept = new.policy("2026-11-default")
        assert kept == parse_policy(OLD_BUNDLED.read_text("utf-8"))
        assert kept.rules_for("US", "general").reminder_hours_before == 0

        # And a new order follows the new version: a reminder a day before ship_by
        after = place(new, "o-after")
        assert after["policy_version"] == BUNDLED
        assert after["next_due"]["type"] == "DeadlineApproaching"
        # While the old order keeps the rules it was placed under: no reminder
        assert new.case(UUID(before["id"]), MODERATOR)["next_due"]["type"] == "DeadlineMissed"
        manual_clock.set(datetime(2026, 12, 3, 9, tzinfo=LA))
        for view in (before, after):
            new.record_due(UUID(view["id"]))
        assert derived(new, before) == [
            ("DeadlineMissed", "2026-11-default"),
            ("OrderAutoCancelled", "2026-11-default"),
            ("RefundDue", None),
        ]
        assert derived(new, after) == [
            ("DeadlineApproaching", BUNDLED),
            ("DeadlineMissed", BUNDLED),
            ("OrderAutoCancelled", BUNDLED),
            ("RefundDue", None),
        ]
        # And a replay reproduces both records, each under its own version
        request = build_request(current=new.current_policy(), now=manual_clock.now(),
                                changes={"version": "same-rules"})
        report = run_simulation(new, history_reader_for(new), request)
        assert report["baseline_matches_recorded"] is True, report["mismatched_disputes"]
        assert report["derived"]["DeadlineApproaching"]["baseline"] == 1
        on_record = ledger_events(new)
    finally:
        new.close()

    # And starting again publishes nothing more
    again = open_desk(database_url, manual_clock)
    try:
        assert ledger_events(again) == on_record
        assert again.current_policy().version == BUNDLED
    finally:
        again.close()


def test_a_version_recorded_before_reminders_existed_still_records_none(
    database_url: str, manual_clock: ManualClock
) -> None:
    # Given a version on record whose document does not name reminder_hours_before,
    # as every version published before the rule existed
    legacy = parse_policy(OLD_BUNDLED.read_text("utf-8")).to_document()
    del legacy["defaults"]["reminder_hours_before"]
    legacy.update(version="2026-10-legacy", effective_from="2026-01-01T00:00:00Z")
    desk = open_desk(database_url, manual_clock, OLD_BUNDLED)
    try:
        ledger: object = desk.repository.get(LEDGER_ID)
        assert isinstance(ledger, PolicyLedger)
        ledger.trigger_event(
            PolicyLedger.PolicyPublished, timestamp=manual_clock.now(), version=legacy["version"],
            effective_from=datetime.fromisoformat(legacy["effective_from"]), document=legacy,
            actor_role="platform", actor_id="configuration",
        )
        desk.save(ledger)
    finally:
        desk.close()

    # When this release reads it, it means what it meant then: no reminders
    desk = open_desk(database_url, manual_clock)
    try:
        policy = desk.policy("2026-10-legacy")
        assert policy is not None
        assert policy.rules_for("US", "general").reminder_hours_before == 0
        assert policy.rules_for("GB", "general").reminder_hours_before == 0
        # Of two versions in force from the same instant, the one published later
        assert desk.current_policy().version == BUNDLED
    finally:
        desk.close()
