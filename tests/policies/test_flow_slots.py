"""Flow's queue slots against the network with every place explicit (`flow.all_places`).

(One slot, `speed.slots: 1`, turns positions off: every lead earns its rep's next slot.)

`solve_flow` models `speed.slots` places per rep and prices a rep's further places by a bound
(its least valuable lead), deepening the reps whose last slot took more than one lead until
none does. Whatever the first depth and however many rounds it takes, an answer it calls
optimal must be worth what the all-places network finds, on every kind of input it takes:
fairness on or off, capped teams, owner-rule leads ahead in the queue, reps off shift, reps
that do not queue (no handling time), one slot or many.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.compile.problem import compile_problem
from solver.compile.scoring import compile_reps
from solver.domain.model import Lead, Policy, Rep
from solver.policies import Status, flow, solve
from tests.policies.test_policies import brute_force

# A decay table flat up to 20 minutes, between 40 and 50 and past 60: places of equal worth.
FLAT_TABLE = ((20.0, 1.0), (40.0, 0.6), (50.0, 0.6), (60.0, 0.4))


def queued_batch(rng: np.random.Generator, n: int, m: int, slots: int, weight: float, capped: bool,
                 shifts: bool, table: bool = False) -> tuple[object, Policy]:
    """A batch whose reps queue: capacity up to 6 (a fifth 30), some leads held untouched, handling 0-20 minutes,
    a fifth of the leads owned (they go first in their owner's queue), values 1 to 10^4; `table`:
    decay by `FLAT_TABLE`, not a half-life."""
    # a fifth of the reps with room for more leads than the batch may give them (a 30-minute window
    # on the shifts team: deepening such a rep, already full depth, looped for ever)
    reps = [Rep(id=f"r{j}", capacity=int(rng.integers(0, 7)) if rng.random() < 0.8 else 30,
                untouched=int(rng.integers(0, 3)),
                handling_minutes=float(rng.choice([0.0, 5.0, 20.0])),
                territories=tuple(rng.choice(["A", "B", "C"], size=int(rng.integers(1, 4)), replace=False)))
            for j in range(m)]
    leads = [Lead(id=f"l{i}", value=float(np.exp(rng.uniform(0, np.log(1e4)))),
                  territory=str(rng.choice(["A", "B", "C"])),
                  owner_id=f"r{int(rng.integers(0, m))}" if rng.random() < 0.2 else "")
             for i in range(n)]
    teams = []
    if capped:
        members = [f"r{j}" for j in range(m) if rng.random() < 0.6] or ["r0"]
        teams = [{"id": "t", "members": members, "capacity": int(rng.integers(0, n + 1))}]
    speed = {"slots": slots, **({"table": FLAT_TABLE} if table else {"half_life_minutes": 15})}
    policy = Policy.model_validate({"fairness": {"weight": weight}, "teams": teams, "speed": speed})
    table = compile_reps(reps)
    if shifts:  # some reps off, back within hours, queues running past the shift's end
        on = rng.random(m) < 0.5
        wait = np.where(on, 0.0, rng.uniform(10, 600, m))
        table = dataclasses.replace(table, available=on, shifts=(wait, rng.uniform(5, 60, m),
                                                                 rng.uniform(60, 900, m)))
    return compile_problem(table, leads, policy), policy


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), m=st.integers(1, 6),
       slots=st.sampled_from([1, 2, 3, 3, 8]), weight=st.sampled_from([0.0, 1.0]), capped=st.booleans(),
       shifts=st.booleans(), table=st.booleans())
def test_flow_with_slots_is_worth_what_every_place_explicit_finds(
        seed: int, n: int, m: int, slots: int, weight: float, capped: bool, shifts: bool, table: bool) -> None:
    problem, _ = queued_batch(np.random.default_rng(seed), n, m, slots, weight, capped, shifts, table)
    solution = solve(problem, "flow")
    reference = flow.all_places(problem)
    assert not problem.violations(solution.owner)
    assert int((solution.owner >= 0).sum()) == int((reference >= 0).sum())
    assert solution.status is Status.OPTIMAL
    assert solution.objective == pytest.approx(problem.objective(reference), rel=1e-9, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 3),
       slots=st.sampled_from([2, 3, 8]), weight=st.sampled_from([0.0, 1.0]), capped=st.booleans(),
       shifts=st.booleans())
def test_merged_slots_match_brute_force(seed: int, n: int, m: int, slots: int, weight: float, capped: bool,
                                        shifts: bool) -> None:
    """Brute force prices every lead at its place in the queue, knowing nothing of slots: flat
    stretches of a decay table and reps without handling time merged into one slot change no
    answer."""
    problem, _ = queued_batch(np.random.default_rng(seed), n, m, slots, weight, capped, shifts, table=True)
    solution = solve(problem, "flow")
    placed, objective = brute_force(problem)
    assert solution.status is Status.OPTIMAL
    assert int((solution.owner >= 0).sum()) == placed
    assert problem.objective(solution.owner) == pytest.approx(objective, rel=1e-9, abs=1e-6)


def test_two_slots_deepen_until_no_rep_overflows_and_end_at_the_optimum() -> None:
    """Two places modelled, reps that take three or four leads each: the first network's tails
    carry several leads, so the certificate fails and the overflowing reps are deepened
    (re-solved) until it holds; the answer is the brute-force optimum with every place priced."""
    reps = [Rep(id=f"r{j}", capacity=4 - j, handling_minutes=20.0, skills={"fin": 1.0 + 0.2 * j})
            for j in range(2)]
    leads = [Lead(id=f"l{i}", value=float(v), industry="fin") for i, v in enumerate((90, 70, 60, 40, 30, 10, 5))]
    problem = compile_problem(reps, leads, Policy(speed={"slots": 2, "half_life_minutes": 15}))
    solution = solve(problem, "flow")
    assert int(solution.stats["slot_resolves"]) >= 1
    assert solution.status is Status.OPTIMAL
    placed, objective = brute_force(problem)
    assert int((solution.owner >= 0).sum()) == placed
    assert solution.objective == pytest.approx(objective, rel=1e-9)
    assert solution.objective == pytest.approx(problem.objective(flow.all_places(problem)), rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_medium_batches_with_few_slots_match_every_place_explicit(seed: int) -> None:
    """Hundreds of leads over reps that take up to 12 each, modelled two places deep at first:
    several deepening rounds, the same worth as every place explicit."""
    from solver.bench.synthetic import make_instance

    inst = make_instance(150 + 50 * seed, 15, tightness=0.6 + 0.3 * seed, density=0.4, owner_share=0.05,
                         seed=seed)
    policy = inst.policy.model_copy(update={"speed": inst.policy.speed.model_copy(update={"slots": 2})})
    problem = compile_problem(inst.reps, inst.leads, policy)
    solution = solve(problem, "flow")
    assert solution.status is Status.OPTIMAL
    reference = flow.all_places(problem)
    assert int((solution.owner >= 0).sum()) == int((reference >= 0).sum())
    assert solution.objective == pytest.approx(problem.objective(reference), rel=1e-9)


def test_places_of_equal_worth_share_one_slot() -> None:
    """A decay table flat up to 20 minutes and past 50: with 10 minutes a lead, a rep's first three
    places keep all of a lead's worth and its sixth onwards the table's last share, so each run
    is one slot node taking as many leads (four arcs a pair: places 0-2, 3, 4, 5-9; not ten), and
    the answer is still the optimum."""
    reps = [Rep(id="a", capacity=10, response_minutes=0.0, handling_minutes=10.0)]
    leads = [Lead(id=f"l{i}", value=float(10 + 7 * i)) for i in range(10)]
    problem = compile_problem(reps, leads, Policy(speed={"table": ((20, 1.0), (35, 0.7), (50, 0.5))}))
    solution = solve(problem, "flow")
    assert solution.status is Status.OPTIMAL
    assert int(solution.stats["arcs"]) < 10 + 10 * 10  # lead -> slot arcs: 4 a pair at most
    placed, objective = brute_force(problem)
    assert int((solution.owner >= 0).sum()) == placed
    assert solution.objective == pytest.approx(objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_merged_slots_equal_the_lp_with_every_place(seed: int) -> None:
    """The LP oracle lays out every place of every rep on its own (no merging): with a decay table
    flat at both ends and half the reps not queueing at all, flow's merged slots reach its
    optimum."""
    from solver.bench.oracle import lp_optimum
    from solver.bench.synthetic import make_instance

    inst = make_instance(200 + 100 * seed, 30, tightness=0.8 + 0.4 * seed, density=0.3, owner_share=0.05,
                         seed=seed)
    reps = [r.model_copy(update={"handling_minutes": 0.0}) if j % 2 else r for j, r in enumerate(inst.reps)]
    policy = inst.policy.model_copy(update={"speed": inst.policy.speed.model_copy(
        update={"table": ((25.0, 1.0), (40.0, 0.6), (55.0, 0.4))})})
    problem = compile_problem(reps, inst.leads, policy)
    solution = solve(problem, "flow")
    lp = lp_optimum(problem)
    assert solution.status is Status.OPTIMAL and lp.exact
    assert int((solution.owner >= 0).sum()) == pytest.approx(lp.placed, abs=1e-6)
    assert problem.total_profit(solution.owner) == pytest.approx(lp.profit, rel=1e-9)


def test_a_queue_flat_to_its_end_is_modelled_whole_without_a_tail() -> None:
    """A decay table flat past 60 minutes: a rep's eighth place onwards keeps the same worth, so its
    last slot takes every further lead at its exact worth. 1,000 leads over 10 reps with room for
    100 each, which past the arc budget with a half-life curve come back unproven, are optimal in
    one solve, as with every place explicit."""
    rng = np.random.default_rng(0)
    reps = [Rep(id=f"r{j}", capacity=100, response_minutes=10.0, handling_minutes=10.0) for j in range(10)]
    leads = [Lead(id=f"l{i}", value=float(rng.integers(50, 150))) for i in range(1000)]
    problem = compile_problem(reps, leads, Policy(speed={"table": ((0, 1.0), (60, 0.3))}))
    solution = solve(problem, "flow")
    assert solution.status is Status.OPTIMAL
    assert solution.stats["slot_resolves"] == 0
    assert int(solution.stats["arcs"]) <= 1000 + 10 * 1000 * 6 + 200  # 6 slots a pair: places 0-4, 5-99
    assert solution.objective == pytest.approx(problem.objective(flow.all_places(problem)), rel=1e-9)


def test_a_flat_queue_matches_the_lp_with_every_place() -> None:
    """The same flat end checked against the LP oracle, which lays out every place on its own."""
    from solver.bench.oracle import lp_optimum

    rng = np.random.default_rng(1)
    reps = [Rep(id=f"r{j}", capacity=40, response_minutes=10.0, handling_minutes=10.0,
                skills={"fin": float(rng.uniform(0.8, 1.2))}) for j in range(4)]
    leads = [Lead(id=f"l{i}", value=float(rng.integers(50, 150)), industry="fin") for i in range(150)]
    problem = compile_problem(reps, leads, Policy(speed={"table": ((0, 1.0), (60, 0.3)), "slots": 3}))
    solution = solve(problem, "flow")
    lp = lp_optimum(problem)
    assert solution.status is Status.OPTIMAL and lp.exact
    assert int((solution.owner >= 0).sum()) == pytest.approx(lp.placed, abs=1e-6)
    assert problem.total_profit(solution.owner) == pytest.approx(lp.profit, rel=1e-9)


def test_a_rep_modelled_to_its_full_depth_takes_no_more_in_its_last_slot_than_it_has_places() -> None:
    """Room for 30, nine leads it may take: modelled nine places deep, the rest of its room let
    leads crowd its last slot past emptier places (tied once costs were rounded), the slot
    'overflowed', and deepening, with nothing deeper to model, rebuilt the same network for ever:
    a 30-minute batch window on the shifts scenario never ended."""
    reps = [Rep(id="a", capacity=30, handling_minutes=1e-12), Rep(id="b", capacity=30, handling_minutes=20.0)]
    leads = [Lead(id=f"l{i}", value=float(v)) for i, v in enumerate((783, 785, 381, 20, 408, 538, 1671, 178, 516))]
    problem = compile_problem(reps, leads, Policy(speed={"slots": 2, "half_life_minutes": 15}))
    _, args = flow._batch(problem)
    assert args is not None
    network = flow._Network(*args, depth=np.array([9, 2]))  # a at full depth, b with a tail
    assert network.fillable[0] == 9 and network.depth[0] == 9
    last = int(network.last_slot_arc[0])
    assert network.smcf.capacity(last) == network.last_slot_places[0]  # was 30 - 8 = 22
    network.solve()
    assert not network.overflow()[0]  # a rep with no tail is never deepened
    solution = solve(problem, "flow")
    assert solution.status is Status.OPTIMAL
    assert solution.objective == pytest.approx(problem.objective(flow.all_places(problem)), rel=1e-9)
