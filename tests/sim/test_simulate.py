"""The simulator: deterministic per seed, every lead accounted for, speed costs wins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from solver.cli import main
from solver.compile.speed import half_life_decay as speed_factor
from solver.sim.scenario import Scenario, load_scenario
from solver.sim.simulate import Cell, run_cell

TINY = """
name: tiny
horizon_days: 5
team:
  reps:
    - {id: a, capacity: 15, territories: [EU], skills: {software: 1.5}}
    - {id: b, capacity: 15, territories: [EU]}
    - {id: c, capacity: 15, territories: [US]}
stream: {leads_per_week: 250, territory: {EU: 2, US: 1}, industry: {software: 1, retail: 1},
         urgent_share: 0.1, repeat_rate: 0.2}
policy: {batch: {max_size: 10, max_wait_s: 600}, sla: {first_touch_hours: 1}}
policies: [round_robin, flow]
seeds: 2
fairness_sweep: [0, 1]
variants:
  capacity 30: {team.set.capacity: 30}
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Three reps, five days, ~180 leads: small enough to simulate in well under a second."""
    path = tmp_path_factory.mktemp("scn") / "tiny.yaml"
    path.write_text(TINY)
    return load_scenario(path)


def test_same_seed_same_result(tiny: Scenario) -> None:
    a, b = run_cell(Cell(tiny, "base", "flow", 0)), run_cell(Cell(tiny, "base", "flow", 0))
    assert a.metrics == b.metrics
    np.testing.assert_array_equal(a.load_samples, b.load_samples)
    assert run_cell(Cell(tiny, "base", "flow", 1)).metrics != a.metrics


def test_every_lead_accounted_for_and_capacity_held(tiny: Scenario) -> None:
    for policy in ("round_robin", "flow"):
        m = run_cell(Cell(tiny, "base", policy, 0)).metrics
        assert m["assigned"] + m["unassigned"] == m["leads"] > 100
        assert 0 <= m["conversion_rate"] <= 1 and 0 < m["jain"] <= 1
    out = run_cell(Cell(tiny, "base", "flow", 0))
    assert out.load_samples.shape == (5 * 24, 3)  # hourly samples of each rep's open leads


def test_more_capacity_assigns_more(tiny: Scenario) -> None:
    base = run_cell(Cell(tiny, "base", "flow", 0)).metrics
    more = run_cell(Cell(tiny, "capacity 30", "flow", 0)).metrics
    assert more["leads"] == base["leads"]  # the variant changes the team, not the arrivals
    assert more["unassigned"] < base["unassigned"]


def test_speed_factor_halves_per_half_life() -> None:
    assert speed_factor(0.0, 30, 0.1) == pytest.approx(1.0)
    assert speed_factor(30.0, 30, 0.1) == pytest.approx(0.1 + 0.9 / 2)
    assert speed_factor(24 * 60.0, 30, 0.1) == pytest.approx(0.1, abs=1e-6)


def test_simulate_command_json_and_report(tiny: Scenario, tmp_path: Path) -> None:
    path = Path(tiny.base_dir) / "tiny.yaml"
    result = CliRunner().invoke(main, ["simulate", str(path), "--seeds", "2", "--workers", "1",
                                       "--policies", "round_robin,flow", "--format", "json",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").exists()


def test_result_json_shape_is_pinned(tiny: Scenario, tmp_path: Path) -> None:
    """result.json is a contract (reports, notebooks read it): its keys, in order, do not move."""
    path = Path(tiny.base_dir) / "tiny.yaml"
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(path), "--seeds", "2", "--workers", "1",
                                       "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "result.json").read_text())
    assert list(data) == ["scenario", "description", "variants", "policies", "baseline", "references",
                          "seeds", "sla_minutes", "cells", "runs", "response_bins_min", "response_histogram",
                          "load_over_time", "fairness_sweep", "start", "per_rep"]
    assert list(data["cells"]["base"]["flow"]) == ["metrics", "vs_baseline", "vs"]
    assert list(data["cells"]["base"]["flow"]["vs"]) == ["round_robin"]  # least_loaded not run
    assert list(data["cells"]["base"]["flow"]["vs"]["round_robin"]) == ["diff", "pct"]
    assert list(data["cells"]["capacity 30"]["flow"]) == ["metrics", "vs_baseline", "vs_base_variant",
                                                          "vs"]
    assert list(data["cells"]["base"]["flow"]["metrics"]["jain"]) == ["mean", "low", "high", "n"]
    assert list(data["runs"][0]) == ["variant", "policy", "seed", "fairness_weight", "metrics"]
    assert list(data["runs"][0]["metrics"]) == [
        "leads", "assigned", "unassigned", "expected_revenue", "realized_revenue", "expected_value",
        "conversion_rate", "response_p50_min", "response_p90_min", "sla_breaches", "reassigned",
        "utilization", "quota_attainment", "mean_attainment", "jain", "gini", "max_deviation",
        "pipeline_jain", "pipeline_min_max", "structural_jain", "structural_min_max",
        "router_pipeline_imbalance", "decided_by_router", "forced_by_owner"]
    assert list(data["load_over_time"]["flow"]) == ["rep_ids", "hours_per_sample", "open_leads"]
    assert list(data["fairness_sweep"]) == ["policy", "points"]
    assert list(data["fairness_sweep"]["points"][0]) == ["weight", "expected_revenue", "expected_value",
                                                         "jain"]
    assert data["response_histogram"]["base"]["flow"] and data["variants"] == ["base", "capacity 30"]


def test_simulate_command_bad_scenario_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("team: {reps: [{id: a, capacity: 1}]}\nstream: {urgent_share: 3}\n")
    result = CliRunner().invoke(main, ["simulate", str(path)])
    assert result.exit_code == 2
    assert "field 'stream.urgent_share'" in result.output


def test_json_of_a_run_with_no_leads_is_standard_json(tmp_path: Path) -> None:
    """Means over no leads are not numbers: null in the JSON, not NaN (which JSON readers refuse)."""
    (tmp_path / "none.yaml").write_text(
        "name: zero-leads\nhorizon_days: 1\nteam:\n  reps: [{id: A, capacity: 5}, {id: B, capacity: 5}]\n"
        "stream: {leads_per_week: 0.01}\npolicies: [round_robin, flow]\nseeds: 2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "none.yaml"), "--format", "json",
                                       "--workers", "1", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    for text in (result.stdout, (tmp_path / "out" / "result.json").read_text(encoding="utf-8")):
        data = json.loads(text, parse_constant=refuse)
        assert data["cells"]["base"]["flow"]["metrics"]["response_p50_min"]["mean"] is None
