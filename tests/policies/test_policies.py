"""Every policy, on the same tests: conservation, hard rules, capacity, owner rule.

The rule check here is re-derived from the records (not from the compiled
eligibility mask), so a compile bug cannot hide behind a policy that merely
follows the mask.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.bench.oracle import lp_optimum
from solver.compile.problem import compile_problem, with_prices
from solver.domain.model import Lead, Policy, Rep
from solver.policies import solve
from tests.conftest import random_instance


def record_violations(reps: list[Rep], leads: list[Lead], policy: Policy, owner: np.ndarray) -> list[str]:
    """Hard-rule violations of an owner vector, from the records alone."""
    problems = []
    by_id = {r.id: j for j, r in enumerate(reps)}
    used = [r.open_leads for r in reps]
    forced_use = [0] * len(reps)
    for i, lead in enumerate(leads):
        j = int(owner[i])
        owner_rep = by_id.get(lead.owner_id)
        if policy.rules.account_owner == "hard" and owner_rep is not None and reps[owner_rep].available:
            if j != owner_rep:
                problems.append(f"{lead.id}: not with its account owner")
            forced_use[j] += lead.effort
            continue
        if j < 0:
            continue
        rep = reps[j]
        used[j] += lead.effort
        if not rep.available:
            problems.append(f"{lead.id}: given to unavailable {rep.id}")
        if policy.rules.territory == "hard" and rep.territories and "*" not in rep.territories \
                and lead.territory not in rep.territories:
            problems.append(f"{lead.id}: territory")
        if policy.rules.segment == "hard" and rep.segments and lead.segment not in rep.segments:
            problems.append(f"{lead.id}: segment")
        if policy.rules.industry == "hard" and rep.industries and lead.industry not in rep.industries:
            problems.append(f"{lead.id}: industry")
    for j, rep in enumerate(reps):
        # Owner-rule leads may push past capacity; everything else must fit in what is left.
        if used[j] > max(rep.capacity - forced_use[j], rep.open_leads):
            problems.append(f"{rep.id}: over capacity ({used[j]} > {rep.capacity})")
    return problems


def test_record_checker_catches_planted_violations() -> None:
    reps = [Rep(id="eu", territories=("EU",), capacity=1), Rep(id="off", capacity=5, available=False)]
    leads = [Lead(id="us", territory="US", value=1), Lead(id="a", territory="EU", value=1),
             Lead(id="b", territory="EU", value=1)]
    policy = Policy()
    assert record_violations(reps, leads, policy, np.array([-1, 0, -1])) == []
    assert len(record_violations(reps, leads, policy, np.array([0, -1, -1]))) == 1  # territory
    assert len(record_violations(reps, leads, policy, np.array([-1, 0, 0]))) == 1  # capacity
    assert len(record_violations(reps, leads, policy, np.array([-1, 1, -1]))) == 1  # unavailable


POLICIES_FOR_RULES = [
    Policy(),
    Policy(rules={"industry": "hard", "segment": "soft"}, fairness={"weight": 1.0}),
    Policy(rules={"territory": "soft", "account_owner": "soft"}, fairness={"weight": 0.3}),
]


def random_prices(rng: np.random.Generator, problem) -> np.ndarray:
    """Seat prices on the scale of the leads' values, some reps free of charge."""
    scale = float(problem.value.max(initial=1.0))
    return np.where(rng.random(problem.m) < 0.3, 0.0, rng.uniform(0, scale, problem.m))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 25), m=st.integers(1, 8),
       which=st.integers(0, len(POLICIES_FOR_RULES) - 1), priced=st.booleans())
def test_conservation_and_hard_rules(policy_name: str, seed: int, n: int, m: int, which: int,
                                     priced: bool) -> None:
    """Also with seat prices (the online router's priced batches), which only restrict."""
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n, m)
    policy = POLICIES_FOR_RULES[which].model_copy(update={"solver": policy_name})
    problem = compile_problem(reps, leads, policy)
    if priced:
        problem = with_prices(problem, random_prices(rng, problem), defer=True)
    solution = solve(problem, policy_name)
    owner = solution.owner
    assert owner.shape == (n,)  # every lead comes out exactly once
    assert owner.dtype.kind == "i"
    assert np.all((owner >= -1) & (owner < m))
    assert record_violations(reps, leads, policy, owner) == []
    assert problem.violations(owner) == []


def test_every_lead_placed_when_room_is_plenty(policy_name: str) -> None:
    """Plenty of room, every lead admissible: no policy leaves one out."""
    reps = [Rep(id=f"r{j}", capacity=10) for j in range(3)]
    leads = [Lead(id=f"l{i}", value=10 + i) for i in range(12)]
    owner = solve(compile_problem(reps, leads, Policy()), policy_name).owner
    assert np.all(owner >= 0)


def test_deterministic(policy_name: str) -> None:
    rng = np.random.default_rng(5)
    reps, leads = random_instance(rng, 40, 6)
    policy = Policy(solver=policy_name, fairness={"weight": 0.5}, seed=3)
    first = solve(compile_problem(reps, leads, policy), policy_name).owner
    second = solve(compile_problem(reps, leads, policy), policy_name).owner
    np.testing.assert_array_equal(first, second)


def test_owner_rule_beats_capacity(policy_name: str) -> None:
    reps = [Rep(id="a", capacity=1, open_leads=1), Rep(id="b", capacity=5)]
    leads = [Lead(id="x", value=5, owner_id="a"), Lead(id="y", value=50)]
    owner = solve(compile_problem(reps, leads, Policy()), policy_name).owner
    assert owner.tolist() == [0, 1]


def test_unavailable_owner_falls_back_to_routing(policy_name: str) -> None:
    reps = [Rep(id="a", capacity=5, available=False), Rep(id="b", capacity=5)]
    leads = [Lead(id="x", value=5, owner_id="a")]
    owner = solve(compile_problem(reps, leads, Policy()), policy_name).owner
    assert owner.tolist() == [1]


# --- exactness of flow ---------------------------------------------------------------


def brute_force(problem) -> tuple[int, float]:
    """Best (placed, objective) over every owner vector: the lexicographic optimum."""
    best = (-1, -np.inf)
    for combo in itertools.product(range(-1, problem.m), repeat=problem.n):
        owner = np.array(combo, dtype=np.int64)
        if problem.violations(owner):
            continue
        key = (int((owner >= 0).sum()), problem.objective(owner))
        if key[0] > best[0] or (key[0] == best[0] and key[1] > best[1] + 1e-9):
            best = key
    return best


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 3),
       weight=st.sampled_from([0.0, 0.5, 3.0]), soft=st.booleans(),
       priced=st.sampled_from([None, "defer", "net"]))
def test_flow_matches_brute_force(seed: int, n: int, m: int, weight: float, soft: bool,
                                  priced: str | None) -> None:
    """`priced`: seat prices that keep leads off seats they cannot pay for, or only net the profit
    (negative net profits: flow still places first, then maximises the net)."""
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n, m)
    rules = {"segment": "soft", "account_owner": "soft"} if soft else {}
    problem = compile_problem(reps, leads, Policy(fairness={"weight": weight}, rules=rules))
    if priced:
        problem = with_prices(problem, random_prices(rng, problem), defer=priced == "defer")
    solution = solve(problem, "flow")
    placed, objective = brute_force(problem)
    assert int((solution.owner >= 0).sum()) == placed
    assert solution.objective == pytest.approx(objective, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("priced", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_flow_equals_lp_optimum(seed: int, priced: bool) -> None:
    """Unit effort, hard rules, fairness 0: a transportation problem, whose LP is integral
    (with seat prices too: they only change the profits and remove pairs)."""
    from solver.bench.synthetic import make_instance

    inst = make_instance(300 + 100 * seed, 40, tightness=0.7 + 0.2 * seed, density=0.3,
                         owner_share=0.05, seed=seed)
    problem = compile_problem(inst.reps, inst.leads, inst.policy)
    if priced:
        problem = with_prices(problem, 0.3 * random_prices(np.random.default_rng(seed), problem), defer=True)
    solution = solve(problem, "flow")
    lp = lp_optimum(problem)
    assert lp.exact  # unit effort: the LP optimum is integral, not only a bound
    assert int((solution.owner >= 0).sum()) == pytest.approx(lp.placed, abs=1e-6)
    assert problem.total_profit(solution.owner) == pytest.approx(lp.profit, rel=1e-9)


def test_flow_rejects_non_unit_effort() -> None:
    reps = [Rep(id="a", capacity=5)]
    leads = [Lead(id="x", value=5, effort=2)]
    with pytest.raises(ValueError, match="unit effort"):
        solve(compile_problem(reps, leads, Policy()), "flow")


def test_fairness_weight_trades_value_for_balance() -> None:
    """One star rep with all the skill: weight 0 piles leads on it, a high weight spreads them."""
    reps = [Rep(id="star", capacity=20, skills={"sw": 3.0}), Rep(id="b", capacity=20),
            Rep(id="c", capacity=20)]
    leads = [Lead(id=f"l{i}", value=100, industry="sw") for i in range(12)]
    from solver.compile import fairness

    results = {}
    for weight in (0.0, 5.0):
        problem = compile_problem(reps, leads, Policy(fairness={"weight": weight}))
        owner = solve(problem, "flow").owner
        results[weight] = (problem.total_value(owner),
                           fairness.jain_index(problem.loads(owner), problem.share))
    assert results[0.0][0] > results[5.0][0]
    assert results[5.0][1] > results[0.0][1]
    assert results[5.0][1] == pytest.approx(1.0)  # 12 leads over 3 equal reps: 4 each


def test_greedy_prefers_higher_value_rep() -> None:
    reps = [Rep(id="a", capacity=5, skills={"sw": 0.5}), Rep(id="b", capacity=5, skills={"sw": 2.0})]
    leads = [Lead(id="x", value=100, industry="sw")]
    assert solve(compile_problem(reps, leads, Policy()), "greedy").owner.tolist() == [1]


def test_round_robin_rotates() -> None:
    reps = [Rep(id=f"r{j}", capacity=5) for j in range(3)]
    leads = [Lead(id=f"l{i}", value=1) for i in range(6)]
    assert solve(compile_problem(reps, leads, Policy()), "round_robin").owner.tolist() == [0, 1, 2, 0, 1, 2]


def test_weighted_round_robin_follows_quota_weight() -> None:
    reps = [Rep(id="a", capacity=50, quota_weight=3), Rep(id="b", capacity=50, quota_weight=1)]
    leads = [Lead(id=f"l{i}", value=1) for i in range(40)]
    owner = solve(compile_problem(reps, leads, Policy()), "weighted_round_robin").owner
    assert np.bincount(owner).tolist() == [30, 10]


def test_rules_cascade_order() -> None:
    """High score -> most senior; else industry specialist; else territory rep; else rotation."""
    reps = [
        Rep(id="senior", capacity=9, seniority=3),
        Rep(id="spec", capacity=9, industries=("fin",), territories=("*",)),
        Rep(id="terr", capacity=9, territories=("EU",)),
        Rep(id="any", capacity=9),
    ]
    leads = [
        Lead(id="hot", value=1, score=0.95, industry="fin", territory="EU"),
        Lead(id="fin", value=1, score=0.2, industry="fin", territory="EU"),
        Lead(id="eu", value=1, score=0.2, industry="retail", territory="EU"),
    ]
    policy = Policy(rules={"industry": "off"})
    owner = solve(compile_problem(reps, leads, policy), "rules").owner
    assert owner.tolist() == [0, 1, 2]


def test_least_loaded_picks_emptiest() -> None:
    reps = [Rep(id="a", capacity=9, open_leads=3), Rep(id="b", capacity=9, open_leads=1)]
    leads = [Lead(id=f"l{i}", value=1) for i in range(3)]
    owner = solve(compile_problem(reps, leads, Policy()), "least_loaded").owner
    assert owner.tolist() == [1, 1, 0]


def test_random_depends_on_seed() -> None:
    reps = [Rep(id=f"r{j}", capacity=99) for j in range(5)]
    leads = [Lead(id=f"l{i}", value=1) for i in range(30)]
    a = solve(compile_problem(reps, leads, Policy(seed=1)), "random").owner
    b = solve(compile_problem(reps, leads, Policy(seed=2)), "random").owner
    assert not np.array_equal(a, b)


def test_rotations_carry_over_between_batches() -> None:
    """A rotation resumes where the last batch left it: one-lead batches still go round."""
    from dataclasses import replace

    from solver.compile.scoring import compile_reps

    table = compile_reps([Rep(id=f"r{j}", capacity=9, quota_weight=w) for j, w in enumerate((1, 1, 2))])
    for name, expected in (("round_robin", [0, 1, 2, 0]), ("weighted_round_robin", [2, 0, 1, 2])):
        state = table
        chosen = []
        for i in range(4):
            problem = compile_problem(state, [Lead(id=f"l{i}", value=1)], Policy())
            solution = solve(problem, name)
            chosen.append(int(solution.owner[0]))
            state = replace(state, rotation=solution.rotation)
        assert chosen == expected, name
