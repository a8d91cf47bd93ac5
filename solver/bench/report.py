"""Benchmark outputs: JSON, CSV, a markdown summary and a self-contained HTML report with plots.

Input is what `solver.bench.harness` produces: a run record (version, machine,
date, command, settings), the per-run rows, the reference rows and the
aggregates. Plots need matplotlib (the `bench` extra); without it the HTML
report says so and keeps its tables.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from solver.domain.io import csv_text, write_atomic
from solver.report.html import figure_uri, html_page, html_table, img, pyplot

# Columns of the per-policy headline table: (key, heading, format).
POLICY_COLUMNS = (
    ("policy", "policy", "{}"),
    ("runs", "runs", "{}"),
    ("violations", "violations", "{}"),
    ("placed_ratio", "placed / ref", "{:.4f}"),
    ("value_ratio", "value / ref", "{:.4f}"),
    ("value_ratio_lo", "min", "{:.4f}"),
    ("value_ratio_hi", "max", "{:.4f}"),
    ("jain", "Jain", "{:.3f}"),
    ("gini", "Gini", "{:.3f}"),
    ("max_deviation", "max dev", "{:.3f}"),
    ("time_p50_s", "p50 ms", "{:.2f}"),
    ("time_p99_s", "p99 ms", "{:.2f}"),
)
INSTANCE_COLUMNS = (
    ("instance", "instance", "{}"),
    ("policy", "policy", "{}"),
    ("seeds", "seeds", "{}"),
    ("violations", "viol.", "{}"),
    ("placed", "placed", "{:.0f}"),
    ("value_ratio", "value / ref", "{:.4f}"),
    ("value_ratio_lo", "min", "{:.4f}"),
    ("value_ratio_hi", "max", "{:.4f}"),
    ("ref_method", "ref", "{}"),
    ("jain", "Jain", "{:.3f}"),
    ("time_p50_s", "p50 ms", "{:.2f}"),
    ("time_p99_s", "p99 ms", "{:.2f}"),
    ("throughput_leads_per_s", "leads/s", "{:,.0f}"),
    ("time_vs_hungarian", "t / Hungarian", "{:.3f}"),
)
# Rows carry their raw timing samples; CSV cells hold them `;`-separated.
_LIST_SEP = ";"


def cells(row: dict[str, Any], columns: Sequence[tuple[str, str, str]]) -> tuple[str, ...]:
    """One table row as text; times in milliseconds, missing values as '-'."""
    out = []
    for key, _, fmt in columns:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append("-")
            continue
        if key.startswith("time_p"):
            value = value * 1000
        out.append(fmt.format(value))
    return tuple(out)


def headings(columns: Sequence[tuple[str, str, str]]) -> tuple[str, ...]:
    return tuple(heading for _, heading, _ in columns)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str) + "\n"


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The per-run rows, one line each; list values (time samples) joined with ';'."""
    if not rows:
        return ""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    return csv_text(fields, ([_cell(row.get(k, "")) for k in fields] for row in rows))


def _cell(value: Any) -> Any:
    return _LIST_SEP.join(map(str, value)) if isinstance(value, list) else value


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    lines = ["| " + " | ".join(headings(columns)) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells(row, columns)) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The summary a reader opens first: provenance, the headline table, then per instance."""
    rec = report["record"]
    machine = rec["machine"]
    parts = [
        f"# Benchmark: {rec['suite']}",
        "",
        f"- command: `{rec['command']}`",
        f"- date (UTC): {rec['date_utc']}; version {rec['version']} (commit {rec['git_commit']})",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}; "
        f"Python {machine['python']}, numpy {machine['numpy']}, OR-Tools {machine['ortools']}",
        f"- note: {machine['note']}",
        f"- settings: {json.dumps(rec['settings'], default=str)}",
        "",
        "Quality is the profit of the assignment over the reference (`ref`): the LP optimum "
        "(scipy HiGHS) where it was solved, otherwise a proven optimum or bound. "
        "Medians over all runs, with min and max. Violations come from the independent checker "
        "(`solver/bench/checks.py`) and must be 0.",
        "",
        "## By policy",
        "",
        markdown_table(report["by_policy"], POLICY_COLUMNS),
    ]
    for title, key in (("Notes", "notes"), ("Extra", "extra_markdown")):
        if report.get(key):
            parts += ["", f"## {title}", "", report[key]]
    parts += ["", "## By instance (median and min..max over seeds)", "",
              markdown_table(report["by_instance"], INSTANCE_COLUMNS), ""]
    return "\n".join(parts)


def html_report(report: dict[str, Any]) -> str:
    """One self-contained HTML file: the markdown's content as tables plus inline PNG plots."""
    rec = report["record"]
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(report))
    sections = [("Summary", f"<ul id='summary'>{summary}</ul>"),
                ("By policy", _html_table(report["by_policy"], POLICY_COLUMNS + WORST_COLUMNS)
                 + "<p>Medians over every instance and seed hide a policy that is unfair on some: the "
                   "last two columns are the worst run's Jain index and largest share gap (Jain 1 = each "
                   "rep's share of leads matches its quota share; max dev = the largest gap between a "
                   "rep's share of leads and its quota share).</p>")]
    if report.get("notes"):
        sections.append(("Notes", f"<pre>{html.escape(report['notes'])}</pre>"))
    if report.get("extra_markdown"):
        sections.append(("Extra", f"<pre>{html.escape(report['extra_markdown'])}</pre>"))
    try:
        plots = "".join(f"<figure>{img(uri, title)}<figcaption>{html.escape(title)}</figcaption></figure>"
                        for title, uri in _figures(report))
    except RuntimeError as exc:  # no matplotlib: the tables still stand
        plots = f"<p>{html.escape(str(exc))}</p>"
    sections += [("Plots", plots), ("By instance", _html_table(report["by_instance"], INSTANCE_COLUMNS)),
                 ("Glossary", html_table(("Column", "Meaning"), GLOSSARY, css_class="glossary")),
                 ("Run", run_table(rec))]
    return html_page(f"Benchmark: {rec['suite']}", sections)


# The headings of the tables above, in words.
GLOSSARY = (
    ("placed / ref", "Leads placed over the reference's (1 = as many as the best assignment)."),
    ("value / ref", "Profit of the assignment over the reference: the LP optimum where it was solved, "
                    "else a proven optimum or bound (1 = optimal). min and max: over every run."),
    ("Jain", "Fairness of the leads per rep against quota shares: 1 = every rep got its share."),
    ("Gini", "Inequality of the leads per unit of quota share: 0 = even."),
    ("max dev", "The largest gap between a rep's share of leads and its quota share."),
    ("violations", "Hard rules broken, found by the independent checker (must be 0)."),
    ("p50 ms, p99 ms", "Solve time, median and 99th percentile over every repeat and seed."),
    ("leads/s", "Leads assigned per second of solve time."),
    ("t / Hungarian", "Solve time over the Hungarian method's on the same instance."),
)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The headline in words, per policy: how close to the reference, how fair at worst, how fast,
    and whether any rule was broken."""
    lines = []
    for row in report["by_policy"]:
        value, worst = row.get("value_ratio"), row.get("value_ratio_lo")
        quality = ("no value ratio" if value is None else
                   f"{100 * value:.2f}% of the reference value at the median (worst run {100 * worst:.2f}%)")
        fair = ("" if row.get("jain_lo") is None
                else f", fairness (Jain) {row['jain_lo']:.3f} on its least fair run")
        rules = ("no hard rule broken" if not row["violations"]
                 else f"{row['violations']} hard-rule violations (a bug: the checker found them)")
        lines.append(f"{row['policy']}: {quality}{fair}; solves in {1000 * row['time_p50_s']:.1f} ms at the "
                     f"median ({1000 * row['time_p99_s']:.1f} ms p99); {rules}.")
    return lines


# Medians over every instance and seed hide a policy that is unfair on some: the worst run beside them.
WORST_COLUMNS = (("jain_lo", "Jain, worst run", "{:.3f}"),
                 ("max_deviation_hi", "max dev, worst run", "{:.3f}"))


def run_table(rec: dict[str, Any]) -> str:
    """The run's record as a two-column table (not a JSON dump)."""
    machine = rec.get("machine", {})
    rows = [("Suite", rec.get("suite", "-")), ("Command", rec.get("command", "-")),
            ("Date (UTC)", rec.get("date_utc", "-")),
            ("Version", f"{rec.get('version', '-')} (commit {rec.get('git_commit', '-')})"),
            ("Machine", f"{machine.get('cpu', '-')}, {machine.get('cores', '-')} cores, "
                        f"{machine.get('platform', '-')}"),
            ("Software", f"Python {machine.get('python', '-')}, numpy {machine.get('numpy', '-')}, "
                         f"OR-Tools {machine.get('ortools', '-')}")]
    if machine.get("note"):
        rows.append(("Note", machine["note"]))
    rows += [(f"Setting: {key}", json.dumps(value, default=str) if isinstance(value, (dict, list))
              else str(value)) for key, value in rec.get("settings", {}).items()]
    return html_table(("Field", "Value"), rows, css_class="record")


def _html_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    return html_table(headings(columns), [cells(r, columns) for r in rows])


def _figures(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI) per plot; RuntimeError without matplotlib."""
    plt = pyplot()
    rows = report["rows"]
    policies = sorted({r["policy"] for r in rows})
    out = []

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot([[r["value_ratio"] for r in rows if r["policy"] == p] for p in policies])
    ax.set_xticks(range(1, len(policies) + 1), policies, rotation=30)
    ax.set_ylabel("profit / reference")
    ax.set_title("Value ratio per policy (all instances and seeds)")
    out.append(("Value ratio per policy", figure_uri(fig)))

    fig, ax = plt.subplots(figsize=(8, 4))
    for p in policies:
        pts = sorted((r["n_leads"] * r["n_reps"], r["time_p50_s"]) for r in report["by_instance"]
                     if r["policy"] == p and r["time_p50_s"] > 0)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=p)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("leads x reps")
    ax.set_ylabel("median solve time (s)")
    ax.set_title("Solve time versus size")
    ax.legend(fontsize="small")
    out.append(("Time versus size (log axes)", figure_uri(fig)))

    fig, ax = plt.subplots(figsize=(6, 5))
    for p in policies:
        pts = [(r["value_ratio"], r["jain"]) for r in report["by_instance"]
               if r["policy"] == p and r["value_ratio"] is not None]
        if pts:
            ax.scatter(*zip(*pts, strict=True), label=p, s=18)
    ax.set_xlabel("profit / reference (median over seeds)")
    ax.set_ylabel("Jain index (1 = fair)")
    ax.set_title("Fairness versus value, per instance")
    ax.legend(fontsize="small")
    out.append(("Fairness versus value", figure_uri(fig)))
    return out


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """results.json, results.csv, summary.md and report.html in `out_dir`, each written atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "results.json": to_json(report),
        "results.csv": to_csv(report["rows"]),
        "summary.md": markdown(report),
        "report.html": html_report(report),
    }
    for name, text in files.items():
        write_atomic(str(out / name), text)
    return [out / name for name in files]
