"""Every policy under routing rules and teams: hard rules never broken, team caps never exceeded.

The checks re-derive what they can from the records: the built-in rules and rep
capacity (`record_violations`), team caps from the policy's team lists, and
the routing rules from `evaluate` run on its own (itself checked against a
per-lead reference in tests/compile/test_rules.py), never from `Problem.eligible`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.bench.oracle import lp_optimum
from solver.compile.problem import compile_problem
from solver.compile.rules import (
    LeadTable,
    compile_rule_set,
    evaluate,
    lead_columns,
    rep_attributes,
    rule_inputs,
)
from solver.domain.model import Lead, Policy, Rep
from solver.policies import solve
from tests.conftest import random_instance
from tests.policies.test_policies import brute_force, record_violations


def random_rules(rng: np.random.Generator, m: int) -> dict[str, Any]:
    """One or two teams (some capped) and two to four rules on the leads' own fields."""
    reps = [f"r{j}" for j in range(m)]
    teams = [{"id": f"t{t}", "members": sorted(rng.choice(reps, int(rng.integers(1, m + 1)), replace=False)),
              **({"capacity": int(rng.integers(0, 4))} if rng.random() < 0.7 else {})}
             for t in range(int(rng.integers(1, 3)))]
    menu = [
        {"when": {"industry": "sw"}, "then": {"admit": {"team": "t0"}}},
        {"when": {"territory": {"in": ["N", "S"]}}, "then": {"exclude": {"reps": [str(rng.choice(reps))]}}},
        {"when": "value >= 500", "then": {"admit": {"teams": [t["id"] for t in teams]}}},
        {"when": {"segment": "ENT"}, "then": {"prefer": {"team": str(rng.choice([t["id"] for t in teams]))}},
         "weight": 0.4},
        {"when": {"industry": "hw"}, "then": {"admit": {"reps": sorted(rng.choice(reps, 1))}}, "mode": "soft"},
        {"then": {"exclude": {"reps": [str(rng.choice(reps))]}}, "mode": "off"},
    ]
    picked = rng.choice(len(menu), int(rng.integers(2, 5)), replace=False)
    rules = [{"name": f"rule {k}", **menu[k]} for k in sorted(picked)]
    return {"teams": teams, "routing_rules": rules}


def routing_violations(reps: list[Rep], leads: list[Lead], policy: Policy, owner: np.ndarray) -> list[str]:
    """Routing-rule and team-cap breaks of an owner vector, from the records and `evaluate`."""
    rule_set = policy.rule_set
    fields, attrs = rule_inputs(rule_set)
    compiled = compile_rule_set(rule_set, [r.id for r in reps], rep_attributes(reps, names=attrs))
    admit = evaluate(compiled, LeadTable.of(lead_columns(leads, names=fields | {"id"})),
                     default_weight=policy.soft_penalty).admit
    by_id = {r.id: j for j, r in enumerate(reps)}

    def forced(lead: Lead) -> bool:
        j = by_id.get(lead.owner_id)
        return policy.rules.account_owner == "hard" and j is not None and reps[j].available

    problems = [f"{lead.id}: against the routing rules"
                for i, lead in enumerate(leads) if owner[i] >= 0 and not forced(lead) and not admit[i, owner[i]]]
    for team in policy.teams:
        if team.capacity is None:
            continue
        members = {by_id[r] for r in team.members}
        kept = sum(lead.effort for i, lead in enumerate(leads) if forced(lead) and owner[i] in members)
        routed = sum(lead.effort for i, lead in enumerate(leads) if not forced(lead) and owner[i] in members)
        held = sum(reps[j].open_leads for j in members)
        if routed and held + kept + routed > team.capacity:
            problems.append(f"team {team.id}: {held} + {kept} + {routed} > {team.capacity}")
    return problems


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 20), m=st.integers(1, 6))
def test_conservation_hard_rules_and_team_caps_with_random_rules(policy_name: str, seed: int, n: int,
                                                                  m: int) -> None:
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n, m)
    policy = Policy.model_validate({**random_rules(rng, m), "fairness": {"weight": float(rng.choice([0, 1]))}})
    solution = solve(compile_problem(reps, leads, policy), policy_name)
    owner = solution.owner
    assert owner.shape == (n,) and np.all((owner >= -1) & (owner < m))  # every lead once
    assert record_violations(reps, leads, policy, owner) == []
    assert routing_violations(reps, leads, policy, owner) == []


def test_routing_checker_catches_a_planted_team_cap_and_rule_break() -> None:
    reps = [Rep(id="a", capacity=5), Rep(id="b", capacity=5)]
    leads = [Lead(id="x", value=1, industry="sw"), Lead(id="y", value=1)]
    policy = Policy.model_validate({"teams": [{"id": "t", "members": ["a"], "capacity": 1}], "routing_rules": [
        {"name": "sw", "when": {"industry": "sw"}, "then": {"admit": {"team": "t"}}}]})
    assert routing_violations(reps, leads, policy, np.array([0, 1])) == []
    assert len(routing_violations(reps, leads, policy, np.array([1, -1]))) == 1  # rule
    assert len(routing_violations(reps, leads, policy, np.array([0, 0]))) == 1  # team cap


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 3),
       weight=st.sampled_from([0.0, 1.0]))
def test_flow_and_cpsat_match_brute_force_with_a_team_cap(seed: int, n: int, m: int, weight: float) -> None:
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n, m)
    reps = [r.model_copy(update={"capacity": 3}) for r in reps]  # the team cap is what binds
    members = [f"r{j}" for j in range(m) if rng.random() < 0.7] or ["r0"]
    policy = Policy.model_validate({
        "teams": [{"id": "t", "members": members, "capacity": int(rng.integers(0, 3))}],
        "routing_rules": [{"name": "sw to t", "when": {"industry": "sw"}, "then": {"admit": {"team": "t"}}},
                          {"name": "prefer t", "then": {"prefer": {"team": "t"}}, "weight": 0.3}],
        "fairness": {"weight": weight}})
    problem = compile_problem(reps, leads, policy)
    placed, objective = brute_force(problem)
    for name in ("flow", "cpsat"):
        solution = solve(problem, name)
        assert problem.violations(solution.owner) == []
        assert int((solution.owner >= 0).sum()) == placed, name
        assert problem.objective(solution.owner) == pytest.approx(objective, rel=1e-6, abs=1e-6), name


def test_overlapping_team_caps_are_honoured_and_flow_places_every_lead_that_fits() -> None:
    """r1, the best rep, is in both capped teams: the network routes it through its first team
    only, so its answer trimmed to the second cap left a lead out; flow hands the batch to CP-SAT."""
    reps = [Rep(id="r0", capacity=5), Rep(id="r1", capacity=5, skills={"sw": 2.0}), Rep(id="r2", capacity=5)]
    leads = [Lead(id=f"l{i}", value=10 + i, industry="sw") for i in range(6)]
    teams = [{"id": "a", "members": ["r0", "r1"], "capacity": 2}, {"id": "b", "members": ["r1", "r2"], "capacity": 1}]
    for speed in (True, False):
        problem = compile_problem(reps, leads, Policy.model_validate({"teams": teams, "speed": {"enabled": speed}}))
        flow = solve(problem, "flow")
        assert problem.violations(flow.owner) == [] and int((flow.owner >= 0).sum()) == 3
        assert "cpsat" in str(flow.stats["delegated"])
        placed, objective = brute_force(problem)
        assert placed == 3
        if speed:  # CP-SAT prices each rep's first place only: no claim of the queue's optimum
            assert flow.status == "feasible" or problem.objective(flow.owner) == pytest.approx(objective)
        else:
            assert flow.status == "optimal" and problem.objective(flow.owner) == pytest.approx(objective)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(2, 3))
def test_flow_matches_brute_force_with_overlapping_team_caps(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n, m)
    reps = [r.model_copy(update={"capacity": 3}) for r in reps]
    teams = [{"id": "a", "members": ["r0", "r1"], "capacity": int(rng.integers(0, 3))},
             {"id": "b", "members": [f"r{j}" for j in range(1, m)], "capacity": int(rng.integers(0, 3))}]
    for speed in (False, True):  # with queues priced CP-SAT keeps the count, not the queue's optimum
        problem = compile_problem(reps, leads, Policy.model_validate({"speed": {"enabled": speed},
                                                                      "teams": teams}))
        placed, objective = brute_force(problem)
        solution = solve(problem, "flow")
        assert problem.violations(solution.owner) == []
        assert int((solution.owner >= 0).sum()) == placed
        if not speed:
            assert problem.objective(solution.owner) == pytest.approx(objective, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_flow_equals_lp_optimum_with_rules(seed: int) -> None:
    from solver.bench.synthetic import make_instance

    inst = make_instance(300, 40, tightness=0.8, density=0.3, owner_share=0.05, seed=seed)
    reps = [r.id for r in inst.reps]
    rules = Policy.model_validate({
        **inst.policy.model_dump(exclude={"teams", "routing_rules", "derived"}),
        "teams": [{"id": "half", "members": reps[::2]}],
        "routing_rules": [
            {"name": "big to half", "when": {"value": {"ge": 5000}}, "then": {"admit": {"team": "half"}}},
            {"name": "no r3", "when": {"industry": {"not_in": ["software"]}},
             "then": {"exclude": {"reps": [reps[3]]}}},
            {"name": "prefer half", "then": {"prefer": {"team": "half"}}, "weight": 0.2}]})
    problem = compile_problem(inst.reps, inst.leads, rules)
    assert problem.rules is not None and problem.rules.applies.any()
    solution = solve(problem, "flow")
    lp = lp_optimum(problem)
    assert lp.exact
    assert int((solution.owner >= 0).sum()) == pytest.approx(lp.placed, abs=1e-6)
    assert problem.total_profit(solution.owner) == pytest.approx(lp.profit, rel=1e-9)


def test_a_lead_admitted_to_a_team_goes_to_a_member_within_the_teams_cap(policy_name: str) -> None:
    reps = [Rep(id=f"r{j}", capacity=10) for j in range(4)]
    leads = [Lead(id=f"l{i}", value=100, industry="sw") for i in range(5)]
    policy = Policy.model_validate({"teams": [{"id": "t", "members": ["r1", "r2"], "capacity": 3}],
                                    "routing_rules": [{"name": "sw to t", "when": {"industry": "sw"},
                                                       "then": {"admit": {"team": "t"}}}]})
    owner = solve(compile_problem(reps, leads, policy), policy_name).owner
    assert set(owner[owner >= 0].tolist()) <= {1, 2} and int((owner >= 0).sum()) == 3


@pytest.mark.parametrize("name", ["round_robin", "weighted_round_robin"])
def test_rotations_go_round_within_each_pool_and_carry_over(name: str) -> None:
    from dataclasses import replace

    from solver.compile.scoring import compile_reps

    reps = [Rep(id=f"r{j}", capacity=20) for j in range(4)]
    policy = Policy.model_validate({
        "teams": [{"id": "a", "members": ["r0", "r1"]}, {"id": "b", "members": ["r2", "r3"]}],
        "routing_rules": [{"name": "sw to a", "when": {"industry": "sw"}, "then": {"admit": {"team": "a"}}},
                          {"name": "hw to b", "when": {"industry": "hw"}, "then": {"admit": {"team": "b"}}}]})
    table = compile_reps(reps)
    chosen = []
    for i, industry in enumerate(itertools.islice(itertools.cycle(["sw", "sw", "hw"]), 9)):
        problem = compile_problem(table, [Lead(id=f"l{i}", value=1, industry=industry)], policy)
        solution = solve(problem, name)
        chosen.append((industry, int(solution.owner[0])))
        table = replace(table, rotation=solution.rotation)
    assert [j for ind, j in chosen if ind == "sw"] == [0, 1, 0, 1, 0, 1]
    assert [j for ind, j in chosen if ind == "hw"] == [2, 3, 2]
    assert set(table.rotation.to_dict()) == {"team:a", "team:b"}
