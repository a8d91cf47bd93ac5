"""Speed to lead: decay, time to first touch, queue positions, and flow's exact slots."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pytest

from solver.compile.problem import Problem, compile_problem
from solver.compile.scoring import compile_reps
from solver.compile.speed import AlwaysOnTerms, RepTiming, SpeedTerms, decay, positions
from solver.domain.availability import Schedule
from solver.domain.model import Lead, Policy, Rep
from solver.domain.speed import Speed
from solver.policies import Status, solve
from tests.policies.test_policies import brute_force


def test_half_life_decay_halves_the_share_above_the_floor() -> None:
    speed = Speed(half_life_minutes=30, floor=0.2)
    np.testing.assert_allclose(decay(np.array([0.0, 30.0, 60.0, 1e9]), speed), [1.0, 0.6, 0.4, 0.2])


def test_table_decay_interpolates_and_holds_its_ends() -> None:
    speed = Speed(table=((5, 0.9), (65, 0.3)))
    np.testing.assert_allclose(decay(np.array([0.0, 5.0, 35.0, 65.0, 999.0]), speed),
                               [0.9, 0.9, 0.6, 0.3, 0.3])


@pytest.mark.parametrize("table", [((0, 1.0), (0, 0.5)), ((0, 0.5), (10, 0.6)), ((0, 0.0), (10, 0.0))])
def test_a_curve_that_rises_or_stalls_is_refused(table: tuple[tuple[float, float], ...]) -> None:
    with pytest.raises(ValueError, match="table"):
        Speed(table=table)


def test_a_queue_that_runs_past_the_shift_waits_for_the_next_one() -> None:
    # on shift with 30 working minutes left, then 15 hours off; 10 + 2 x 10 minutes of work ahead
    timing = RepTiming(wait=np.array([0.0]), shift_left=np.array([30.0]), gap=np.array([900.0]),
                       work=np.array([30.0]), handling=np.array([10.0]))
    assert timing.minutes(np.array([0]), 0).tolist() == [30.0]  # fits in the shift
    assert timing.minutes(np.array([0]), 1).tolist() == [40.0 + 900.0]  # the next morning


def test_next_shift_of_a_rep_with_office_hours() -> None:
    rep = Rep(id="r", capacity=1, timezone="Europe/Berlin", working_hours="09:00-17:00")
    schedule = Schedule(rep)
    friday_evening = datetime(2024, 3, 8, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
    start, end, following = schedule.next_shift(friday_evening)
    monday_9 = datetime(2024, 3, 11, 8, 0, tzinfo=UTC)
    assert start == monday_9.timestamp()
    assert end - start == 8 * 3600
    assert following - end == 16 * 3600  # Monday 17:00 to Tuesday 09:00


def test_positions_put_the_owner_rule_first_then_the_highest_worth() -> None:
    owner = np.array([0, 0, 1, 0, -1, 0])
    worth = np.array([5.0, 9.0, 1.0, 9.0, 7.0, 1.0])
    first = np.array([False, False, False, False, False, True])
    # rep 0: lead 5 (owner rule), then 1 and 3 (9, ties by index), then 0
    assert positions(owner, worth, first).tolist() == [3, 1, 0, 2, -1, 0]


def test_a_queued_rep_is_worth_less_and_the_batch_prefers_the_idle_one() -> None:
    reps = [Rep(id="busy", capacity=10, untouched=6, skills={"fin": 1.2}), Rep(id="idle", capacity=10)]
    lead = Lead(id="l", value=100, industry="fin")
    policy = Policy(speed={"half_life_minutes": 30, "floor": 0.1, "response_minutes": 5,
                           "handling_minutes": 10})
    problem = compile_problem(reps, [lead], policy)
    expected = 100 * np.array([1.2, 1.0]) * decay(np.array([65.0, 5.0]), policy.speed)
    np.testing.assert_allclose(problem.value[0], expected)
    assert solve(problem, "flow").owner.tolist() == [1]  # 20% more skill does not pay an hour's wait
    static = compile_problem(reps, [lead], policy.model_copy(update={"speed": Speed(enabled=False)}))
    assert solve(static, "flow").owner.tolist() == [0]


def test_the_highest_value_leads_take_the_earliest_slots() -> None:
    reps = [Rep(id="a", capacity=3)]
    leads = [Lead(id=f"l{v}", value=v) for v in (10, 30, 20)]
    problem = compile_problem(reps, leads, Policy())
    owner = solve(problem, "flow").owner
    assert owner.tolist() == [0, 0, 0]
    speed = problem.speed
    assert isinstance(speed, SpeedTerms)
    ratio = speed.ratio(np.zeros(3, dtype=np.int64), np.arange(3))  # places 0, 1, 2 of rep a
    assert problem.lead_values(owner) == pytest.approx(problem.value[:, 0] * ratio[[2, 0, 1]])


@pytest.mark.parametrize("seed", range(80))
def test_flow_with_queue_slots_equals_brute_force(seed: int) -> None:
    """Slots, queues, owner-rule leads ahead, fairness, reps off shift: flow's answer is the
    optimum of the objective that prices every lead at its place in the queue."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    reps = [Rep(id=f"r{j}", capacity=int(rng.integers(0, 4)), untouched=int(rng.integers(0, 3)),
                handling_minutes=float(rng.choice([0.0, 5.0, 20.0])),
                territories=tuple(rng.choice(["A", "B"], size=int(rng.integers(1, 3)), replace=False)))
            for j in range(m)]
    leads = [Lead(id=f"l{i}", value=float(rng.integers(1, 100)), territory=str(rng.choice(["A", "B"])),
                  owner_id=f"r{int(rng.integers(0, m))}" if rng.random() < 0.2 else "")
             for i in range(n)]
    policy = Policy(fairness={"weight": float(rng.choice([0.0, 1.0]))},
                    speed={"slots": int(rng.choice([1, 2, 8])), "half_life_minutes": 15})
    table = compile_reps(reps)
    if seed % 2:  # shifts: some reps off, back within hours, queues running past the shift's end
        on = rng.random(m) < 0.5
        wait = np.where(on, 0.0, rng.uniform(10, 600, m))
        table = dataclasses.replace(table, available=on, shifts=(wait, rng.uniform(5, 60, m),
                                                                 rng.uniform(60, 900, m)))
    problem = compile_problem(table, leads, policy)
    solution = solve(problem, "flow")
    placed, objective = brute_force(problem)
    assert int((solution.owner >= 0).sum()) == placed
    assert problem.objective(solution.owner) == pytest.approx(objective, rel=1e-9, abs=1e-9)
    assert solution.status is Status.OPTIMAL


def test_a_policy_blind_to_queues_does_not_claim_optimal_when_leads_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy whose model prices every lead at its rep's first slot (CP-SAT without its queue
    places) is proven for that only: a bound on the true objective, not a proof of it. CP-SAT
    itself (effort 2: flow cannot take the batch) models the places and proves the optimum."""
    from solver.policies import registry
    from solver.policies.cpsat_model import CpSatModel
    from solver.policies.cpsat_params import policy_solver

    def first_slot_only(problem: Problem) -> registry.Solution:
        built = CpSatModel(problem, queue_places=False).add_constraints()
        solver = policy_solver(5.0, 1, 0)
        assert solver.solve(built.model) == 4  # OPTIMAL, for the first-slot worth
        return registry.Solution(built.owner(solver), Status.OPTIMAL)

    monkeypatch.setitem(registry._REGISTRY, "blind", registry.PolicySpec(
        name="blind", solve=first_slot_only, groups_accounts=True, models_queues=False))
    reps = [Rep(id="a", capacity=10), Rep(id="b", capacity=2)]
    leads = [Lead(id=f"l{i}", value=10 + i, effort=2) for i in range(3)]
    problem = compile_problem(reps, leads, Policy())
    assert problem.queues
    blind = solve(problem, "blind")
    assert blind.status is Status.FEASIBLE
    assert "queue positions" in str(blind.stats.get("inexact"))
    placed, objective = brute_force(problem)
    assert problem.objective(blind.owner) < objective - 1e-6  # all three to a: the worse answer
    solution = solve(problem, "cpsat")
    assert solution.status is Status.OPTIMAL
    assert int((solution.owner >= 0).sum()) == placed
    assert solution.objective == pytest.approx(objective, rel=1e-9)


def test_the_urgent_paths_patched_terms_equal_a_full_recompute() -> None:
    rng = np.random.default_rng(7)
    m, speed = 50, Speed(half_life_minutes=20, floor=0.1)
    response, handling = rng.uniform(1, 30, m), rng.uniform(0, 15, m)
    cached = AlwaysOnTerms(response, handling, speed)
    untouched = np.zeros(m, dtype=np.int64)
    for step in range(200):
        if step % 50 == 49:
            untouched = rng.integers(0, 5, m)  # many reps at once: recomputed whole
        else:
            untouched[rng.integers(0, m)] += 1
        got = cached.terms(untouched)
        fresh = SpeedTerms.of(RepTiming.always_on(response + untouched * handling, handling), speed)
        np.testing.assert_allclose(got.factor, fresh.factor, rtol=1e-12)


def test_with_no_policy_a_batch_spreads_over_equal_reps() -> None:
    """Defaults that do no harm: identical reps, no policy file, 300 leads: each rep's next lead
    waits behind the ones it was given, so they spread (with speed off, ties piled them up)."""
    from collections import Counter

    from solver import assign

    reps = [Rep(id=f"r{j:02d}", capacity=20) for j in range(30)]
    leads = [Lead(id=f"l{i}", value=float(100 + i % 7)) for i in range(300)]
    counts = Counter(a.rep_id for a in assign(reps, leads).assignments)
    assert sorted(counts.values()) == [10] * 30
    static = Counter(a.rep_id for a in assign(reps, leads, Policy(speed={"enabled": False})).assignments)
    assert min(static.get(r.id, 0) for r in reps) == 0


def test_greedy_prices_the_place_a_lead_takes_in_the_queue() -> None:
    reps = [Rep(id="a", capacity=10, skills={"fin": 1.1}), Rep(id="b", capacity=10)]
    leads = [Lead(id=f"l{i}", value=100, industry="fin") for i in range(4)]
    owner = solve(compile_problem(reps, leads, Policy()), "greedy").owner
    assert owner.tolist() == [0, 1, 0, 1]  # 10% more skill is worth less than 10 minutes' wait
    static = solve(compile_problem(reps, leads, Policy(speed={"enabled": False})), "greedy").owner
    assert static.tolist() == [0, 0, 0, 0]


def test_deep_queues_past_the_arc_budget_are_priced_and_said_to_be_unproven() -> None:
    """2,000 leads over 20 reps with room for 200 each: exact places would need 100 slots per
    rep and pair (4 million arcs); the budget stops the slots, the tail prices the rest at a
    mean lead's worth, and the answer says it is not proven."""
    from solver.policies import flow

    rng = np.random.default_rng(0)
    reps = [Rep(id=f"r{j}", capacity=200) for j in range(20)]
    leads = [Lead(id=f"l{i}", value=float(rng.integers(50, 150))) for i in range(2000)]
    problem = compile_problem(reps, leads, Policy())
    solution = solve(problem, "flow")
    assert solution.status is Status.FEASIBLE and "arc budget" in str(solution.stats["inexact"])
    assert int(solution.stats["arcs"]) < flow.slot_arc_budget(2000 * 20) + 50_000
    assert (solution.owner >= 0).all() and not problem.violations(solution.owner)
    counts = np.bincount(solution.owner, minlength=20)
    assert counts.min() >= 90 and counts.max() <= 110  # the queue spreads them
