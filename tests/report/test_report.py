"""The simulation report a manager reads: summary first, per-rep table, words not names, values in range.

The HTML is parsed (html.parser), not searched for strings: the tests read the
summary's sentences, the per-rep table's rows and every number shown as a
share or a ratio, as a reader of the page would.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from solver.report.glossary import GLOSSARY, clip, difference_text, interval_text
from solver.report.html import NO_PAIRS, change_text, change_words, simulation_table
from solver.report.results import Interval
from solver.report.simulation import main_policy, simulation_report, summary, warnings
from solver.sim.scenario import load_scenario
from solver.sim.simulate import simulate_scenario
from tests.sim.test_simulate import TINY

ROOT = Path(__file__).resolve().parents[2]


class Page(HTMLParser):
    """Sections (h2 -> their tables as rows of cell texts), the items of each list with an id (the
    summary's, the variants'), and raw text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.lists: dict[str, list[str]] = {}
        self.summary = self.lists.setdefault("summary", [])
        self.external: list[str] = []
        self._in: list[str] = []
        self._text = ""
        self._row: list[str] | None = None
        self._list: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        named = dict(attrs)
        for key in ("src", "href"):
            if (named.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(named[key] or "")
        if tag == "ul" and named.get("id"):
            self._list = named["id"]
        if tag in ("h2", "li", "td", "th"):
            self._text = ""
        if tag == "table":
            self.tables.setdefault(self.headings[-1] if self.headings else "", []).append([])
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()
        if tag == "h2":
            self.headings.append(self._text.strip())
        elif tag == "li" and self._list:
            self.lists.setdefault(self._list, []).append(self._text.strip())
        elif tag == "ul":
            self._list = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(self._text.strip())
        elif tag == "tr" and self._row is not None:
            self.tables[self.headings[-1] if self.headings else ""][-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self._text += data

    def table(self, starts: str) -> list[list[str]]:
        """The first table under the section whose heading starts with `starts` (header row first)."""
        for heading, tables in self.tables.items():
            if heading.startswith(starts):
                return tables[0]
        raise AssertionError(f"no section {starts!r} in {list(self.tables)}")


def out_of_range(page: Page) -> list[str]:
    """Every shown value of a bounded metric (a share, a ratio, an index) outside what it can be."""
    bad = []
    words = {m.label: m for m in GLOSSARY.values()}
    for tables in page.tables.values():
        for table in tables:
            header, *rows = table
            for row in rows:
                # A results table: metric words in the first column, one column per policy.
                metric = next((m for label, m in words.items() if row[0].startswith(label + " (")
                               or row[0] == label), None)
                cells = row[1:] if metric else []
                for k, cell in enumerate(cells):
                    for value in _numbers(cell, metric.share if metric else False):
                        if metric and not metric.low - 1e-9 <= value <= metric.high + 1e-9:
                            bad.append(f"{row[0]} / {header[k + 1]}: {cell}")
                # A per-rep table: bounded metrics by column heading.
                for k, name in enumerate(header):
                    col = next((m for label, m in words.items() if name.startswith(label + " (")), None)
                    if col is None or k >= len(row) or metric is not None:
                        continue
                    for value in _numbers(row[k], col.share):
                        if not col.low - 1e-9 <= value <= col.high + 1e-9:
                            bad.append(f"{row[0]} / {name}: {row[k]}")
    return bad


def _numbers(cell: str, share: bool) -> list[float]:
    """The numbers of a cell ('87% [80%; 95%]' -> 0.87, 0.80, 0.95 for a share)."""
    values = [float(v.replace(",", "")) for v in re.findall(r"-?\d[\d,]*\.?\d*", cell.replace("$", ""))]
    return [v / 100 for v in values] if share else values


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("rep") / "tiny.yaml"
    path.write_text(TINY)
    return simulate_scenario(load_scenario(path), seeds=2, workers=1, progress=False)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """scenarios/crm_replay.yaml at 2 seeds over its first 3 weeks, base variant, two fairness weights
    (the whole scenario takes minutes; the report's logic is the same)."""
    scenario = load_scenario(ROOT / "scenarios" / "crm_replay.yaml")
    scenario = scenario.model_copy(update={"variants": {}, "fairness_sweep": [0, 1], "horizon_days": 21})
    return simulate_scenario(scenario, seeds=2, workers=1, progress=False)


def test_crm_report_opens_with_a_plain_summary(crm: dict) -> None:
    page = Page(simulation_report(crm))
    assert page.headings[0] == "Summary"
    assert page.summary == summary(crm)
    flow = crm["cells"]["base"]["flow"]["vs"]
    for ref, words in (("round_robin", "round robin"), ("least_loaded", "least loaded")):
        pct = flow[ref]["pct"]["expected_revenue"]
        sentence = next(s for s in page.summary if f"over {words}" in s)
        assert f"{pct['mean']:+.1f}% expected revenue [{pct['low']:+.1f}; {pct['high']:+.1f}]" in sentence
        minutes = flow[ref]["diff"]["response_p50_min"]["mean"]
        assert ("sooner" in sentence) == (minutes <= -0.5) and ("later" in sentence) == (minutes >= 0.5)
    # Who stays under quota, in words, counted from the per-rep figures.
    ratios = [iv["mean"] for iv in crm["per_rep"]["flow"]["metrics"]["pipeline_vs_share"]]
    behind = sum(r < 0.9 for r in ratios)
    assert any("quota share of pipeline" in s for s in page.summary)
    if behind:
        assert any(f"of {len(ratios)} stay" in s for s in page.summary)


def test_crm_report_has_a_per_rep_table(crm: dict) -> None:
    page = Page(simulation_report(crm))
    header, *rows = page.table("Per rep")
    team = crm["per_rep"]["flow"]
    assert sorted(r[0] for r in rows) == sorted(team["rep_ids"])
    assert "Pipeline vs fair share (%)" in header and "Standing" in header
    ratio = header.index("Pipeline vs fair share (%)")
    shown = [float(r[ratio].rstrip("%")) for r in rows]
    assert shown == sorted(shown)  # furthest behind first
    j = team["rep_ids"].index(rows[0][0])
    assert shown[0] == pytest.approx(100 * team["metrics"]["pipeline_vs_share"][j]["mean"], abs=0.5)
    for row in rows:
        value = float(row[ratio].rstrip("%")) / 100
        assert row[-1] == ("behind" if value < 0.895 else "ahead" if value > 1 / 0.9 + 0.005 else row[-1])
    # Leads per rep add up to the leads assigned (means over the seeds).
    leads = header.index("Leads (leads)")
    assigned = crm["cells"]["base"]["flow"]["metrics"]["assigned"]["mean"]
    assert sum(float(r[leads].replace(",", "")) for r in rows) == pytest.approx(assigned, abs=len(rows))


def test_crm_report_shows_no_value_outside_its_range(crm: dict) -> None:
    page = Page(simulation_report(crm))
    assert out_of_range(page) == []
    # The JSON too: every bounded metric's interval lies inside its range.
    for by_policy in crm["cells"].values():
        for cell in by_policy.values():
            for name, iv in cell["metrics"].items():
                if name in GLOSSARY and iv["n"]:
                    assert GLOSSARY[name].low <= iv["low"] <= iv["high"] <= GLOSSARY[name].high, name


def test_the_range_check_catches_an_interval_past_one() -> None:
    """The check above can fail: a share's raw t-interval over two seeds runs past 1."""
    raw = {"mean": 0.9, "low": 0.476, "high": 1.324, "n": 2}
    html = ("<h2>Results</h2><table><tr><th>Metric</th><th>p</th></tr>"
            "<tr><th>Reps at quota (%)</th><td>90% [48%; 132%]</td></tr></table>")
    assert out_of_range(Page(html)) == ["Reps at quota (%) / p: 90% [48%; 132%]"]
    assert interval_text(raw, "quota_attainment") == "90% [48%; 100%]"
    assert clip(raw, "quota_attainment")["high"] == 1.0


def test_metric_names_are_words_with_a_glossary(crm: dict) -> None:
    page = Page(simulation_report(crm))
    results = page.table("Results per policy")
    names = [row[0] for row in results[1:]]
    assert "Median first response (min)" in names
    for internal in ("jain", "gini", "response_p90_min", "max_deviation", "pipeline_jain"):
        assert internal not in " ".join(names)
    glossary = {row[0] for row in page.table("Glossary")[1:]}
    assert set(names) <= glossary


def test_run_record_is_a_table_not_json(crm: dict) -> None:
    page = Page(simulation_report(crm))
    record = dict(row for row in page.table("Run record")[1:] if len(row) == 2)
    assert record["Scenario"] == crm["scenario"] and record["Seeds"] == "2"
    assert "{" not in simulation_report(crm).split("Run record")[1]


def test_tables_fit_the_page(crm: dict) -> None:
    """No table wider than a dozen or so columns (the old report had 21 side by side)."""
    page = Page(simulation_report(crm))
    widest = max(len(t[0]) for tables in page.tables.values() for t in tables)
    assert widest <= 2 + 7 + 2 + 1  # rep, territory, 7 figures, 2 other policies, standing


def test_warnings_for_unassigned_leads_and_sla_breaches(tiny: dict) -> None:
    """400 of 2,400 leads unassigned and 72% of assigned leads late under every policy: said so."""
    result = {**tiny, "cells": {"base": {}}}
    for policy in ("round_robin", "flow"):
        metrics = {k: dict(v) for k, v in tiny["cells"]["base"][policy]["metrics"].items()}
        for name, value in (("leads", 2400.0), ("unassigned", 400.0), ("assigned", 2000.0),
                            ("sla_breaches", 1440.0)):
            metrics[name] = {"mean": value, "low": value, "high": value, "n": 2}
        result["cells"]["base"][policy] = {"metrics": metrics}
    text = warnings(result)
    assert text[0].startswith("Leads left unassigned: 400 of 2,400 (17%) under every policy")
    assert text[1] == f"SLA of {tiny['sla_minutes']:g} minutes breached on 72% of assigned leads under every policy."
    page = Page(simulation_report(result))
    assert page.headings[:2] == ["Summary", "Warnings"]


def test_report_is_self_contained_with_labelled_charts(tiny: dict) -> None:
    text = simulation_report(tiny)
    page = Page(text)
    assert page.external == []
    charts = re.findall(r"<svg [^>]*role='img' aria-label='([^']+)'", text)
    # revenue, one load chart per policy, the trade-off curve
    assert len(charts) == 1 + len(tiny["policies"]) + 1
    assert "Revenue against fairness, one point per fairness weight" in charts
    assert "expected revenue ($)" in text and ">simulated date (UTC)<" in text  # labelled axes


def test_table_numbers_match_the_json(tiny: dict) -> None:
    page, table = simulation_report(tiny), simulation_table(tiny)
    flow = tiny["cells"]["base"]["flow"]
    assert interval_text(flow["metrics"]["expected_revenue"], "expected_revenue") in page
    main = main_policy(tiny)
    assert main in tiny["policies"]
    assert interval_text(flow["metrics"]["expected_revenue"], "expected_revenue") in table


def test_the_terminal_table_names_metrics_in_words(tiny: dict) -> None:
    from solver.report.glossary import label
    from solver.report.html import TABLE_METRICS, VS_METRICS

    table = simulation_table(tiny)
    for name in (*TABLE_METRICS, *VS_METRICS):
        assert label(name) in table
        assert name not in table, f"{name} is an internal name"
    # Each share is shown as a % and its interval clipped to 0-100%, as in the HTML report.
    shares = re.findall(r"Reps at quota \(%\)\s+(.*)", table)
    assert shares and all(0 <= float(v) <= 100 for line in shares for v in re.findall(r"(-?[\d.]+)%", line))


def test_a_result_without_per_rep_figures_still_renders(tiny: dict) -> None:
    older = {k: v for k, v in tiny.items() if k != "per_rep"}
    page = Page(simulation_report(older))  # type: ignore[arg-type]
    assert page.headings[0] == "Summary" and any("Per rep" in h for h in page.headings)


def test_per_rep_figures_are_consistent(tiny: dict) -> None:
    team = tiny["per_rep"]["flow"]["metrics"]
    shares = [iv["mean"] for iv in team["quota_share"]]
    assert sum(shares) == pytest.approx(1.0)
    pipeline = [iv["mean"] for iv in team["pipeline"]]
    ratio = [iv["mean"] for iv in team["pipeline_vs_share"]]
    total = sum(pipeline)
    # Per seed the ratio is (pipeline / total) / share; with 2 seeds the means agree only roughly.
    for p, s, r in zip(pipeline, shares, ratio, strict=True):
        if s > 0 and total > 0 and math.isfinite(r):
            assert r == pytest.approx(p / total / s, rel=0.5, abs=0.2)


@pytest.mark.slow
def test_the_whole_crm_replay_report_at_two_seeds(tmp_path: Path) -> None:
    """scenarios/crm_replay.yaml as shipped (3 variants, the fairness sweep), 2 seeds: ~2 minutes on 2 cores."""
    result = simulate_scenario(load_scenario(ROOT / "scenarios" / "crm_replay.yaml"), seeds=2, progress=False)
    page = Page(simulation_report(result))
    assert page.headings[0] == "Summary" and len(page.summary) == 3
    assert len(page.table("Per rep")) == 1 + len(result["per_rep"]["flow"]["rep_ids"])
    assert out_of_range(page) == []


def test_two_references_are_compared_once_in_the_table_and_the_report(tiny: dict) -> None:
    import copy

    both = copy.deepcopy(tiny)
    both["references"] = ["round_robin", "flow"]
    for cells in both["cells"].values():
        cells["round_robin"]["vs"] = {"flow": cells["flow"]["vs"]["round_robin"]}
    table = simulation_table(both)
    assert "round_robin - flow" in table and "flow - round_robin" not in table
    page = simulation_report(both)
    assert "round robin vs the optimizer" in page and "the optimizer (min-cost flow) vs round robin" not in page


# TINY's three reps (capacity 15) cannot hold its leads; the variant adds a rep in each territory.
ADD_REPS = TINY.split("variants:")[0] + """variants:
  +2 reps:
    team.add_reps:
      - {id: d, capacity: 15, territories: [EU]}
      - {id: e, capacity: 15, territories: [US]}
"""


def simulate_command(tmp_path: Path, scenario: str) -> tuple[str, Page, dict]:
    """`leadsolver simulate` of a scenario file at 2 seeds: its terminal output, report.html, result.json."""
    from click.testing import CliRunner

    from solver.cli import main

    path, out = tmp_path / "scenario.yaml", tmp_path / "out"
    path.write_text(scenario)
    run = CliRunner().invoke(main, ["simulate", str(path), "--seeds", "2", "--workers", "1",
                                    "--policies", "round_robin,flow", "--out", str(out)])
    assert run.exit_code == 0, run.output
    return run.stdout, Page((out / "report.html").read_text()), json.loads((out / "result.json").read_text())


def test_adding_reps_shows_what_the_team_change_is_worth(tmp_path: Path) -> None:
    """The paired base-vs-variant change is printed and in the report, per policy, with its sign and a
    verdict: two more reps under a capacity crunch leave fewer leads unassigned."""
    text, page, result = simulate_command(tmp_path, ADD_REPS)
    for policy in ("round_robin", "flow"):
        change = result["cells"]["+2 reps"][policy]["vs_base_variant"]
        assert change["unassigned"]["high"] < 0 and change["assigned"]["low"] > 0
        # The terminal: a sentence per policy with the paired difference and its verdict.
        unassigned = difference_text(change["unassigned"], NO_PAIRS, "unassigned")
        assert (f"+2 reps vs base, {policy}: Unassigned leads {unassigned}, better (the 95% interval is "
                "below 0).") in text.splitlines()
        revenue = change["expected_revenue"]
        words = ("no measurable change (the 95% interval includes 0)" if revenue["low"] <= 0 <= revenue["high"]
                 else "better (the 95% interval is above 0)" if revenue["low"] > 0
                 else "worse (the 95% interval is below 0)")
        assert (f"+2 reps vs base, {policy}: Expected revenue "
                f"{difference_text(revenue, NO_PAIRS, 'expected_revenue')}, {words}.") in text.splitlines()
    # The terminal's table of the change: one column per policy, a row per metric in words.
    block = text.split("+2 reps vs base: what the variant changes")[1]
    header, _, *rows = block.split("\n\n")[1].splitlines()
    assert header.split() == ["metric", "round_robin", "flow"]
    unassigned_row = next(r for r in rows if r.startswith("Unassigned leads (leads)"))
    assert re.findall(r" (-[\d.,]+) \[", unassigned_row) and " better" in unassigned_row
    assert "+" not in unassigned_row.split("(leads)")[1].split("[")[0]  # the mean falls
    # The report: a sentence per policy and headline metric, and a row per policy.
    assert any(s.startswith("+2 reps vs base, the optimizer (min-cost flow): Unassigned leads -")
               and s.endswith("better (the 95% interval is below 0).") for s in page.lists["variants"])
    assert len(page.lists["variants"]) == 4
    table = page.table("What each variant changes")
    assert table[0][:4] == ["Variant vs base, policy", "Expected revenue: change", "Unassigned leads: change",
                            "Assigned leads: change"]
    rows_by_name = {row[0]: row for row in table[1:]}
    flow = rows_by_name["+2 reps vs base, the optimizer (min-cost flow)"]
    assert flow[2] == difference_text(result["cells"]["+2 reps"]["flow"]["vs_base_variant"]["unassigned"],
                                      NO_PAIRS, "unassigned") + " better"
    assert set(rows_by_name) == {"+2 reps vs base, round robin", "+2 reps vs base, the optimizer (min-cost flow)"}
    assert out_of_range(page) == []


def test_no_variant_no_variant_section(tmp_path: Path) -> None:
    text, page, _ = simulate_command(tmp_path, TINY.split("variants:")[0])
    assert "vs base" not in text and "what the variant changes" not in text
    assert "variants" not in page.lists
    assert not any(h.startswith("What each variant") for h in page.headings)
    assert "variant base" in text  # the rest of the output is there


def test_a_change_whose_interval_includes_0_says_no_measurable_change() -> None:
    def iv(low: float, high: float) -> Interval:
        return {"mean": (low + high) / 2, "low": low, "high": high, "n": 2}

    assert change_words(iv(-3, 5), "unassigned", why=True) == "no measurable change (the 95% interval includes 0)"
    # Fewer unassigned leads or SLA breaches are better; less revenue is worse.
    assert change_words(iv(-9, -1), "unassigned") == "better"
    assert change_words(iv(1, 9), "sla_breaches", why=True) == "worse (the 95% interval is above 0)"
    assert change_words(iv(-9, -1), "expected_revenue", why=True) == "worse (the 95% interval is below 0)"
    assert change_text({"unassigned": iv(-123, -21)}, "unassigned", why=True) == (
        "-72.0 [-123.0; -21.0], better (the 95% interval is below 0)")
    assert change_words({"mean": 4.0, "low": 4.0, "high": 4.0, "n": 1}, "unassigned") == ""  # one seed


def test_a_mean_of_counts_keeps_its_half():
    # flow's 2.5 unassigned leads (two seeds) printed as "2", beside round robin's 2.0
    assert interval_text({"mean": 2.5, "low": 2.5, "high": 2.5, "n": 2}, "unassigned") == "2.5"
    assert interval_text({"mean": 2.0, "low": 2.0, "high": 2.0, "n": 2}, "unassigned") == "2"


def test_the_paired_table_claims_a_percent_only_where_it_prints_one(tiny: dict) -> None:
    # a scenario whose baseline is no reference (segments.yaml: `rules`) said "in % too" and printed none
    assert "expected revenue in % too" in simulation_table(tiny)
    cells = {variant: {policy: {k: v for k, v in cell.items() if k != "vs"} for policy, cell in by.items()}
             for variant, by in tiny["cells"].items()}
    no_refs = {**tiny, "references": [], "cells": cells}
    text = simulation_table(no_refs)
    assert f"- {tiny['baseline']}" in text and "paired difference (same arrivals)" in text
    assert "in % too" not in text
