"""Paired studies and comparisons as Markdown: tables, and a plain verdict per comparison.

Every number comes from a `StudyResult` or a simulation's cells (JSON); a
comparison is "wins" only when the 95% interval of its paired difference, in the
metric's own unit, lies above 0 (for a metric where higher is better), "loses"
when it lies below, and otherwise says the interval includes 0: no claim of a
win is made on a mean alone. The % shown is that same difference in % of the
reference's mean, so it always reads the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.report.glossary import label
from solver.report.results import Comparison, Interval, StudyResult

MD_METRICS = ("expected_revenue", "response_p50_min", "response_p90_min", "sla_breaches",
              "pipeline_jain", "pipeline_min_max", "decided_by_router")
# Metrics where a lower value is the better one (the verdict flips).
LOWER_IS_BETTER = {"response_p50_min", "response_p90_min", "sla_breaches", "unassigned", "reassigned",
                   "gini", "max_deviation", "router_pipeline_imbalance"}


def fmt(iv: Interval, digits: int = 1, sign: bool = False) -> str:
    """'12.3 [10.0, 14.7]' (with `sign`: '+12.3 [+10.0, +14.7]')."""
    f = f"{{:{'+' if sign else ''},.{digits}f}}"
    return f"{f.format(iv['mean'])} [{f.format(iv['low'])}, {f.format(iv['high'])}]"


def _digits(metric: str) -> int:
    return 3 if any(k in metric for k in ("jain", "min_max", "rate", "imbalance", "attainment")) else 1


def direction(change: Interval, metric: str) -> str:
    """Which way a paired change (a difference or a % difference) of `metric` goes: 'better' when its
    whole 95% interval lies on the metric's good side of 0 (below 0 for one in `LOWER_IS_BETTER`,
    above for the others), 'worse' when it lies on the other side, '' when it includes 0 or rests on
    fewer than two seeds (one seed's interval has no width: nothing is known of the spread)."""
    if change.get("n", 2) < 2:
        return ""
    lower = metric in LOWER_IS_BETTER
    if (change["high"] < 0) if lower else (change["low"] > 0):
        return "better"
    if (change["low"] > 0) if lower else (change["high"] < 0):
        return "worse"
    return ""


def verdict(arm: str, reference: str, comparison: Comparison, metric: str = "expected_revenue") -> str:
    """One sentence: does `arm` beat `reference` on `metric`, decided by the paired difference in the
    metric's unit (the primary test) and shown as that difference in % of the reference with its 95% CI.
    """
    diff, pct = comparison["diff"][metric], comparison["pct"][metric]
    if diff["n"] == 0:
        return f"{arm} vs {reference}: no paired seeds."
    # No % without a reference mean to divide by (it is 0): the difference itself is shown.
    shown, unit = (pct, "%") if pct["n"] else (diff, "")
    text = (f"{shown['mean']:+,.2f}{unit} [{shown['low']:+,.2f}{unit}, {shown['high']:+,.2f}{unit}] "
            f"on {label(metric).lower()}")
    if diff["n"] < 2:
        return (f"{arm} vs {reference}: {shown['mean']:+,.2f}{unit} on {label(metric).lower()} from one "
                "seed: no interval, so no verdict.")
    side = direction(diff, metric)
    if side == "better":
        return f"{arm} beats {reference}: {text}."
    if side == "worse":
        return f"{arm} does NOT beat {reference}, it is worse: {text}."
    return f"{arm} does NOT beat {reference}: {text}; the 95% interval includes 0."


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def arms_table(result: StudyResult, metrics: Sequence[str] = MD_METRICS) -> str:
    """Mean [95% CI] of each metric per arm."""
    rows = [[a["label"], *(fmt(a["metrics"][m], _digits(m)) for m in metrics if m in a["metrics"])]
            for a in result["arms"]]
    present = [m for m in metrics if result["arms"] and m in result["arms"][0]["metrics"]]
    return markdown_table(["arm", *present], rows)


def comparisons_table(result: StudyResult, metrics: Sequence[str] = ("expected_revenue",)) -> str:
    """Per comparison: the paired difference and % difference of each metric (mean [95% CI])."""
    header = ["arm", "vs"]
    for m in metrics:
        header += [f"{m} diff", f"{m} %"]
    rows = []
    for c in result["comparisons"]:
        row = [c["arm"], c["reference"]]
        for m in metrics:
            row += [fmt(c["diff"][m], _digits(m), sign=True), fmt(c["pct"][m], 2, sign=True)]
        rows.append(row)
    return markdown_table(header, rows)


def verdicts(result: StudyResult, metric: str = "expected_revenue") -> list[str]:
    return [verdict(c["arm"], c["reference"], c, metric) for c in result["comparisons"]]


def study_markdown(result: StudyResult, title: str, metrics: Sequence[str] = MD_METRICS,
                   compare_metrics: Sequence[str] = ("expected_revenue",)) -> str:
    """A section: the arms table, the paired comparisons table and the verdicts."""
    parts = [f"### {title}", "",
             f"Scenario `{result['scenario']}`, {result['seeds']} seeds, mean [95% CI].", "",
             arms_table(result, metrics), "", "Paired by seed:", "",
             comparisons_table(result, compare_metrics), ""]
    parts += [f"- {v}" for v in verdicts(result)]
    return "\n".join(parts) + "\n"
