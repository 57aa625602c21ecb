"""The simulation report as one self-contained HTML page (inline CSS and SVG, no network).

Two charts: the late-dispatch rate of the sellers whose rate the candidate
changes, most changed first (baseline and candidate on one line each), and the
derived events per week under both policies. Then the figures of the report as
tables (sellers: only those whose figures change), and the sample of changed
and counterfactual disputes with both timelines. Every value is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

CHART_SELLERS = 30
BASELINE_COLOUR = "#7a869a"
CANDIDATE_COLOUR = "#d9480f"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .7rem;border-bottom:1px solid
#e1e4e8;text-align:left}th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:
tabular-nums}.muted{color:#6a737d}.bad{color:#b42318;font-weight:600}.good{color:#067647;
font-weight:600}.legend span{display:inline-block;margin-right:1rem}.sw{display:inline-block;
width:.8rem;height:.8rem;border-radius:50%;margin-right:.3rem;vertical-align:-1px}
.timeline{font-size:12px;margin:0;padding-left:1rem}.timeline li.d{font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _late_change(seller: dict[str, Any]) -> float:
    rate = seller["late_dispatch_rate"]
    if rate["baseline"] is None or rate["candidate"] is None:
        return 0.0
    return abs(float(rate["candidate"]) - float(rate["baseline"]))


def _changed(rates: dict[str, Any]) -> bool:
    return bool(rates["baseline"] != rates["candidate"])


def figures_changed(seller: dict[str, Any]) -> bool:
    """The candidate changes the seller's late-dispatch or auto-cancel rate."""
    return _changed(seller["late_dispatch_rate"]) or _changed(seller["auto_cancel_rate"])


def charted_sellers(sellers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sellers whose late-dispatch rate the candidate changes, most changed first."""
    rows = [s for s in sellers if _changed(s["late_dispatch_rate"])]
    rows.sort(key=lambda s: (-_late_change(s), -s["orders"], s["seller_id"]))
    return rows[:CHART_SELLERS]


def sellers_chart(sellers: list[dict[str, Any]]) -> str:
    """Late-dispatch rate per seller whose rate changes, baseline and candidate on one row."""
    rows = charted_sellers(sellers)
    if not rows:
        return '<p class="muted">The candidate changes no seller\'s late-dispatch rate.</p>'
    left, width, row_height, top = 150, 520, 18, 24
    height = top + row_height * len(rows) + 24
    parts = [
        f'<svg role="img" aria-label="Late-dispatch rate per seller" width="{left + width + 60}"'
        f' height="{height}" viewBox="0 0 {left + width + 60} {height}">'
    ]
    for tick in range(0, 101, 20):
        x = left + width * tick / 100
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 20}" '
            'stroke="#e1e4e8"/>'
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{tick}%</text>'
        )
    for index, seller in enumerate(rows):
        y = top + row_height * index + row_height / 2
        rate = seller["late_dispatch_rate"]
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(seller["seller_id"])}'
            "</text>"
        )
        points = [
            (left + width * float(rate[side]), colour)
            for side, colour in (("baseline", BASELINE_COLOUR), ("candidate", CANDIDATE_COLOUR))
            if rate[side] is not None
        ]
        if len(points) == 2:
            parts.append(
                f'<line x1="{points[0][0]:.1f}" y1="{y:.1f}" x2="{points[1][0]:.1f}" '
                f'y2="{y:.1f}" stroke="#adb5bd" stroke-width="2"/>'
            )
        for x, colour in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        parts.append(
            f'<title>{_e(seller["seller_id"])}: {_rate(rate["baseline"])} → '
            f'{_rate(rate["candidate"])}</title>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_ceiling(value: int) -> int:
    """The smallest 2, 4 or 8 times a power of ten at or above ``value`` (and >= 4).

    A quarter of it is then a round number: the axis has four whole steps.
    """
    scale = 1
    while True:
        for step in (2, 4, 8):
            if step * scale >= max(value, 4):
                return step * scale
        scale *= 10


def weeks_chart(weeks: list[dict[str, Any]]) -> str:
    """Derived events per week: baseline and candidate bars side by side."""
    if not weeks:
        return '<p class="muted">No derived events in the replay.</p>'
    left, top, plot_height = 50, 16, 200
    bar = max(3, min(14, 700 // (2 * len(weeks) + len(weeks))))
    group = 2 * bar + max(2, bar // 2)
    width = left + group * len(weeks) + 20
    peak = _nice_ceiling(max(max(w["baseline"], w["candidate"]) for w in weeks))
    height = top + plot_height + 60
    parts = [
        f'<svg role="img" aria-label="Derived events per week" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for step in range(5):
        value = peak * step / 4
        y = top + plot_height - plot_height * step / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e1e4e8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.0f}</text>'
        )
    label_every = max(1, len(weeks) // 12)
    for index, week in enumerate(weeks):
        x = left + group * index
        for offset, side, colour in (
            (0, "baseline", BASELINE_COLOUR), (bar, "candidate", CANDIDATE_COLOUR)
        ):
            h = plot_height * week[side] / peak
            parts.append(
                f'<rect x="{x + offset}" y="{top + plot_height - h:.1f}" width="{bar}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_e(week["week"])} {side}: '
                f'{week[side]}</title></rect>'
            )
        if index % label_every == 0:
            lx, ly = x + bar, top + plot_height + 12
            parts.append(
                f'<text x="{lx}" y="{ly}" text-anchor="end" '
                f'transform="rotate(-45 {lx} {ly})">{_e(week["week"])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    return (
        '<p class="legend">'
        f'<span><i class="sw" style="background:{BASELINE_COLOUR}"></i>baseline (recorded '
        "policy)</span>"
        f'<span><i class="sw" style="background:{CANDIDATE_COLOUR}"></i>candidate</span></p>'
    )


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _timeline(entries: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li class="{"d" if e["derived"] else ""}">{_e(e["type"])} '
        f'<span class="muted">{_e(e["occurred_at"])}</span></li>'
        for e in entries
    )
    return f'<ol class="timeline">{items}</ol>'


def _chart_caption(charted: int) -> str:
    if not charted:
        return ""
    return (
        f'<p class="muted">The {charted} sellers whose rate the candidate changes '
        "(most changed first).</p>"
    )


def _impossible(fact: dict[str, Any] | None) -> str:
    """Why a sample is counterfactual: the recorded fact the candidate's case would refuse."""
    if fact is None:
        return ""
    return (
        f'<p class="bad">counterfactual: {_e(fact["type"])} recorded at '
        f'{_e(fact["recorded_at"])} could not have happened under the candidate: '
        f'{_e(fact["reason"])}</p>'
    )


def render_report(report: dict[str, Any]) -> str:
    """The whole page for a simulation report (the dict ``run_simulation`` returns)."""
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{report_title(report)}</title><style>{STYLE}</style></head><body>"
        f"{report_body(report)}</body></html>"
    )


def report_title(report: dict[str, Any]) -> str:
    return (
        f'Simulation: {_e(report["candidate_policy_version"])} against '
        f'{_e(report["baseline_policy_version"])}'
    )


def report_body(report: dict[str, Any]) -> str:
    """The report's content (its title, figures, charts and samples), to place in a page
    styled with :data:`STYLE`."""
    matches = report["baseline_matches_recorded"]
    fidelity = (
        '<span class="good">yes</span>' if matches else
        f'<span class="bad">no: {report["mismatched_count"]} disputes differ</span>'
    )
    filters = ", ".join(
        f"{_e(k)}={_e(v)}" for k, v in report["filters"].items() if v is not None
    ) or "none"
    summary = _table(["", ""], [
        ["as of", _e(report["as_of"])],
        ["baseline policy", _e(report["baseline_policy_version"])],
        ["candidate policy", _e(report["candidate_policy_version"])],
        ["changes", _e(report["changes"]) if report["changes"] is not None else "whole document"],
        ["filters", filters],
        ["events read / facts replayed", f'{report["events_read"]} / {report["events_replayed"]}'],
        ["disputes", str(report["disputes"])],
        ["retimed disputes (the same derived events at other instants)",
         str(report["retimed_disputes"])],
        ["changed disputes (other derived events, refunds or status)",
         str(report["changed_disputes"])],
        ["counterfactual disputes (a recorded fact the candidate would have refused)",
         str(report["counterfactual_disputes"]) + "".join(
             f' <span class="muted">{_e(kind)} {count}</span>'
             for kind, count in report["counterfactual_facts"].items()
         )],
        ["baseline replay reproduces the record", fidelity],
    ], set())
    derived = _table(
        ["derived event", "baseline", "candidate", "change"],
        [
            [_e(kind), str(c["baseline"]), str(c["candidate"]),
             f'{c["candidate"] - c["baseline"]:+d}']
            for kind, c in report["derived"].items()
        ],
        {1, 2, 3},
    )
    exposure = _table(
        ["currency", "baseline", "candidate"],
        [[_e(r["currency"]), _e(r["baseline"]["amount"]), _e(r["candidate"]["amount"])]
         for r in report["refund_exposure"]],
        {1, 2},
    ) if report["refund_exposure"] else '<p class="muted">No automatic refunds.</p>'
    postage_rows = report.get("return_postage_exposure") or []
    postage = _table(
        ["currency", "baseline", "candidate"],
        [[_e(r["currency"]), _e(r["baseline"]["amount"]), _e(r["candidate"]["amount"])]
         for r in postage_rows],
        {1, 2},
    ) if postage_rows else '<p class="muted">No return postage paid by sellers.</p>'
    changed_sellers = [s for s in report["sellers"] if figures_changed(s)]
    sellers = sorted(changed_sellers, key=lambda s: (-_late_change(s), s["seller_id"]))
    seller_rows = [
        [_e(s["seller_id"]), str(s["orders"]),
         _rate(s["late_dispatch_rate"]["baseline"]), _rate(s["late_dispatch_rate"]["candidate"]),
         _rate(s["auto_cancel_rate"]["baseline"]), _rate(s["auto_cancel_rate"]["candidate"])]
        for s in sellers[:100]
    ]
    seller_table = _table(
        ["seller", "orders", "late baseline", "late candidate", "auto-cancel baseline",
         "auto-cancel candidate"],
        seller_rows, {1, 2, 3, 4, 5},
    ) if seller_rows else ""
    unchanged = len(report["sellers"]) - len(changed_sellers)
    seller_table += (
        f'<p class="muted">Sellers whose figures change: {len(changed_sellers)} '
        f"({unchanged} unchanged, not shown).</p>"
    )
    samples = "".join(
        f'<h3>{_e(s["order_id"])} <span class="muted">({_e(s["seller_id"])}, '
        f'{_e(s["region"])}/{_e(s["category"])})</span></h3>'
        + f'<p class="muted">{_e(s["change"])}</p>'
        + _impossible(s["impossible_fact"])
        + _table(["baseline", "candidate"], [[
            _timeline(s["timeline"]["baseline"]), _timeline(s["timeline"]["candidate"])
        ]], set())
        for s in report["samples"]
    ) or '<p class="muted">No dispute changed, and none is counterfactual.</p>'
    mismatched = ""
    if report["mismatched_disputes"]:
        mismatched = "<h2>Disputes the baseline does not reproduce</h2><p>" + ", ".join(
            _e(d) for d in report["mismatched_disputes"]
        ) + "</p>"
    return (
        f"<h1>{report_title(report)}</h1><p class=\"muted\">Replayed the recorded facts up to "
        f"{_e(report['as_of'])} under both policies. Nothing was written to the event store."
        f"</p>{summary}"
        f"<h2>Late-dispatch rate per seller</h2>{_legend()}"
        f"{_chart_caption(len(charted_sellers(report['sellers'])))}"
        f"{sellers_chart(report['sellers'])}"
        f"<h2>Derived events per week</h2>{_legend()}{weeks_chart(report['derived_per_week'])}"
        f"<h2>Derived events</h2>{derived}"
        f"<h2>Refund exposure</h2>{exposure}"
        f"<h2>Return postage the seller pays</h2>{postage}"
        f"<h2>Sellers</h2>{seller_table}"
        f"<h2>Changed and counterfactual disputes (sample)</h2>{samples}{mismatched}"
    )
