"""The simulation report a sales manager reads: conclusions in words first, then the evidence.

Order of the page: a plain-language summary (how much sooner and how much more
revenue than the CRM's rules, with the interval, and who stays under quota and
why), warnings (leads left unassigned, SLA breached), the results per policy
with metrics named in words, the per-rep table, comparisons, what each variant
(a team change) is worth against the base team, charts, the glossary and the
run's record. Every number comes from the result JSON
(`solver.report.results.SimulationResult`); every interval is clipped to what
its metric can be (`solver.report.glossary.clip`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from solver.report import svg
from solver.report.glossary import (
    clip,
    difference_text,
    entries,
    heading,
    interval_text,
    label,
    number,
)
from solver.report.html import (
    VARIANT_METRICS,
    change_text,
    html_page,
    html_table,
    paired_comparisons,
    variant_changes,
    variant_sentences,
)
from solver.report.results import CellSummary, RepTable, SimulationResult
from solver.report.studies import direction

# The results table's rows, in reading order (metrics a result lacks are skipped).
RESULT_METRICS = ("expected_revenue", "realized_revenue", "conversion_rate", "response_p50_min",
                  "response_p90_min", "sla_breaches", "unassigned", "quota_attainment", "pipeline_jain",
                  "pipeline_min_max", "structural_jain", "router_pipeline_imbalance", "jain",
                  "utilization", "decided_by_router", "forced_by_owner")
COMPARED = ("expected_revenue", "response_p50_min", "sla_breaches", "pipeline_jain")
# Below this share of its quota share of pipeline a rep is "behind" (and above its inverse, "ahead").
BEHIND = 0.9
# Warn when more than this share of the leads stays unassigned, or of assigned leads breaches the SLA.
UNASSIGNED_WARN = 0.01
SLA_WARN = 0.10

POLICY_WORDS = {"round_robin": "round robin", "least_loaded": "least loaded",
                "flow": "the optimizer (min-cost flow)", "cpsat": "the optimizer (CP-SAT)",
                "greedy": "greedy", "hungarian": "the optimizer (Hungarian)", "fast_path": "urgent fast path"}


# How the summary words a revenue gain by where its 95% interval lies (`direction`).
PROOF = {"better": " — a gain beyond doubt (the 95% interval is above 0)",
         "worse": " — a loss (the 95% interval is below 0)",
         "": " — not a proven difference (the 95% interval includes 0)"}


def policy_words(policy: str) -> str:
    return POLICY_WORDS.get(policy, policy.replace("_", " "))


def main_policy(result: SimulationResult) -> str:
    """The policy the report is about: the last one that is not a reference (the optimizer)."""
    others = [p for p in result["policies"] if p not in result["references"]]
    return (others or result["policies"])[-1]


def _mean(cell: CellSummary, metric: str) -> float:
    iv = cell["metrics"].get(metric)
    return iv["mean"] if iv else math.nan


def summary(result: SimulationResult) -> list[str]:
    """The conclusions in plain words, base variant: speed and revenue against each reference (with
    the interval of the revenue gain, and whether it includes 0), then who stays under quota."""
    base = result["cells"].get("base", {})
    main = main_policy(result)
    cell = base.get(main)
    out: list[str] = []
    if cell is None:
        return out
    for ref, comp in cell.get("vs", {}).items():
        pct, minutes = comp["pct"]["expected_revenue"], comp["diff"]["response_p50_min"]["mean"]
        faster = ("answers leads at the same speed" if not math.isfinite(minutes) or abs(minutes) < 0.5
                  else f"answers leads {_minutes_words(abs(minutes))} {'sooner' if minutes < 0 else 'later'} "
                  "(median first response)")
        revenue = comp["diff"]["expected_revenue"]
        gain = (f"{pct['mean']:+.1f}% expected revenue [{pct['low']:+.1f}; {pct['high']:+.1f}]"
                if revenue["n"] >= 2 else f"{pct['mean']:+.1f}% expected revenue (one seed: no interval)")
        # Decided on the difference in dollars, as the verdicts are; the % is that difference rescaled.
        proof = "" if revenue["n"] < 2 else PROOF[direction(revenue, "expected_revenue")]
        out.append(f"{_cap(policy_words(main))} {faster} and gives {gain} over {policy_words(ref)}{proof}.")
    table = result.get("per_rep", {}).get(main)
    if table:
        out.append(_quota_sentence(main, table))
    return out


def _minutes_words(minutes: float) -> str:
    return "1 minute" if round(minutes) == 1 else f"{minutes:.0f} minutes"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _quota_sentence(policy: str, table: RepTable) -> str:
    ratio = [iv["mean"] for iv in table["metrics"]["pipeline_vs_share"]]
    territory = [iv["mean"] for iv in table["metrics"]["territory_vs_share"]]
    behind = [j for j, r in enumerate(ratio) if r < BEHIND]
    if not behind:
        return (f"With {policy_words(policy)} every rep gets at least {BEHIND:.0%} of its quota share "
                "of pipeline.")
    short = [j for j in behind if territory[j] < BEHIND]
    n = len(behind)
    words = (f"{_count(n)} rep{'s' if n > 1 else ''} of {len(ratio)} stay{'' if n > 1 else 's'} under "
             f"{BEHIND:.0%} of {'their' if n > 1 else 'its'} quota share of pipeline with "
             f"{policy_words(policy)}")
    if len(short) == n:
        return words + (" because their territory has fewer leads than their quota asks." if n > 1
                        else " because its territory has fewer leads than its quota asks.")
    if short:
        return words + (f": {_count(len(short))} because the territory has fewer leads than the quota "
                        f"asks, {_count(n - len(short))} by the routing itself.")
    return words + " although the territory would allow it: the routing leaves them short."


def _count(n: int) -> str:
    return ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")[n - 1] if 1 <= n <= 9 \
        else f"{n:,}"


def warnings(result: SimulationResult) -> list[str]:
    """Leads left unassigned and SLA breaches above the thresholds, per variant, in words."""
    out = []
    for variant, by_policy in result["cells"].items():
        where = "" if variant == "base" else f" (variant {variant!r})"
        unassigned = {p: (_mean(c, "unassigned"), _mean(c, "leads")) for p, c in by_policy.items()}
        heavy = {p: u for p, (u, n) in unassigned.items() if n > 0 and u / n > UNASSIGNED_WARN}
        if heavy:
            out.append(f"Leads left unassigned{where}: " + _by_policy(
                {p: f"{u:,.0f} of {unassigned[p][1]:,.0f} ({u / unassigned[p][1]:.0%})"
                 for p, u in heavy.items()}, len(by_policy))
                + ". No eligible rep had room: add capacity or widen the territories.")
        breaches = {p: (_mean(c, "sla_breaches"), _mean(c, "assigned") if "assigned" in c["metrics"]
                        else _mean(c, "leads") - _mean(c, "unassigned")) for p, c in by_policy.items()}
        late = {p: b / a for p, (b, a) in breaches.items() if a > 0 and b / a > SLA_WARN}
        if late:
            out.append(f"SLA of {result['sla_minutes']:g} minutes breached{where} on " + _by_policy(
                {p: f"{share:.0%} of assigned leads" for p, share in late.items()}, len(by_policy)) + ".")
    return out


def _by_policy(texts: dict[str, str], policies: int) -> str:
    if len(texts) == policies and len(set(texts.values())) == 1:
        return f"{next(iter(texts.values()))} under every policy"
    return "; ".join(f"{t} under {policy_words(p)}" for p, t in texts.items())


def results_table(result: SimulationResult, variant: str) -> str:
    """Rows: metrics in words; columns: the policies (a few columns, so it fits the page)."""
    by_policy = result["cells"][variant]
    policies = list(by_policy)
    present = [m for m in RESULT_METRICS if any(m in c["metrics"] for c in by_policy.values())]
    rows = [(heading(m), *(interval_text(by_policy[p]["metrics"][m], m) if m in by_policy[p]["metrics"]
                           else "-" for p in policies)) for m in present]
    return html_table(("Metric (mean [95% interval])", *(policy_words(p) for p in policies)), rows)


def comparison_table(result: SimulationResult, variant: str) -> str:
    """Each optimizer against each reference, paired by seed: differences in words and units."""
    rows = [(f"{policy_words(policy)} vs {policy_words(ref)}",
             *(difference_text(comp["diff"][m], comp["pct"][m], m) for m in COMPARED))
            for policy, ref, comp in paired_comparisons(result, variant)]
    if not rows:
        return ""
    return html_table(("Pair", *(f"{label(m)}: change" for m in COMPARED)), rows)


def variant_section(result: SimulationResult) -> str:
    """What each variant (a team change) is worth against the base team, per policy, paired by seed:
    a sentence per headline metric, then a row per variant and policy ('' without variants)."""
    changes = variant_changes(result)
    if not changes:
        return ""
    rows = [(f"{variant} vs base, {policy_words(policy)}", *(change_text(diffs, m) for m in VARIANT_METRICS))
            for variant, policy, diffs in changes]
    sentences = variant_sentences(result, policy_name=policy_words)
    header = ("Variant vs base, policy", *(f"{label(m)}: change" for m in VARIANT_METRICS))
    return ("<ul id='variants'>" + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>"
            + html_table(header, rows))


REP_COLUMNS = ("leads", "pipeline", "pipeline_vs_share", "territory_vs_share", "attainment",
               "response_p50_min", "sla_breaches")


def rep_table(result: SimulationResult, policy: str) -> str:
    """One row per rep, the furthest behind its quota share first; the same ratio under each other
    policy beside it, and whether the rep is behind, on share or ahead."""
    table = result.get("per_rep", {}).get(policy)
    if not table:
        return "<p>This result has no per-rep figures (simulated by an older version).</p>"
    others = [p for p in result.get("per_rep", {}) if p != policy]
    metrics = table["metrics"]
    order = sorted(range(len(table["rep_ids"])), key=lambda j: metrics["pipeline_vs_share"][j]["mean"])
    header = ("Rep", "Territory", *(heading(m) for m in REP_COLUMNS),
              *(f"Pipeline vs fair share with {policy_words(p)} (%)" for p in others), "Standing")
    rows = []
    for j in order:
        ratio = metrics["pipeline_vs_share"][j]["mean"]
        standing = ("behind" if ratio < BEHIND else "ahead" if ratio > 1 / BEHIND else "on share")
        rows.append((table["rep_ids"][j], table["territories"][j] or "-",
                     *(number(clip(metrics[m][j], m)["mean"], m) for m in REP_COLUMNS),
                     *(number(result["per_rep"][p]["metrics"]["pipeline_vs_share"][j]["mean"],
                              "pipeline_vs_share") for p in others), standing))
    return html_table(header, rows, css_class="reps")


def charts(result: SimulationResult, start: datetime | None = None) -> str:
    """Expected revenue with intervals, first-response times, team load over time, value vs fairness;
    each with a caption saying what is drawn."""
    base = result["cells"].get("base", {})
    policies = list(base)
    revenue = [clip(base[p]["metrics"]["expected_revenue"], "expected_revenue") for p in policies]
    figures = [(svg.bars([policy_words(p) for p in policies], [iv["mean"] for iv in revenue],
                         [iv["low"] for iv in revenue], [iv["high"] for iv in revenue],
                         "Expected revenue per policy", "expected revenue ($)"),
                f"Bars: mean over {result['seeds']} seeds; whiskers: 95% interval (base variant).")]
    bins = result["response_bins_min"]
    counts = result["response_histogram"].get("base", {})
    if counts:
        names = [f"≤ {_minutes(b)}" for b in bins[1:]] + [f"> {_minutes(bins[-1])}"]
        cumulative = {policy_words(p): _cumulative_share(c) for p, c in counts.items()}
        figures.append((_response_table(names, cumulative), "All seeds, base variant."))
    origin = start or datetime(2000, 1, 1)
    for policy, series in result["load_over_time"].items():
        loads = series["open_leads"]
        if not loads:
            continue
        band = svg.Band([_quantile(row, 0.5) for row in loads], [min(row) for row in loads],
                        [max(row) for row in loads])
        figures.append((svg.time_lines(origin, timedelta(hours=series.get("hours_per_sample", 1)),
                                       {"median rep": band}, f"Open leads per rep — {policy_words(policy)}",
                                       "open leads per rep", low=0, x_label="simulated date (UTC)"),
                        "Line: the median rep; shaded band: from the least to the most loaded rep "
                        "(base variant, seed 0)."))
    points = result["fairness_sweep"]["points"]
    if points:
        sweep = [(f"weight {p['weight']:g}", p["jain"]["mean"], p["expected_revenue"]["mean"],
                  clip(p["expected_revenue"], "expected_revenue")["low"], p["expected_revenue"]["high"])
                 for p in points]
        figures.append((svg.scatter(sweep, "Revenue against fairness, one point per fairness weight",
                                    "lead-count fairness (Jain index, 1 = even)", "expected revenue ($)"),
                        f"{_cap(policy_words(result['fairness_sweep']['policy']))} at each fairness weight: "
                        "mean expected revenue (whiskers: 95% interval) against its lead-count fairness."))
    return "\n".join(f"<figure>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"
                     for body, caption in figures)


def _cumulative_share(counts: Sequence[int]) -> list[float]:
    total = sum(counts) or 1
    running, out = 0, []
    for c in counts:
        running += c
        out.append(running / total)
    return out


def _response_table(names: Sequence[str], series: dict[str, list[float]]) -> str:
    """Answered leads' cumulative share by first-response time, one column per policy."""
    rows = [(name, *(f"{100 * s[k]:.0f}%" for s in series.values())) for k, name in enumerate(names)]
    return ("<p><strong>Share of answered leads with a first response within a time</strong></p>"
            + html_table(("First response within", *series), rows))


def _quantile(row: Sequence[float], q: float) -> float:
    ordered = sorted(row)
    return float(ordered[min(int(q * len(ordered)), len(ordered) - 1)]) if ordered else math.nan


def _minutes(m: float) -> str:
    return f"{m / 1440:g} d" if m >= 1440 else f"{m / 60:g} h" if m >= 60 else f"{m:g} min"


def run_record(result: SimulationResult) -> str:
    """The run's record as a small table (not a JSON dump)."""
    rows = [("Scenario", result["scenario"]), ("Seeds", str(result["seeds"])),
            ("Policies", ", ".join(policy_words(p) for p in result["policies"])),
            ("Compared against", ", ".join(policy_words(p) for p in result["references"]) or "-"),
            ("Variants", ", ".join(result["variants"])), ("SLA", f"{result['sla_minutes']:g} minutes"),
            ("Fairness weights swept",
             ", ".join(f"{p['weight']:g}" for p in result["fairness_sweep"]["points"]) or "-")]
    return html_table(("Field", "Value"), rows, css_class="record")


def simulation_report(result: SimulationResult) -> str:
    """The whole HTML page."""
    start = datetime.fromisoformat(result["start"]) if result.get("start") else None
    main = main_policy(result)
    sentences = summary(result)
    sections = [("Summary", "<ul id='summary'>" + "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
                 + "</ul>" if sentences else "<p id='summary'>No policy to compare.</p>")]
    if result.get("description"):
        sections[0] = (sections[0][0], sections[0][1] + f"<p>{html.escape(result['description'])}</p>")
    alerts = warnings(result)
    if alerts:
        sections.append(("Warnings", "<ul class='warnings'>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in alerts) + "</ul>"))
    for variant in result["cells"]:
        title = "Results per policy" + ("" if variant == "base" else f" — variant {variant!r}")
        sections.append((title, f"<p>Mean over {result['seeds']} seeds, 95% interval in brackets.</p>"
                         + results_table(result, variant)))
    sections.append((f"Per rep — {policy_words(main)} (base variant, mean over seeds)",
                     rep_table(result, main)))
    compared = comparison_table(result, "base") if "base" in result["cells"] else ""
    if compared:
        sections.append(("Against the CRM's rules (paired by seed, same leads)", compared))
    changed = variant_section(result)
    if changed:
        sections.append(("What each variant changes against the base team (paired by seed, same leads)",
                         changed))
    sections.append(("Charts", charts(result, start)))
    used = list(dict.fromkeys([*RESULT_METRICS, *(VARIANT_METRICS if changed else ()), *REP_COLUMNS]))
    sections.append(("Glossary", html_table(("Term", "Meaning"), entries(used), css_class="glossary")))
    sections.append(("Run record", run_record(result)))
    return html_page(f"Simulation: {result['scenario']}", sections)
