"""The exact engines keep their promises (issue 12, items 1, 2 and 6).

* cpsat never returns less than its warm start, in the lexicographic order
  (most leads placed first, then the policy's objective), and never splits an
  account when grouping is on, whatever the time limit;
* the time limit bounds the whole call (model build and warm start included);
* money scaling never silently drops small leads beside a huge one.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.bench.synthetic import make_instance
from solver.compile.problem import UNASSIGNED, Problem, compile_problem
from solver.domain.io import load_leads, load_policy, load_reps
from solver.domain.model import Policy
from solver.policies import Status, solve
from solver.policies.cpsat import policy_objective, warm_start
from solver.policies.grouping import split_groups
from tests.conftest import SAMPLE
from tests.policies.test_cpsat import make_problem


def key(problem: Problem, owner: np.ndarray) -> tuple[int, float]:
    """The lexicographic order cpsat optimises: leads placed, then the policy's objective."""
    return int((owner >= 0).sum()), policy_objective(problem, owner)


def at_least(problem: Problem, owner: np.ndarray, other: np.ndarray) -> bool:
    """`owner` is not below `other` lexicographically (objective to a relative 1e-9)."""
    (placed, value), (other_placed, other_value) = key(problem, owner), key(problem, other)
    if placed != other_placed:
        return placed > other_placed
    return value >= other_value - 1e-9 * max(abs(other_value), 1.0)


@st.composite
def grouped_or_effort(draw: st.DrawFn) -> Problem:
    """A small random batch with account groups or effort > 1 (often both), forced leads,
    holes in eligibility, fairness, and a time limit from 'none at all' to 'plenty'."""
    n, m = draw(st.integers(1, 9)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grouped = draw(st.booleans())
    effort = rng.integers(1, 4, n) if draw(st.booleans()) or not grouped else None
    forced = np.where(rng.random(n) < 0.15, rng.integers(0, m, n), UNASSIGNED)
    return make_problem(
        rng.integers(0, 100, (n, m)).astype(float) * rng.random(),
        effort=effort, capacity=rng.integers(0, 5, m),
        eligible=rng.random((n, m)) < 0.75, forced=forced,
        group=rng.integers(-1, max(n // 2, 1), n) if grouped else None,
        weight=draw(st.sampled_from([0.0, 0.0, 0.4])),
        mode=draw(st.sampled_from(["penalty", "minmax"])),
        time_limit_s=draw(st.sampled_from([1e-6, 0.02, 0.5])),
    )


@settings(max_examples=40, deadline=None)
@given(grouped_or_effort())
def test_cpsat_never_below_its_warm_start(problem: Problem) -> None:
    solution = solve(problem, "cpsat")
    assert not problem.violations(solution.owner)
    assert not split_groups(problem, solution.owner)
    start = warm_start(problem, problem.options.time_limit_s)
    assert start is not None and not split_groups(problem, start)
    assert at_least(problem, solution.owner, start)
    greedy = solve(problem, "greedy").owner
    if not split_groups(problem, greedy):  # greedy ignores grouping: only a feasible one counts
        assert at_least(problem, solution.owner, greedy)
    if solution.status is Status.OPTIMAL and problem.n <= 7:  # optimal means optimal
        assert key(problem, solution.owner) == pytest.approx(brute_force(problem))


def brute_force(problem: Problem) -> tuple[int, float]:
    """(most leads placed, best objective among those) over every grouping-feasible owner vector."""
    best = (-1, -np.inf)
    for combo in itertools.product(range(-1, problem.m), repeat=problem.n):
        owner = np.array(combo)
        if not problem.violations(owner) and not split_groups(problem, owner):
            best = max(best, key(problem, owner))
    return best


def sample_grouped(time_limit_s: float) -> Problem:
    policy = load_policy(SAMPLE / "policy.yaml")
    policy = policy.model_copy(update={
        "solver": "cpsat", "time_limit_s": time_limit_s, "workers": 2,
        "rules": policy.rules.model_copy(update={"account_grouping": True})})
    return compile_problem(load_reps(SAMPLE / "reps.csv"), load_leads(SAMPLE / "leads.csv"), policy)


@pytest.mark.parametrize("time_limit_s", [0.01, 1.0])
def test_sample_with_grouping_keeps_the_warm_start(time_limit_s: float) -> None:
    """Regression: at 1 s cpsat placed 183/300 (10 s: 218) below a start it could have kept,
    and at 0.01 s it returned greedy's answer, which splits 86 of the 170 accounts.

    The issue compared with greedy's 288 placed; that answer breaks grouping, so it is
    no floor. Under grouping about 210-220 leads fit (CP-SAT, 10 s: 216, unproven).
    """
    problem = sample_grouped(time_limit_s)
    greedy = solve(problem, "greedy").owner
    assert split_groups(problem, greedy)  # what the old fallback returned
    solution = solve(problem, "cpsat")
    assert not problem.violations(solution.owner)
    assert not split_groups(problem, solution.owner)
    assert at_least(problem, solution.owner, warm_start(problem, problem.options.time_limit_s))
    assert (solution.owner >= 0).sum() >= 205
    assert solution.status is not Status.OPTIMAL


# The stated overhead over the policy's time limit: returning the answer, decoding the
# model's solution and the last comparison. Measured (benchmarks/cpsat_limits/RESULTS.md)
# well under this on the shared 2-core machine; the bound leaves room for a loaded one.
OVERHEAD_S = 0.5


def big_batch(kind: str, time_limit_s: float) -> Problem:
    """3,000 leads x 100 reps: account groups of about 3 leads, or effort 1-3."""
    policy = Policy(solver="cpsat", time_limit_s=time_limit_s, workers=2, fairness={"weight": 0.5},
                    rules={"account_grouping": kind == "grouped"})
    inst = make_instance(3000, 100, seed=0, policy=policy, owner_share=0.02,
                         effort_max=1 if kind == "grouped" else 3)
    leads = inst.leads
    if kind == "grouped":
        accounts = np.random.default_rng(0).integers(0, 1000, len(leads))
        leads = [lead.model_copy(update={"account_id": f"A{a}"}) for lead, a in zip(leads, accounts, strict=True)]
    return compile_problem(inst.reps, leads, policy)


@pytest.mark.parametrize("kind", ["grouped", "effort"])
def test_time_limit_bounds_the_whole_call(kind: str) -> None:
    """Regression: 0.01 s on 3,000 leads took 1.6-3 s (model build, warm start and CP-SAT's
    presolve were outside the limit)."""
    problem = big_batch(kind, 0.1)
    start = time.perf_counter()
    solution = solve(problem, "cpsat")
    elapsed = time.perf_counter() - start
    assert elapsed < 0.1 + OVERHEAD_S
    assert not problem.violations(solution.owner)
    assert not split_groups(problem, solution.owner)
    assert at_least(problem, solution.owner, warm_start(problem, problem.options.time_limit_s))
    assert (solution.owner >= 0).sum() >= 0.75 * problem.n
    assert solution.status is not Status.OPTIMAL


def test_huge_lead_does_not_reshuffle_the_others() -> None:
    """Regression: one lead worth 1e14 scaled the money of the others to 0 (all equal),
    they were placed at random, and the status stayed optimal."""
    value = np.array([[1e14, 1e14 * 0.9], [1000.0, 1300.0], [1200.0, 1000.0],
                      [1500.25, 1500.5], [1400.0, 900.0]])
    for effort in (None, [2, 1, 1, 1, 1]):  # unit effort goes to flow, effort to the model
        problem = make_problem(value, effort=effort, capacity=[3, 3], time_limit_s=5.0)
        solution = solve(problem, "cpsat")
        best = brute_force(problem)
        placed, objective = key(problem, solution.owner)
        assert placed == best[0]
        # The small leads decide 1e2-1e3 of the total: compare without the huge lead's term.
        huge = problem.profit[0, solution.owner[0]] if solution.owner[0] >= 0 else 0.0
        exact = solution.status is Status.OPTIMAL
        small, small_best = objective - huge, best[1] - problem.profit[0].max()
        assert small == pytest.approx(small_best, abs=1e-6) or not exact
        assert exact, solution.stats  # exact scaling exists here, so it must be used


def test_flow_scaling_keeps_small_leads_beside_a_huge_one() -> None:
    value = np.array([[1e14, 0.0], [1000.0, 1300.0], [1200.0, 1000.0], [1500.25, 1500.5]])
    problem = make_problem(value, capacity=[2, 2])
    solution = solve(problem, "flow")
    assert solution.status is Status.OPTIMAL
    assert list(solution.owner) == [0, 1, 0, 1]


@pytest.mark.parametrize("limit", [1e300, 3600.5, 0.0, 1e-4])
def test_absurd_time_limits_are_refused(limit: float) -> None:
    """Regression: 1e300 was accepted and a solve ran past 45 s."""
    with pytest.raises(ValueError, match="time_limit_s"):
        Policy(time_limit_s=limit)
    assert Policy(time_limit_s=3600).time_limit_s == 3600


@pytest.mark.parametrize("values", [(1e12, 1.0), (1e6, 1e-6), (1e12, 0.01)])
def test_flow_beyond_int64_resolution_says_feasible(values: tuple[float, float]) -> None:
    """Regression (issue 12 item 6): values too far apart for int64 costs made the solver refuse
    the network (BAD_COST_RANGE, exit 1); they now solve, and the answer is not called optimal."""
    big, small = values
    value = np.array([[big, 0.0], [small, small * 1.3], [small * 1.2, small]])
    solution = solve(make_problem(value, capacity=[2, 2]), "flow")
    assert (solution.owner >= 0).all()
    assert solution.status is Status.FEASIBLE
    assert "inexact" in solution.stats
