"""Speed to lead in the simulator: the untouched-queue response model, baselines on arrival,
pipeline fairness (with its structural part) and the paired studies."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from solver.decode.result import Assignment
from solver.sim import studies
from solver.sim.metrics import RunRecord, pipeline_fairness, run_metrics, structural_pipeline
from solver.sim.response import rep_pace, router_reps
from solver.sim.scenario import Scenario, load_scenario, with_overrides
from solver.sim.simulate import TOUCH, Cell, Simulation, run_cell, run_policy
from solver.sim.stream import make_stream, team_reps

QUEUE = """
name: queue
start: 2024-03-04T00:00:00+00:00
horizon_days: 2
team:
  reps:
    - {id: a, capacity: 50}
  defaults: {timezone: UTC, working_hours: "09:00-17:00"}
stream: {leads_per_week: 200}
response: {base_minutes: 20, handling_minutes: 10, sigma: 0}
policies: [round_robin, flow]
"""

TINY = """
name: tiny-speed
horizon_days: 4
team:
  reps:
    - {id: a, capacity: 15, territories: [EU], skills: {software: 1.5}}
    - {id: b, capacity: 15, territories: [EU]}
    - {id: c, capacity: 15, territories: [US]}
stream: {leads_per_week: 200, territory: {EU: 2, US: 1}, industry: {software: 1, retail: 1},
         urgent_share: 0.1, repeat_rate: 0.2}
response: {base_minutes: 10, handling_minutes: 8, rep_speed_sigma: 0.5}
policy: {batch: {max_size: 10, max_wait_s: 600}, fairness: {weight: 1.0}}
policies: [round_robin, least_loaded, flow]
seeds: 2
"""


def scenario(tmp_path: Path, text: str, name: str) -> Scenario:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_scenario(path)


def test_three_untouched_ahead_answer_three_handlings_later_in_working_time(tmp_path: Path) -> None:
    scn = scenario(tmp_path, QUEUE, "queue")
    reps = team_reps(scn)
    stream = make_stream(scn, 0)
    sim = Simulation(scn, reps, run_policy(scn, "flow", 0), stream, 0, reps)
    t = 16.5 * 3600  # Monday 16:30 UTC: half an hour of the working day left
    sim.now_s = t
    sim.on_assigned([Assignment(lead_id=stream.ids[k], rep_id="a", status="assigned", reason="test",
                                expected_value=1.0, policy="flow") for k in range(4)], t)
    touches = sorted(e[0] for e in sim.events if e[2] == TOUCH)
    start = datetime(2024, 3, 4, tzinfo=ZoneInfo("UTC"))
    at = [(start.timestamp() + s) for s in touches]
    clock = [datetime.fromtimestamp(x, ZoneInfo("UTC")).strftime("%a %H:%M") for x in at]
    # 20 + 10 x (0, 1, 2, 3) working minutes from 16:30; the day ends at 17:00, Tuesday starts 09:00.
    assert clock == ["Mon 16:50", "Mon 17:00", "Tue 09:10", "Tue 09:20"]
    assert sim.untouched.tolist() == [4]
    assert sim.queued_at_assign[:4].tolist() == [0, 1, 2, 3]


def test_every_untouched_queue_drains_and_counts_match(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY, "tiny")
    team = team_reps(scn)
    pace = rep_pace(scn.response, team)
    reps = router_reps(scn, team, pace)
    stream = make_stream(scn, 0)
    sim = Simulation(scn, reps, run_policy(scn, "flow", 0), stream, 0, team, pace)
    sim.run()
    assert sim.untouched.tolist() == [0, 0, 0]  # every assigned lead is touched by the end
    placed = sim.owner >= 0
    assert placed.sum() > 50 and (sim.queued_at_assign[placed] >= 0).all()


def test_rep_pace_fixed_per_scenario_and_rep_and_estimate_factor_scales_router_view(
        tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY, "tiny")
    team = team_reps(scn)
    pace = rep_pace(scn.response, team)
    assert len(set(pace.base.round(6))) == 3  # sigma 0.5: three different paces
    np.testing.assert_allclose(pace.handling / pace.base, 8 / 10)  # one pace per rep for both
    # A rep's pace does not move when another rep joins; identical reps without a spread.
    more = with_overrides(scn, {"team.add_reps": [{"id": "d", "capacity": 5}]})
    np.testing.assert_allclose(rep_pace(more.response, team_reps(more)).base[:3], pace.base)
    flat = with_overrides(scn, {"response.rep_speed_sigma": 0.0})
    assert rep_pace(flat.response, team_reps(flat)).base.tolist() == [10.0, 10.0, 10.0]
    # Given in the team: the rep's own minutes are the truth.
    own = with_overrides(scn, {"team.set": {"response_minutes": 3.0, "handling_minutes": 1.0}})
    assert rep_pace(own.response, team_reps(own)).base.tolist() == [3.0, 3.0, 3.0]
    slow = with_overrides(scn, {"response.estimate_factor": 2.0, "team.router_skills": False})
    seen = router_reps(slow, team, pace)
    np.testing.assert_allclose([r.response_minutes for r in seen], 2 * pace.base, rtol=1e-6)
    np.testing.assert_allclose([r.handling_minutes for r in seen], 2 * pace.handling, rtol=1e-6)
    assert team[0].skills and not seen[0].skills  # the router is blind to skills; the truth is not


def test_old_scenarios_keep_the_open_leads_model(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY.replace("handling_minutes: 8, ", ""), "old")
    assert not scn.response.untouched_queue
    pace = rep_pace(scn.response, team_reps(scn))
    np.testing.assert_allclose(pace.handling / pace.base, 2.0 / 10)  # minutes_per_open_lead 2


def test_baselines_assign_on_arrival_optimizers_wait_for_the_window(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY, "tiny")
    assert run_policy(scn, "round_robin", 0).batch.max_wait_s == 0
    assert run_policy(scn, "least_loaded", 0).batch.max_wait_s == 0
    assert run_policy(scn, "flow", 0).batch.max_wait_s == 600
    same = with_overrides(scn, {"baselines_on_arrival": False})
    assert run_policy(same, "round_robin", 0).batch.max_wait_s == 600
    roomy = with_overrides(scn, {"team.set": {"capacity": 500}})  # no lead waits for room
    team = team_reps(roomy)
    stream = make_stream(roomy, 0)
    waits = {}
    for policy in ("round_robin", "flow"):
        sim = Simulation(roomy, team, run_policy(roomy, policy, 0), stream, 0, team)
        sim.run()
        first = np.isfinite(sim.first_assigned_s)
        waits[policy] = sim.first_assigned_s[first] - stream.arrival_s[first]
    assert np.max(waits["round_robin"]) == 0.0  # always-on reps with room: every lead at arrival
    assert np.max(waits["flow"]) > 60.0  # the optimizer's leads wait in its micro-batch


def test_pipeline_fairness_by_hand() -> None:
    jain, min_max = pipeline_fairness(np.array([100.0, 50.0]), np.array([0.5, 0.5]))
    assert jain == pytest.approx(300.0**2 / (2 * (200.0**2 + 100.0**2)))  # 0.9
    assert min_max == pytest.approx(0.5)
    # Per unit of quota share: 150 for a 0.75 share and 50 for 0.25 is perfectly even.
    assert pipeline_fairness(np.array([150.0, 50.0]), np.array([0.75, 0.25])) == (1.0, 1.0)
    assert pipeline_fairness(np.array([0.0, 0.0]), np.array([0.5, 0.5])) == (1.0, 1.0)
    eligible = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)
    value = np.array([100.0, 60.0, 40.0, 999.0])  # the last lead has no pool: nobody's
    np.testing.assert_allclose(structural_pipeline(value, eligible, np.array([0.5, 0.5])), [130, 70])
    np.testing.assert_allclose(structural_pipeline(value, eligible, np.array([0.75, 0.25])), [145, 55])


def test_run_metrics_pipeline_structural_and_owner_counts() -> None:
    rec = RunRecord(
        value=np.array([100.0, 60.0, 40.0, 30.0]), expected_value=np.zeros(4),
        owner=np.array([0, 0, 1, -1]), response_min=np.array([5.0, 10.0, 20.0, np.nan]),
        p_win=np.zeros(4), won=np.zeros(4, dtype=bool), reassigned=np.zeros(4, dtype=np.int64),
        capacity=np.array([5, 5]), quota=np.array([1.0, 1.0]), share=np.array([0.5, 0.5]),
        load_samples=np.zeros((0, 2)), sla_minutes=60.0,
        forced=np.array([False, True, False, False]),
        eligible=np.array([[1, 0], [1, 1], [0, 1], [0, 1]], dtype=bool))
    m = run_metrics(rec)
    # Pipeline 160 / 40 per 0.5 share: x = 320, 80.
    assert m["pipeline_jain"] == pytest.approx(400.0**2 / (2 * (320.0**2 + 80.0**2)))
    assert m["pipeline_min_max"] == pytest.approx(0.25)
    # Structural split: rep 0 gets 100 + 30, rep 1 30 + 40 + 30.
    assert m["structural_jain"] == pytest.approx(230.0**2 / (2 * (130.0**2 + 100.0**2)))
    assert m["structural_min_max"] == pytest.approx(100 / 130)
    assert m["router_pipeline_imbalance"] == pytest.approx(m["structural_jain"] - m["pipeline_jain"])
    assert (m["decided_by_router"], m["forced_by_owner"]) == (2.0, 1.0)


def test_owner_rule_off_leaves_every_decision_to_the_router(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY, "tiny")
    on = run_cell(Cell(scn, "base", "flow", 0)).metrics
    off = run_cell(Cell(scn, "base", "flow", 0, overrides=(("policy.rules.account_owner", "off"),))).metrics
    assert on["forced_by_owner"] > 0 and off["forced_by_owner"] == 0
    for m in (on, off):
        assert m["decided_by_router"] + m["forced_by_owner"] == m["assigned"]
    # EU leads may go to a or b, US leads to c alone: the territories leave an imbalance.
    assert on["structural_jain"] == off["structural_jain"] < 1.0


def test_decomposition_and_window_curve_on_a_tiny_scenario(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY, "tiny")
    dec = studies.decomposition(scn, 2, workers=1, progress=False)
    assert [a["label"] for a in dec["arms"]] == ["full", "speed off", "skills off", "fairness off",
                                                "batch window 0"]
    assert [(c["arm"], c["reference"]) for c in dec["comparisons"]] == [
        (p, "full") for p in ("speed off", "skills off", "fairness off", "batch window 0")]
    arms = {a["label"]: a for a in dec["arms"]}
    for c in dec["comparisons"]:  # paired differences are the per-seed differences' mean
        mine, full = arms[c["arm"]]["per_seed"]["expected_revenue"], arms["full"]["per_seed"]["expected_revenue"]
        assert c["diff"]["expected_revenue"]["mean"] == pytest.approx(np.mean(np.subtract(mine, full)))
        assert c["diff"]["expected_revenue"]["n"] == 2
    curve = studies.batch_window_curve(scn, 2, windows=(0, 600), workers=1, progress=False)
    assert [c["arm"] for c in curve["comparisons"]] == ["window 600s"]
    # The 0 s arm is the decomposition's "batch window 0" arm: same seeds, same numbers.
    assert curve["arms"][0]["per_seed"]["expected_revenue"] == arms["batch window 0"]["per_seed"][
        "expected_revenue"]


def _arm(window: float, values: list[float]) -> dict[str, object]:
    return {"label": f"w{window}", "policy": "flow", "variant": "base",
            "overrides": {"policy.batch.max_wait_s": window},
            "metrics": {"expected_revenue": {"mean": float(np.mean(values)), "low": 0.0, "high": 0.0,
                                             "n": len(values)}},
            "per_seed": {"expected_revenue": values}}


def test_recommend_window_prefers_the_shortest_window_tied_with_the_best() -> None:
    curve = {"study": "batch window", "scenario": "s", "seeds": 3, "comparisons": [], "arms": [
        _arm(0, [100.0, 101.0, 99.0]),  # clearly below the best on every seed
        _arm(60, [109.0, 111.0, 107.0]),  # below the best by 1-2, noisy: the interval reaches 0
        _arm(300, [110.0, 110.0, 110.0]),  # the best mean
        _arm(1800, [90.0, 92.0, 91.0])]}
    pick = studies.recommend_window(curve)  # type: ignore[arg-type]
    assert pick["best_window_s"] == 300.0
    assert pick["tied_windows_s"] == [60.0, 300.0]
    assert pick["recommended_window_s"] == 60.0


def test_paired_percent_and_plain_verdicts() -> None:
    from solver.report.studies import verdict
    from solver.sim.metrics import compare

    ours = {0: {"expected_revenue": 120.0}, 1: {"expected_revenue": 219.0}, 2: {"expected_revenue": 321.0}}
    base = {0: {"expected_revenue": 100.0}, 1: {"expected_revenue": 200.0}, 2: {"expected_revenue": 300.0}}
    c = compare(ours, base, ["expected_revenue"])
    assert c["diff"]["expected_revenue"]["mean"] == pytest.approx(20.0)
    assert c["pct"]["expected_revenue"]["mean"] == pytest.approx(10.0)  # +$20 on round robin's mean $200
    assert verdict("flow", "round_robin", c).startswith("flow beats round_robin: +10.00%")
    worse = compare(base, ours, ["expected_revenue"])
    assert "does NOT beat round_robin, it is worse" in verdict("flow", "round_robin", worse)
    mixed = compare({0: {"expected_revenue": 110.0}, 1: {"expected_revenue": 190.0}}, base,
                    ["expected_revenue"])
    assert "interval includes 0" in verdict("flow", "round_robin", mixed)


def test_decomposition_leaves_out_a_switch_that_changes_nothing(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY.replace("max_wait_s: 600", "max_wait_s: 0").replace(
        "horizon_days: 4", "horizon_days: 1"), "onarrival")
    dec = studies.decomposition(scn, 1, parts=("fairness off", "batch window 0"), workers=1,
                                progress=False)
    assert [a["label"] for a in dec["arms"]] == ["full", "fairness off"]


def test_fairness_tradeoff_runs_each_weight_under_each_measure(tmp_path: Path) -> None:
    scn = scenario(tmp_path, TINY.replace("horizon_days: 4", "horizon_days: 1"), "tradeoff")
    study = studies.fairness_tradeoff(scn, 1, (0.0, 3.0), measures=(None, "pipeline"), workers=1,
                                      progress=False)
    arms = {a["label"]: a for a in study["arms"]}
    assert list(arms) == ["round_robin", "least_loaded", "flow fairness 0", "flow fairness 3",
                          "flow pipeline 0", "flow pipeline 3"]
    assert arms["flow pipeline 3"]["overrides"] == {"policy.fairness.weight": 3.0,
                                                    "policy.fairness.measure": "pipeline"}
    assert arms["flow fairness 3"]["overrides"] == {"policy.fairness.weight": 3.0}
    # At weight 0 the measure has nothing to weigh: both arms route alike, seed for seed.
    assert (arms["flow fairness 0"]["per_seed"]["expected_revenue"]
            == arms["flow pipeline 0"]["per_seed"]["expected_revenue"])
    # Only the optimizer's arms are compared, each with both baselines.
    assert {(c["arm"], c["reference"]) for c in study["comparisons"]} == {
        (arm, ref) for arm in list(arms)[2:] for ref in ("round_robin", "least_loaded")}
