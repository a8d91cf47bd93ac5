"""The simulator's experiments (issue 15): the smoke test of benchmarks/experiments/study.py."""

from pathlib import Path

import pytest

from solver.sim.experiment import run_experiment
from solver.sim.scenario import load_scenario, with_overrides

SHIFTS = Path(__file__).resolve().parents[2] / "scenarios" / "shifts.yaml"


@pytest.fixture(scope="module")
def scenario():
    return with_overrides(load_scenario(SHIFTS), {"horizon_days": 3})


def test_an_aa_run_splits_the_leads_and_reports_from_the_ledger(scenario):
    run = run_experiment(scenario, "least_loaded", 0, {"name": "aa", "challenger": {"seed": 0}})
    arms, d = run.report["arms"], run.report["difference"]
    assert arms["control"]["leads"] > 100 and arms["challenger"]["leads"] > 100
    assert d["n_control"] == arms["control"]["resolved"] and run.true_lift == 0.0
    assert run.report["sequential"]["looks"] >= 3 and run.report["sequential"]["p_value"] > 0.05


def test_a_known_lift_shows_in_the_challengers_conversion(scenario):
    run = run_experiment(scenario, "least_loaded", 0,
                         {"name": "ab", "challenger": {"seed": 0}, "unit": "switchback", "block_hours": 2,
                          "min_effect": 0.2},
                         lift=0.3)
    d = run.report["difference"]
    assert 0.25 < run.true_lift <= 0.3  # the chances within 0.3 of 1 are clipped
    assert d["low"] <= run.true_lift <= d["high"] and d["clusters"] >= 30
    assert run.report["sequential"]["significant"]
