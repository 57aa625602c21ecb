"""The report: weeks, rates, and the self-contained HTML page."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from application.disputes import DisputeDesk
from application.simulation_report import _week_index, _week_label
from application.simulator import build_request, run_simulation
from infrastructure.bootstrap import load_policy
from infrastructure.clock import ManualClock
from interface.report_html import _nice_ceiling, render_report
from tests.integration.test_simulator_support import (
    CHANGES,
    PLACED,
    RecorderReader,
    build_history,
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    clock = ManualClock(PLACED)
    desk = DisputeDesk(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock,
        default_policy=load_policy(None),
    )
    try:
        build_history(desk, clock)
        request = build_request(current=desk.current_policy(), now=clock.now(), changes=CHANGES)
        return run_simulation(desk, RecorderReader(desk), request)
    finally:
        desk.close()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("href", "src") and v]


def test_weeks_are_iso_weeks_in_utc() -> None:
    monday = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    sunday = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert _week_index(monday) == _week_index(sunday)
    assert _week_label(_week_index(monday)) == "2026-W48"
    assert _week_label(_week_index(datetime(2027, 1, 1, tzinfo=UTC))) == "2026-W53"


def test_report_counts_weeks_of_both_sides(report: dict[str, Any]) -> None:
    weeks = report["derived_per_week"]
    assert sum(w["baseline"] for w in weeks) == sum(
        c["baseline"] for c in report["derived"].values()
    )
    assert sum(w["candidate"] for w in weeks) == sum(
        c["candidate"] for c in report["derived"].values()
    )
    assert [w["week"] for w in weeks] == sorted(w["week"] for w in weeks)


def test_html_is_self_contained_with_two_charts(report: dict[str, Any]) -> None:
    page = render_report(report)
    collector = _Collector()
    collector.feed(page)
    collector.close()
    assert collector.tags.count("svg") == 2
    assert "script" not in collector.tags and "link" not in collector.tags
    assert collector.urls == []
    assert not re.search(r"https?://", page)
    for order in ("A", "B", "C", "D"):
        assert f"<h3>{order} " in page


def test_html_escapes_everything(report: dict[str, Any]) -> None:
    hostile = copy.deepcopy(report)
    changed = next(s for s in hostile["sellers"] if s["seller_id"] == "s-us")
    changed["seller_id"] = "<script>alert(1)</script>"
    hostile["samples"][0]["order_id"] = '"><img src=x onerror=alert(1)>'
    page = render_report(hostile)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page


def test_html_of_an_empty_report() -> None:
    request = build_request(current=load_policy(None), now=PLACED, changes=CHANGES)
    desk = DisputeDesk(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=ManualClock(PLACED),
        default_policy=load_policy(None),
    )
    try:
        page = render_report(run_simulation(desk, RecorderReader(desk), request))
    finally:
        desk.close()
    assert "No dispute changed, and none is counterfactual." in page
    assert "No derived events" in page


def test_html_charts_and_lists_only_sellers_whose_figures_change(
    report: dict[str, Any],
) -> None:
    figures = {s["seller_id"]: s for s in report["sellers"]}
    assert figures["s-gb"]["late_dispatch_rate"] == {"baseline": 1.0, "candidate": 1.0}
    page = render_report(report)
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert ">s-us</text>" in chart
    assert "s-gb" not in page  # unchanged: neither charted nor listed
    assert "Sellers whose figures change: 1 (1 unchanged, not shown)." in page


def test_html_says_why_a_sample_is_counterfactual(report: dict[str, Any]) -> None:
    page = render_report(report)
    assert "counterfactual: RefundDenied recorded at 2026-11-27T18:00:00" in page
    assert "there is no refund request awaiting the seller&#x27;s answer" in page


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 4), (3, 4), (5, 8), (9, 20), (21, 40), (5131, 8000)]
)
def test_chart_axis_ends_on_a_round_number(value: int, ceiling: int) -> None:
    assert _nice_ceiling(value) == ceiling
