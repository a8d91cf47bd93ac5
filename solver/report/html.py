"""Tables, plots and a self-contained HTML report.

Reusable pieces (the benchmark report uses them too):

- `plot_intervals`, `plot_histograms`, `plot_lines`, `plot_tradeoff`: one
  matplotlib figure each, returned as a PNG data URI;
- `html_table`, `html_page`: a page with inline CSS and the PNGs embedded as
  base64 data URIs, so it opens in a browser with no network access.

`simulation_table` turns `simulate_scenario`'s JSON into the terminal table
(the HTML report is `solver.report.simulation`); every number comes from that
JSON, every metric is named in the glossary's words (`solver.report.glossary`).
matplotlib is the optional `report` extra, imported only to plot.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from solver.report.glossary import difference_text, heading, interval_text, label
from solver.report.results import Comparison, Interval, SimulationResult
from solver.report.studies import direction, verdict
from solver.report.tables import format_rows

# The terminal table's metrics (the HTML report shows more).
TABLE_METRICS = ("expected_revenue", "realized_revenue", "response_p90_min", "sla_breaches", "unassigned",
                 "quota_attainment", "jain")
VS_METRICS = ("expected_revenue", "realized_revenue", "response_p90_min", "sla_breaches",
              "pipeline_jain")
# What a variant (a team change) does against the base variant, same policy: leads placed, then the
# paired table's metrics; the first two are also said in a sentence per variant and policy.
VARIANT_METRICS = ("expected_revenue", "unassigned", "assigned", *VS_METRICS[1:])
VARIANT_SENTENCES = VARIANT_METRICS[:2]


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
    for x, y, text in zip(xs, ys, labels, strict=True):
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return figure_uri(fig)


# A cell that reads as a number (or '-', none): right-aligned; words are left-aligned.
NUMBER_CELL = re.compile(r"^[-+≤>]?\s?\$?-?[\d.,]|^-$")


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], css_class: str = "") -> str:
    """A table of escaped text; the first column is the row's heading (`<th scope=row>`). It scrolls
    sideways on its own when wider than the window, so the page keeps its width."""
    head = "".join(f"<th scope='col'>{html.escape(str(h))}</th>" for h in header)

    def cell(text: str) -> str:
        words = "" if NUMBER_CELL.match(text) else " class='t'"
        return f"<td{words}>{html.escape(text)}</td>"

    body = "".join("<tr>" + "".join(f"<th scope='row'>{html.escape(str(c))}</th>" if k == 0
                                    else cell(str(c)) for k, c in enumerate(row))
                   + "</tr>" for row in rows)
    attr = f" class='{html.escape(css_class)}'" if css_class else ""
    whole = f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='scroll'>{whole}</div>"


# Tables fit the page: cells wrap, numbers stay on one line; text is dark on light (>= 7:1).
PAGE_CSS = ("body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;"
            "color:#111;background:#fff;line-height:1.45}"
            "table{border-collapse:collapse;font-size:13px;margin:.8em 0;max-width:100%}"
            "td,th{border:1px solid #bbb;padding:3px 7px;text-align:right;vertical-align:top}"
            "thead th{background:#eef1f5;text-align:center}tbody th{text-align:left;font-weight:normal}"
            "td{white-space:nowrap}td.t{text-align:left}"
            "table.glossary td,table.record td{white-space:normal;text-align:left}.scroll{overflow-x:auto}"
            ".warnings li{color:#8a1c00;font-weight:bold}#summary li{font-size:1.05em;margin:.3em 0}"
            "figure{margin:1em 0}")


def html_page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """A whole page: inline CSS, each section a heading and trusted HTML (tables, inline SVG)."""
    body = "".join(f"<section><h2>{html.escape(h)}</h2>\n{content}\n</section>" for h, content in sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1>\n{body}</main></body></html>\n")


def img(uri: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='{uri}'>"


NO_PAIRS: Interval = {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}


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


def paired_comparisons(result: SimulationResult, variant: str) -> list[tuple[str, str, Comparison]]:
    """(policy, reference, its paired comparison) of each policy against each reference in
    `variant`; two references are compared once, not both ways round."""
    refs = result["references"]
    return [(policy, ref, comp) for policy, cell in result["cells"][variant].items()
            for ref, comp in cell.get("vs", {}).items()
            if not (policy in refs and ref in refs and refs.index(policy) > refs.index(ref))]


def variant_changes(result: SimulationResult) -> list[tuple[str, str, dict[str, Interval]]]:
    """(variant, policy, its paired differences against the same policy in the base variant) of
    every variant but the base: what the variant's change (e.g. two more reps) is worth."""
    return [(variant, policy, cell["vs_base_variant"]) for variant, by_policy in result["cells"].items()
            for policy, cell in by_policy.items() if "vs_base_variant" in cell]


def change_words(change: Interval, metric: str, why: bool = False) -> str:
    """A paired change in words: 'better' or 'worse' when its 95% interval lies on one side of 0
    (`direction`), 'no measurable change' when it includes 0, '' with fewer than two seeds; `why`
    adds where the interval lies: 'better (the 95% interval is below 0)'."""
    if change["n"] < 2:
        return ""
    side = direction(change, metric)
    if not why:
        return side or "no measurable change"
    where = "includes 0" if not side else "is above 0" if change["low"] > 0 else "is below 0"
    return f"{side or 'no measurable change'} (the 95% interval {where})"


def change_text(changes: dict[str, Interval], metric: str, why: bool = False) -> str:
    """'-72.0 [-123.0; -21.0] better': the paired difference in the metric's unit and its verdict."""
    if metric not in changes:
        return "-"
    words = change_words(changes[metric], metric, why)
    text = difference_text(changes[metric], NO_PAIRS, metric)
    return f"{text}{', ' if why else ' '}{words}" if words else text


def variant_sentences(result: SimulationResult, variant: str | None = None,
                      policy_name: Callable[[str], str] = str) -> list[str]:
    """One sentence per variant (or only `variant`), policy and headline metric: '+2 EMEA reps vs
    base, flow: Unassigned leads -72.0 [-123.0; -21.0], better (the 95% interval is below 0).'"""
    return [f"{name} vs base, {policy_name(policy)}: {label(m)} {change_text(changes, m, why=True)}."
            for name, policy, changes in variant_changes(result) if variant in (None, name)
            for m in VARIANT_SENTENCES if m in changes]


def simulation_table(result: SimulationResult) -> str:
    """The terminal table, variant by variant: metrics in the glossary's words (rows) by policy
    (columns), mean [95% interval] clipped to what each metric can be; then each policy's paired
    difference against the baseline and each reference; for a variant but the base, what it changes
    against the base variant per policy, with a verdict; then the verdicts."""
    out = [f"scenario {result['scenario']}: {result['seeds']} seeds, mean [95% interval]"]
    for variant, by_policy in result["cells"].items():
        policies = list(by_policy)
        rows = [(heading(m), *(interval_text(by_policy[p]["metrics"][m], m) if m in by_policy[p]["metrics"]
                               else "-" for p in policies))
                for m in TABLE_METRICS if any(m in c["metrics"] for c in by_policy.values())]
        out += ["", f"variant {variant}", "", format_rows(("metric", *policies), rows)]
        pairs = [(f"{p} - {ref}", comp["diff"], comp["pct"])
                 for p, ref, comp in paired_comparisons(result, variant)]
        if result["baseline"] not in result["references"]:
            pairs += [(f"{p} - {result['baseline']}", entry["vs_baseline"], {m: NO_PAIRS for m in VS_METRICS})
                      for p, entry in by_policy.items() if "vs_baseline" in entry]
        if pairs:
            rows = [(heading(m), *(difference_text(diff[m], pct[m], m) if m in diff else "-"
                                   for _, diff, pct in pairs)) for m in VS_METRICS]
            in_pct = any(pct.get("expected_revenue", NO_PAIRS)["n"] for _, _, pct in pairs)
            out += ["", "paired difference (same arrivals), mean [95% interval]"
                    + ("; expected revenue in % too" if in_pct else ""),
                    "", format_rows(("metric", *(name for name, _, _ in pairs)), rows)]
        changes = [(policy, diffs) for name, policy, diffs in variant_changes(result) if name == variant]
        if changes:
            rows = [(heading(m), *(change_text(diffs, m) for _, diffs in changes)) for m in VARIANT_METRICS]
            out += ["", f"{variant} vs base: what the variant changes, per policy (same arrivals, paired "
                    "by seed), mean [95% interval]", "",
                    format_rows(("metric", *(policy for policy, _ in changes)), rows), "",
                    *variant_sentences(result, variant)]
    verdicts = simulation_verdicts(result)
    if verdicts:
        out += ["", *verdicts]
    return "\n".join(out) + "\n"
