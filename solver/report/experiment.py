"""An experiment's report as a terminal table and as an HTML page with the cumulative lift over time.

Both render the figures of `solver.report.experiment_report.experiment_report`
(the JSON of `leadsolver experiment report`); the page draws the daily looks
with the report's inline SVG charts (`solver.report.svg`).
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timedelta
from typing import Any

from solver.domain.experiment import ARMS
from solver.report.html import html_page, html_table
from solver.report.svg import Band, time_lines
from solver.report.tables import format_rows

ARM_ROWS = (
    ("leads", "leads"),
    ("pending", "pending (no outcome yet)"),
    ("resolved", "resolved (won, lost, disqualified, closed)"),
    ("won", "won"),
    ("first_touch_median", "first touch, median (min)"),
    ("first_touch_p90", "first touch, p90 (min)"),
    ("conversion", "conversion (won / resolved)"),
    ("revenue_per_lead", "revenue per resolved lead"),
    ("fairness_jain", "fairness (Jain, leads per rep)"),
)


def _arm_value(arm: dict[str, Any], key: str) -> Any:
    if key.startswith("first_touch_"):
        return arm["first_touch_minutes"][key.removeprefix("first_touch_")]
    return arm[key]


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}g}" if abs(value) < 1 else f"{value:,.2f}"


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The headline in words: the difference, its intervals, the test and the verdict."""
    d, seq, exp = report["difference"], report["sequential"], report["experiment"]
    unit = "lead" if exp["unit"] == "lead" else f"{exp['unit']} ({d['clusters']} clusters with outcomes)"
    lines = [
        f"experiment {exp['name']!r}: control {report.get('arms_policy', {}).get('control', '?')} vs "
        f"challenger {report.get('arms_policy', {}).get('challenger', '?')}, randomized by {unit}, "
        f"challenger share {exp['share']}",
        f"{report['metric']}: challenger - control = {_num(d['diff'])} "
        f"(95% interval {_num(d['low'])} to {_num(d['high'])}"
        f"{', cluster-robust' if d['cluster_robust'] else ''})",
        f"always-valid p = {_num(seq['p_value'])} over {seq['looks']} daily looks; confidence sequence "
        f"{_num(seq['low'])} to {_num(seq['high'])} (alpha {seq['alpha']})",
    ]
    size = report["sample_size"]
    if size:
        lines.append(f"to find {size['min_effect']} with power {size['power']}: {size['sequential']:,} "
                     f"resolved leads with daily looks ({size['fixed_horizon']:,} for one look at the end); "
                     f"{size['still_needed']:,} still needed")
    lines.append(report["verdict"])
    if report.get("stopped"):
        stop = report["stopped"]
        lines.append(f"stopped {stop['stopped_at']} by {stop['decided_by']}: winner {stop['winner']} "
                     f"({stop['policy']}) routes every lead now")
    return lines


def arm_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    arms = report["arms"]
    return [(label, *(_num(_arm_value(arms[a], key)) for a in ARMS)) for key, label in ARM_ROWS]


def experiment_table(report: dict[str, Any]) -> str:
    """The report for a terminal: the summary, then the arms side by side."""
    return "\n".join(summary_lines(report)) + "\n\n" + format_rows(("", *ARMS), arm_rows(report)) + "\n"


def lift_chart(report: dict[str, Any]) -> str:
    """The cumulative difference at each daily look, with its 95% interval and confidence sequence."""
    looks = report["looks"]
    if not looks:
        return "<p>No outcomes yet: the chart starts with the first resolved lead.</p>"

    def value(v: Any, fallback: float) -> float:
        return float(v) if v is not None else fallback

    diffs = [value(k["diff"], math.nan) for k in looks]
    half = [1.96 * value(k["se"], 0.0) for k in looks]
    fixed = Band(diffs, [d - h for d, h in zip(diffs, half, strict=True)],
                 [d + h for d, h in zip(diffs, half, strict=True)])
    # before the sequence is finite (too little data) it has no band: drawn at the estimate, it
    # looked certain where nothing is known yet
    sequence = Band(diffs, [value(k["low"], math.nan) for k in looks],
                    [value(k["high"], math.nan) for k in looks])
    first = datetime.fromisoformat(looks[0]["at"])
    return time_lines(first, timedelta(days=1),
                      {"95% interval (one look)": fixed, "confidence sequence (any look)": sequence},
                      f"Cumulative lift: challenger - control ({report['metric']})", report["metric"])


def experiment_html(report: dict[str, Any]) -> str:
    """The report as one self-contained page."""
    summary = "<ul id='summary'>" + "".join(f"<li>{html.escape(line)}</li>"
                                            for line in summary_lines(report)) + "</ul>"
    differences = [(m, _num(d["diff"]), _num(d["low"]), _num(d["high"]), str(d["clusters"] or "-"))
                   for m, d in report["differences"].items()]
    return html_page(f"Experiment {report['experiment']['name']}", [
        ("Summary", summary),
        ("Arms", html_table(("", *ARMS), arm_rows(report))),
        ("Differences (challenger - control, 95% interval)",
         html_table(("metric", "difference", "low", "high", "clusters"), differences)),
        ("Lift over time", lift_chart(report)),
    ])
