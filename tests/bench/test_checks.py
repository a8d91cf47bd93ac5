"""The independent rule checker (solver/bench/checks.py, issue 6): each rule alone, then agreement.

The checker re-derives the hard rules from the records, so it must (a) flag
each planted violation, (b) agree with `Problem.violations` on random owner
vectors over random instances, and (c) catch a compile bug that the policy
code's own check cannot see, because that check trusts the compiled mask.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver.bench.checks import check_assignment
from solver.compile.problem import compile_problem
from solver.domain.model import Lead, Policy, Rep, Rules
from solver.policies import solve
from tests.conftest import random_instance


def rep(rep_id: str = "r0", **fields: object) -> Rep:
    return Rep(id=rep_id, capacity=int(fields.pop("capacity", 5)), **fields)  # type: ignore[arg-type]


def lead(lead_id: str = "l0", **fields: object) -> Lead:
    return Lead(id=lead_id, value=float(fields.pop("value", 100.0)), **fields)  # type: ignore[arg-type]


HARD_ALL = Policy(rules=Rules(industry="hard", product="hard"))

CASES = [
    # (rep fields, lead fields, policy, expected phrase or None for feasible)
    ({"territories": ("N",)}, {"territory": "S"}, Policy(), "territory rule"),  # wrong territory
    ({"territories": ("N",)}, {"territory": ""}, Policy(), "territory rule"),  # empty lead field, restricted rep
    ({"territories": ("*",)}, {"territory": "S"}, Policy(), None),  # `*` admits any territory
    ({"territories": ()}, {"territory": "S"}, Policy(), None),  # empty list = unrestricted
    ({"territories": ("N", "S")}, {"territory": "S"}, Policy(), None),  # listed
    ({"segments": ("ENT",)}, {"segment": "SMB"}, Policy(), "segment rule"),  # tier mismatch
    ({"industries": ("sw",)}, {"industry": "hw"}, Policy(), None),  # industry rule off by default
    ({"industries": ("sw",)}, {"industry": "hw"}, HARD_ALL, "industry rule"),  # ... and hard here
    ({"products": ("core",)}, {"product": "x"}, HARD_ALL, "product rule"),
    ({"territories": ("N",)}, {"territory": "S"}, Policy(rules=Rules(territory="soft")), None),  # soft
    ({"available": False}, {}, Policy(), "unavailable rep"),  # out of office
    ({"capacity": 0}, {}, Policy(), "over capacity"),  # no room
    ({"capacity": 3, "open_leads": 2}, {"effort": 2}, Policy(), "over capacity"),  # open + effort > cap
    ({"capacity": 3, "open_leads": 1}, {"effort": 2}, Policy(), None),  # exactly full
]


@pytest.mark.parametrize(("rep_fields", "lead_fields", "policy", "expected"), CASES)
def test_each_rule_alone(rep_fields: dict, lead_fields: dict, policy: Policy, expected: str | None) -> None:
    problems = check_assignment([rep(**rep_fields)], [lead(**lead_fields)], policy, ["r0"])
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert expected in problems[0]


def test_owner_rule() -> None:
    reps = [rep("a"), rep("b")]
    owned = lead(owner_id="a")
    assert "account owner a" in check_assignment(reps, [owned], Policy(), ["b"])[0]
    assert "account owner a" in check_assignment(reps, [owned], Policy(), [None])[0]
    assert check_assignment(reps, [owned], Policy(), ["a"]) == []
    assert check_assignment(reps, [owned], Policy(rules=Rules(account_owner="soft")), ["b"]) == []


def test_unavailable_owner_means_normal_routing() -> None:
    reps = [rep("a", available=False), rep("b")]
    assert check_assignment(reps, [lead(owner_id="a")], Policy(), ["b"]) == []


def test_owner_rule_passes_capacity_but_blocks_other_leads() -> None:
    reps = [rep("a", capacity=1), rep("b")]
    kept = [lead("l0", owner_id="a"), lead("l1", owner_id="a")]
    assert check_assignment(reps, kept, Policy(), ["a", "a"]) == []  # continuity beats the cap
    routed = [*kept, lead("l2")]
    assert "over capacity" in check_assignment(reps, routed, Policy(), ["a", "a", "a"])[0]


def test_account_grouping() -> None:
    reps = [rep("a"), rep("b")]
    leads = [lead("l0", account_id="acme"), lead("l1", account_id="acme")]
    grouping = Policy(rules=Rules(account_grouping=True))
    assert "split" in check_assignment(reps, leads, grouping, ["a", "b"])[0]
    assert check_assignment(reps, leads, Policy(), ["a", "b"]) == []


def test_conservation_and_unknown_reps() -> None:
    assert "owners for" in check_assignment([rep()], [lead()], Policy(), [])[0]
    assert "unknown rep" in check_assignment([rep()], [lead()], Policy(), ["nobody"])[0]


@pytest.mark.parametrize("seed", range(30))
def test_agrees_with_problem_violations_on_random_owners(seed: int) -> None:
    """Random owner vectors are mostly infeasible: both checks must give the same verdict."""
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n=12, m=5, effort_max=2)
    policy = Policy(rules=Rules(industry="hard"))
    problem = compile_problem(reps, leads, policy)
    for _ in range(20):
        owner = rng.integers(-1, problem.m, problem.n)
        owners = [problem.rep_ids[j] if j >= 0 else None for j in owner]
        ours = check_assignment(reps, leads, policy, owners)
        assert bool(ours) == bool(problem.violations(owner)), ours


def test_policies_pass_on_random_instances(policy_name: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        reps, leads = random_instance(rng, n=30, m=6)
        policy = Policy()
        problem = compile_problem(reps, leads, policy)
        owner = solve(problem, policy_name).owner
        owners = [problem.rep_ids[j] if j >= 0 else None for j in owner]
        assert check_assignment(reps, leads, policy, owners) == []


def test_catches_a_compile_bug_the_mask_hides() -> None:
    """A wrong eligibility mask fools the policy and Problem.violations, not the checker."""
    reps = [rep("north", territories=("N",)), rep("south", territories=("S",), capacity=0)]
    leads = [lead(territory="S")]
    problem = compile_problem(reps, leads, Policy())
    problem.eligible[0, 0] = True  # the planted bug: north admitted for a southern lead
    owner = solve(problem, "flow").owner
    owners = [problem.rep_ids[j] if j >= 0 else None for j in owner]
    assert owners == ["north"]
    assert problem.violations(owner) == []
    assert "territory rule" in check_assignment(reps, leads, Policy(), owners)[0]


def test_team_cap_counts_members_open_leads_and_lets_owner_rule_leads_pass() -> None:
    reps = [rep("a", open_leads=1, attributes={"region": "ent"}), rep("b"), rep("c")]

    def team(capacity: int) -> Policy:  # members: b by name, a by the filter (case-folded)
        return Policy.model_validate({"teams": [
            {"id": "t", "members": ["b"], "member_filter": {"rep_attribute": "region", "in": ["ENT"]},
             "capacity": capacity}]})

    leads = [lead("l0"), lead("l1"), lead("l2", owner_id="b")]
    assert check_assignment(reps, leads, team(2), ["a", "c", "b"]) == [
        "team t over its cap: 1 held + 1 kept + 1 routed > 2"]
    assert check_assignment(reps, leads, team(3), ["a", "c", "b"]) == []
    # the owner rule may fill the team past its cap; then nothing else may go in
    assert check_assignment(reps, leads, team(1), [None, "c", "b"]) == []
    assert len(check_assignment(reps, leads, team(1), [None, "a", "b"])) == 1


@pytest.mark.parametrize("seed", range(3))
def test_team_caps_agree_with_problem_violations_on_random_owners(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reps, leads = random_instance(rng, n=10, m=4)
    policy = Policy.model_validate({"rules": {"territory": "off", "segment": "off"}, "teams": [
        {"id": "x", "members": ["r0", "r1"], "capacity": 2}, {"id": "y", "members": ["r2"], "capacity": 1}]})
    problem = compile_problem(reps, leads, policy)
    for _ in range(30):
        owner = rng.integers(-1, problem.m, problem.n)
        owners = [problem.rep_ids[j] if j >= 0 else None for j in owner]
        ours = check_assignment(reps, leads, policy, owners)
        assert bool(ours) == bool(problem.violations(owner)), (ours, problem.violations(owner))
