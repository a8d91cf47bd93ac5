"""The benchmark report a manager reads: a summary in words first, the worst run's fairness beside
the medians, a glossary, and the run's record as a table rather than JSON."""

from solver.bench.report import html_report, summary_lines
from tests.report.test_report import Page


def report() -> dict:
    record = {"suite": "synthetic", "command": "leadsolver bench synthetic --quick", "date_utc": "2026-11-30",
              "version": "0.1.0", "git_commit": "abc123",
              "machine": {"cpu": "x86_64", "cores": 2, "platform": "Linux", "python": "3.11", "numpy": "2",
                          "ortools": "9.10", "note": ""},
              "settings": {"seeds": 1, "policies": ["flow", "greedy"]}}
    by_policy = [
        {"policy": "flow", "runs": 2, "violations": 0, "placed_ratio": 1.0, "value_ratio": 1.0,
         "value_ratio_lo": 0.9999, "value_ratio_hi": 1.0, "jain": 0.99, "jain_lo": 0.97, "gini": 0.01,
         "max_deviation": 0.01, "max_deviation_hi": 0.02, "time_p50_s": 0.004, "time_p99_s": 0.009},
        {"policy": "greedy", "runs": 2, "violations": 0, "placed_ratio": 1.0, "value_ratio": 0.97,
         "value_ratio_lo": 0.91, "value_ratio_hi": 0.99, "jain": 0.98, "jain_lo": 0.62, "gini": 0.02,
         "max_deviation": 0.03, "max_deviation_hi": 0.2, "time_p50_s": 0.001, "time_p99_s": 0.002}]
    rows = [{"policy": p["policy"], "value_ratio": p["value_ratio"]} for p in by_policy]
    by_instance = [{"instance": "100x10", "policy": p["policy"], "seeds": 1, "violations": 0, "placed": 100,
                    "value_ratio": p["value_ratio"], "value_ratio_lo": p["value_ratio_lo"],
                    "value_ratio_hi": p["value_ratio_hi"], "ref_method": "lp", "jain": p["jain"],
                    "time_p50_s": p["time_p50_s"], "time_p99_s": p["time_p99_s"], "n_leads": 100, "n_reps": 10,
                    "throughput_leads_per_s": 1e5, "time_vs_hungarian": 1.0} for p in by_policy]
    return {"record": record, "by_policy": by_policy, "by_instance": by_instance, "rows": rows}


def test_summary_first_in_words():
    page = Page(html_report(report()))
    assert page.headings[0] == "Summary"
    assert page.summary == summary_lines(report())
    assert page.summary[1].startswith("greedy: 97.00% of the reference value at the median (worst run 91.00%), "
                                      "fairness (Jain) 0.620 on its least fair run")


def test_by_policy_shows_the_worst_run_beside_the_medians():
    header, *rows = Page(html_report(report())).table("By policy")
    worst = header.index("Jain, worst run")
    assert {r[0]: r[worst] for r in rows} == {"flow": "0.970", "greedy": "0.620"}


def test_run_record_is_a_table_and_columns_are_explained():
    text = html_report(report())
    page = Page(text)
    record = dict(row for row in page.table("Run")[1:])
    assert record["Command"] == "leadsolver bench synthetic --quick" and record["Setting: seeds"] == "1"
    assert "<pre>" not in text
    assert {row[0] for row in page.table("Glossary")[1:]} >= {"value / ref", "Jain", "max dev"}
