"""What each metric is called in words, its unit, what it means, and the values it can take.

A report or a console page shows a metric by its words (`label`), never by its
internal name, and lists the words with their meaning in a glossary. `clip`
keeps a mean's interval inside what the metric can be: a Student-t interval of
a share over two seeds runs past 0 and 1 (-0.25 to 1.25), which no share can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.report.results import Interval

INF = math.inf


@dataclass(frozen=True)
class Metric:
    """A metric as a person reads it."""

    label: str  # the words of a table heading
    unit: str  # "" for a plain number; "%" is not used: shares are 0..1 and shown as %
    meaning: str  # one sentence for the glossary
    low: float = 0.0  # the least value it can take
    high: float = INF  # the greatest
    share: bool = False  # a fraction in 0..1, shown as a percentage
    digits: int = 0  # decimals shown (of the percentage for a share)


GLOSSARY: dict[str, Metric] = {
    "expected_revenue": Metric(
        "Expected revenue", "$", "Sum over leads of the deal value times its chance of being won, "
        "given how fast the rep answered (the simulator's truth, not the router's estimate)."),
    "realized_revenue": Metric(
        "Won revenue", "$", "Value of the deals actually won in the simulated run (one draw)."),
    "expected_value": Metric(
        "Router's expected value", "", "The router's own objective: value x score x rep skill, "
        "without the effect of speed. Not revenue; compare it only across fairness weights."),
    "conversion_rate": Metric("Win rate", "", "Share of all leads won.", high=1.0, share=True, digits=1),
    "response_p50_min": Metric(
        "Median first response", "min", "Half of the answered leads got a first response within this "
        "many minutes of arriving."),
    "response_p90_min": Metric(
        "First response, slowest 10%", "min", "90% of the answered leads got a first response within "
        "this many minutes (the 90th percentile)."),
    "sla_breaches": Metric(
        "SLA breaches", "leads", "Assigned leads answered later than the SLA, or never answered."),
    "assigned": Metric("Assigned leads", "leads", "Leads a rep took (the others stayed unassigned)."),
    "unassigned": Metric("Unassigned leads", "leads", "Leads no rep ever took (no eligible rep with room)."),
    "reassigned": Metric("Reassigned leads", "leads", "Leads moved to another rep at least once."),
    "utilization": Metric(
        "Capacity in use", "", "Open leads over capacity, averaged over reps and hours.",
        high=INF, share=True, digits=0),
    "quota_attainment": Metric(
        "Reps at quota", "", "Share of reps whose won revenue reached their quota.",
        high=1.0, share=True, digits=0),
    "mean_attainment": Metric(
        "Mean quota attainment", "", "Won revenue over quota, averaged over reps.", share=True, digits=0),
    "jain": Metric(
        "Lead-count fairness", "", "Jain index of leads per rep against each rep's quota share: "
        "1 = every rep got its share of leads, lower = more uneven.", high=1.0, digits=3),
    "gini": Metric(
        "Lead-count inequality (Gini)", "", "Gini coefficient of leads per unit of quota share: "
        "0 = even, 1 = one rep got everything.", high=1.0, digits=3),
    "max_deviation": Metric(
        "Largest share gap", "", "The largest gap between a rep's share of leads and its quota share.",
        high=1.0, share=True, digits=1),
    "pipeline_jain": Metric(
        "Pipeline fairness", "", "Jain index of pipeline value per rep against quota share: "
        "1 = every rep got its share's worth of pipeline.", high=1.0, digits=3),
    "pipeline_min_max": Metric(
        "Least / most served rep", "", "Pipeline per quota share of the least served rep over that of "
        "the most served: 1 = equal, 0 = a rep got nothing.", high=1.0, digits=3),
    "structural_jain": Metric(
        "Fairness the territories allow", "", "Pipeline fairness if each territory's leads were split "
        "perfectly by quota share inside it: the best any router can do under the rules.",
        high=1.0, digits=3),
    "structural_min_max": Metric(
        "Least / most served the territories allow", "", "As 'Least / most served rep', for the split "
        "perfect inside each territory.", high=1.0, digits=3),
    "router_pipeline_imbalance": Metric(
        "Unfairness added by routing", "", "Fairness the territories allow minus pipeline fairness: "
        "what the router, not the territory map, makes uneven.", low=-1.0, high=1.0, digits=3),
    "decided_by_router": Metric("Leads the router chose for", "leads", "Leads whose first rep the "
                                "router chose (the rest were forced to the account's owner)."),
    "forced_by_owner": Metric("Leads forced to the account owner", "leads",
                              "Leads whose rep the account-owner rule fixed."),
    # Per rep (the per-rep table).
    "leads": Metric("Leads", "leads", "Leads the rep was given."),
    "pipeline": Metric("Pipeline", "$", "Value of the leads the rep was given."),
    "quota_share": Metric("Quota share", "", "The rep's share of the team's quota: its fair share "
                          "of pipeline.", high=1.0, share=True, digits=1),
    "pipeline_vs_share": Metric(
        "Pipeline vs fair share", "", "The rep's share of pipeline over its quota share: 100% = exactly "
        "its share, below 90% = behind.", share=True, digits=0),
    "territory_vs_share": Metric(
        "Territory allows", "", "The same ratio if each territory's leads were split perfectly by "
        "quota share: below 90% the rep's territory has too few leads for its quota, whatever the "
        "router does.", share=True, digits=0),
    "won": Metric("Won revenue", "$", "Value of the deals the rep won."),
    "attainment": Metric("Quota attained", "", "Won revenue over the rep's quota.", share=True, digits=0),
}


def label(name: str) -> str:
    """A metric's words (its internal name if the glossary lacks it, so nothing is hidden)."""
    metric = GLOSSARY.get(name)
    return metric.label if metric else name.replace("_", " ")


def heading(name: str) -> str:
    """Words and unit: 'Median first response (min)'."""
    metric = GLOSSARY.get(name)
    if metric is None:
        return label(name)
    unit = "%" if metric.share else metric.unit
    return f"{metric.label} ({unit})" if unit else metric.label


def clip(iv: Interval, name: str) -> Interval:
    """The interval with its ends kept inside the metric's range (the mean is already inside)."""
    metric = GLOSSARY.get(name)
    if metric is None or iv["n"] == 0:
        return iv
    return {"mean": iv["mean"], "low": max(iv["low"], metric.low), "high": min(iv["high"], metric.high),
            "n": iv["n"]}


def number(value: float, name: str) -> str:
    """A value in the metric's unit: '18', '$3,889,782', '87%', '0.877'; '-' when there is none."""
    if value is None or not math.isfinite(value):
        return "-"
    metric = GLOSSARY.get(name)
    if metric is None:
        return f"{value:,.2f}"
    if metric.share:
        return f"{100 * value:,.{metric.digits}f}%"
    if metric.unit == "$":
        return f"${value:,.0f}"
    if metric.unit == "min":
        return f"{value:,.1f}"
    if metric.digits == 0 and value != round(value):  # a mean of counts: 2.5 is not 2 (half to even)
        return f"{value:,.1f}"
    return f"{value:,.{metric.digits}f}"


def interval_text(iv: Interval, name: str) -> str:
    """'$3,889,782 [$3,769,911; $4,009,654]' with the interval clipped to the metric's range;
    the mean alone when one seed gives no interval."""
    iv = clip(iv, name)
    if iv["n"] <= 1 or iv["low"] == iv["high"]:
        return number(iv["mean"], name)
    return f"{number(iv['mean'], name)} [{number(iv['low'], name)}; {number(iv['high'], name)}]"


def difference_text(diff: Interval, pct: Interval, name: str) -> str:
    """A paired difference in the metric's unit, with its 95% interval: '+$1,204 [-$310; +$2,718]',
    '+3.5 [-1.0; +8.0]', '+0.012 [...]', a share in percentage points ('-4.0 pts [...]'); expected
    revenue adds the change in % of the reference. '-' without paired seeds."""
    if diff["n"] == 0:
        return "-"
    metric = GLOSSARY.get(name)

    def value(v: float) -> str:
        if metric is None:
            return f"{v:+,.2f}"
        if metric.share:
            return f"{100 * v:+,.{metric.digits}f} pts"
        if metric.digits == 3:
            return f"{v:+.3f}"
        if metric.unit == "$":
            return f"{'+' if v >= 0 else '-'}${abs(v):,.0f}"
        return f"{v:+,.1f}"

    text = f"{value(diff['mean'])} [{value(diff['low'])}; {value(diff['high'])}]"
    if name == "expected_revenue" and pct["n"]:
        text += f" ({pct['mean']:+.1f}% [{pct['low']:+.1f}; {pct['high']:+.1f}])"
    return text


def entries(names: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(heading, meaning) of each named metric the glossary has, for a glossary table."""
    return [(heading(n), GLOSSARY[n].meaning) for n in names if n in GLOSSARY]
