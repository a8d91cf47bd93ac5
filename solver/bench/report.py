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
    sections = [("Run", run_table(rec)),
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
    sections += [("Plots", plots), ("By instance", _html_table(report["by_instance"], INSTANCE_COLUMNS))]
    return html_page(f"Benchmark: {rec['suite']}", sections)


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
