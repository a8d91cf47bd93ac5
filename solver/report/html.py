"""Tables, plots and a self-contained HTML report.

Reusable pieces (the benchmark report uses them too):

- `plot_intervals`, `plot_histograms`, `plot_lines`, `plot_tradeoff`: one
  matplotlib figure each, returned as a PNG data URI;
- `html_table`, `html_page`: a page with inline CSS and the PNGs embedded as
  base64 data URIs, so it opens in a browser with no network access.

`simulation_report` and `simulation_table` turn `simulate_scenario`'s JSON into
the HTML report and the terminal table; every number they show comes from
that JSON. matplotlib is the optional `report` extra, imported only to plot.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from solver.report.results import Interval, SimulationResult
from solver.report.studies import verdict
from solver.report.tables import format_rows

KEY_METRICS = ("expected_revenue", "realized_revenue", "conversion_rate", "response_p50_min",
               "response_p90_min", "sla_breaches", "unassigned", "utilization", "quota_attainment",
               "jain", "gini", "max_deviation", "pipeline_jain", "pipeline_min_max",
               "structural_jain", "structural_min_max", "router_pipeline_imbalance",
               "decided_by_router", "forced_by_owner")
# Shown as "this - reference" and "% of reference" against each reference policy.
VS_METRICS = ("expected_revenue", "realized_revenue", "response_p90_min", "sla_breaches",
              "pipeline_jain")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend; RuntimeError naming the extra when it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plots need the report extra: pip install 'leadsolver[report]'") from None
    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    return plt


def figure_uri(fig: Any) -> str:
    """A finished figure as a PNG data URI (the figure is closed)."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def plot_intervals(labels: Sequence[str], intervals: Sequence[Interval], title: str,
                   ylabel: str) -> str:
    """Bars of means with 95% interval whiskers, one per label."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(labels) + 2), 3.2))
    means = [iv["mean"] for iv in intervals]
    errors = [[iv["mean"] - iv["low"] for iv in intervals], [iv["high"] - iv["mean"] for iv in intervals]]
    ax.bar(range(len(labels)), means, yerr=errors, capsize=4, color="#4C72B0")
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return figure_uri(fig)


def plot_histograms(bin_labels: Sequence[str], series: Mapping[str, Sequence[float]], title: str,
                    ylabel: str) -> str:
    """Grouped bars: one group per bin, one bar per series (e.g. share of leads per policy)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.bar([b + k * width for b in range(len(bin_labels))], values, width, label=name)
    ax.set_xticks([b + 0.4 - width / 2 for b in range(len(bin_labels))], bin_labels, rotation=30)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return figure_uri(fig)


def plot_lines(x: Sequence[float], lines: Mapping[str, Sequence[float]], title: str, xlabel: str,
               ylabel: str, legend: bool = True) -> str:
    """One line per series over a shared x axis."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for name, values in lines.items():
        ax.plot(x, values, linewidth=0.8, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend and len(lines) <= 12:
        ax.legend(fontsize=7, ncol=2)
    return figure_uri(fig)


def plot_tradeoff(xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], title: str,
                  xlabel: str, ylabel: str) -> str:
    """A curve of points, each annotated (e.g. expected value against Jain per fairness weight)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(xs, ys, "o-", color="#DD8452")
    for x, y, label in zip(xs, ys, labels, strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure_uri(fig)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """A whole page: inline CSS, each section a heading and trusted HTML (tables, <img> URIs)."""
    css = ("body{font-family:sans-serif;margin:2em;max-width:1100px}"
           "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
           "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
           "th{background:#f0f0f0}td:first-child,td:nth-child(2){text-align:left}")
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{css}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")


def img(uri: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='{uri}'>"


def fmt_interval(iv: Interval, digits: int = 2) -> str:
    """'12.34 [10.00, 14.68]': the mean and its 95% interval."""
    return f"{iv['mean']:,.{digits}f} [{iv['low']:,.{digits}f}, {iv['high']:,.{digits}f}]"


def _digits(metric: str) -> int:
    return 3 if metric in ("conversion_rate", "utilization", "quota_attainment", "jain", "gini",
                           "max_deviation", "pipeline_jain", "pipeline_min_max", "structural_jain",
                           "structural_min_max", "router_pipeline_imbalance") else 1


# The parts of a cell summary a table shows: the intervals, or the paired differences.
Section = Literal["metrics", "vs_baseline", "vs_base_variant"]


def _rows(result: SimulationResult, section: Section, metrics: Sequence[str]) -> list[tuple[str, ...]]:
    rows = []
    for variant, by_policy in result["cells"].items():
        for policy, entry in by_policy.items():
            if section in entry:
                rows.append((variant, policy, *(fmt_interval(entry[section][m], _digits(m))
                                                 for m in metrics)))
    return rows


def _vs_rows(result: SimulationResult, metrics: Sequence[str]) -> list[tuple[str, ...]]:
    """Per variant x policy x reference: paired difference and % of each metric."""
    rows = []
    for variant, by_policy in result["cells"].items():
        for policy, entry in by_policy.items():
            for ref, comp in entry.get("vs", {}).items():
                rows.append((variant, policy, ref, *(
                    f"{fmt_interval(comp['diff'][m], _digits(m))} "
                    f"({comp['pct'][m]['mean']:+.2f}% [{comp['pct'][m]['low']:+.2f}%, "
                    f"{comp['pct'][m]['high']:+.2f}%])" for m in metrics)))
    return rows


def simulation_verdicts(result: SimulationResult, metric: str = "expected_revenue") -> list[str]:
    """One plain sentence per optimizer and reference: a win only when the 95% interval is above 0."""
    out = []
    for variant, by_policy in result["cells"].items():
        for policy, entry in by_policy.items():
            if policy in result["references"]:
                continue
            for ref, comp in entry.get("vs", {}).items():
                where = "" if len(result["cells"]) == 1 else f"[{variant}] "
                out.append(where + verdict(policy, ref, comp, metric))
    return out


def simulation_table(result: SimulationResult) -> str:
    """The terminal table: key metrics per variant x policy, then paired differences."""
    short = ("expected_revenue", "realized_revenue", "response_p90_min", "sla_breaches", "unassigned",
             "quota_attainment", "jain")
    out = [f"scenario {result['scenario']}: {result['seeds']} seeds, mean [95% CI]", "",
           format_rows(("variant", "policy", *short), _rows(result, "metrics", short))]
    diffs = _rows(result, "vs_baseline", short)
    if diffs:
        out += ["", f"paired difference vs {result['baseline']} (same arrivals), mean [95% CI]", "",
                format_rows(("variant", "policy", *short), diffs)]
    vs = _vs_rows(result, VS_METRICS)
    if vs:
        out += ["", "paired difference vs each reference (same arrivals), mean [95% CI] (% [95% CI])",
                "", format_rows(("variant", "policy", "vs", *VS_METRICS), vs)]
    verdicts = simulation_verdicts(result)
    if verdicts:
        out += ["", *verdicts]
    return "\n".join(out) + "\n"


def simulation_report(result: SimulationResult) -> str:
    """The HTML report of a simulation result (numbers and plots from the result JSON only)."""
    sections = []
    if result.get("description"):
        sections.append(("Scenario", f"<p>{html.escape(result['description'])}</p>"))
    sections.append(("Metrics per variant and policy (mean [95% CI] over "
                     f"{result['seeds']} seeds)",
                     html_table(("variant", "policy", *KEY_METRICS),
                                _rows(result, "metrics", KEY_METRICS))))
    diffs = _rows(result, "vs_baseline", KEY_METRICS)
    if diffs:
        sections.append((f"Paired difference against {result['baseline']} (same arrivals, per seed)",
                         html_table(("variant", "policy", *KEY_METRICS), diffs)))
    vs = _vs_rows(result, VS_METRICS)
    if vs:
        verdicts = "".join(f"<li>{html.escape(v)}</li>" for v in simulation_verdicts(result))
        sections.append(("Each optimizer against round robin and least loaded (paired by seed; "
                         "baselines assign on arrival)",
                         f"<ul>{verdicts}</ul>" + html_table(("variant", "policy", "vs", *VS_METRICS), vs)))
    variant_diffs = _rows(result, "vs_base_variant", KEY_METRICS)
    if variant_diffs:
        sections.append(("Paired difference against the base variant (same policy)",
                         html_table(("variant", "policy", *KEY_METRICS), variant_diffs)))
    sections.append(("Plots", _plots(result)))
    return html_page(f"Scenario {result['scenario']}", sections)


def _plots(result: SimulationResult) -> str:
    labels: list[str] = []
    revenue: list[Interval] = []
    attainment: list[Interval] = []
    for variant, by_policy in result["cells"].items():
        for policy, entry in by_policy.items():
            labels.append(policy if len(result["cells"]) == 1 else f"{variant}: {policy}")
            revenue.append(entry["metrics"]["expected_revenue"])
            attainment.append(entry["metrics"]["quota_attainment"])
    parts = [
        img(plot_intervals(labels, revenue, "Expected revenue (95% CI)", "revenue"), "expected revenue"),
        img(plot_intervals(labels, attainment, "Reps at or above quota (95% CI)", "share of reps"),
            "quota attainment"),
    ]
    bins = result["response_bins_min"]
    bin_labels = [f"{_minutes(a)}-{_minutes(b)}" for a, b in itertools.pairwise(bins)]
    bin_labels.append(f">{_minutes(bins[-1])}")
    base = result["response_histogram"].get("base", {})
    shares = {p: [c / max(sum(counts), 1) for c in counts] for p, counts in base.items()}
    parts.append(img(plot_histograms(bin_labels, shares, "First-response time (base variant)",
                                     "share of answered leads"), "response times"))
    for policy, series in result["load_over_time"].items():
        loads = series["open_leads"]
        lines = {rep: [row[j] for row in loads] for j, rep in enumerate(series["rep_ids"])}
        step = series.get("hours_per_sample", 1)
        parts.append(img(plot_lines([k * step for k in range(len(loads))], lines,
                                    f"Open leads per rep over time ({policy}, base variant, seed 0)",
                                    "hour", "open leads"), f"load over time {policy}"))
    points = result["fairness_sweep"]["points"]
    if points:
        parts.append(img(plot_tradeoff([p["jain"]["mean"] for p in points],
                                       [p["expected_value"]["mean"] for p in points],
                                       [f"w={p['weight']:g}" for p in points],
                                       f"Value vs fairness ({result['fairness_sweep']['policy']}, "
                                       "one point per fairness weight)",
                                       "Jain index (lead counts vs share)", "expected value"),
                         "value versus fairness"))
    return "\n".join(parts)


def _minutes(m: float) -> str:
    return f"{m / 1440:g}d" if m >= 1440 else f"{m / 60:g}h" if m >= 60 else f"{m:g}m"
