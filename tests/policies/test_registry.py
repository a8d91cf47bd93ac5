"""The policy registry: one declaration per policy, read by validation, fit checks and statuses."""

from __future__ import annotations

import numpy as np
import pytest
from ortools.sat.python import cp_model

from solver.compile.problem import compile_problem
from solver.decode.batch import check_solver_fits
from solver.domain.errors import InputError
from solver.domain.model import POLICY_NAMES, Lead, Policy, Rep, Rules
from solver.policies import Status, policy_names, policy_spec, register, solve
from solver.policies.cpsat_params import cp_solver, termination


def test_domain_catalogue_is_the_registry() -> None:
    """`Policy.solver` is validated against exactly the registered names, no hand-kept list."""
    assert list(POLICY_NAMES) == policy_names()
    assert len(POLICY_NAMES) == len(policy_names()) and "cpsat" in POLICY_NAMES
    for name in policy_names():
        assert Policy(solver=name).solver == name
    with pytest.raises(ValueError, match="unknown solver 'magic'; expected one of cpsat, flow"):
        Policy(solver="magic")


def test_a_policy_registers_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register("flow")(policy_spec("flow").solve)


def test_unknown_policy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown policy 'nope'; expected one of cpsat"):
        policy_spec("nope")


def test_declared_capabilities() -> None:
    """The facts other layers used to hard-code, now read from one place."""
    assert [n for n in policy_names() if policy_spec(n).unit_effort_only] == ["flow"]
    assert [n for n in policy_names() if policy_spec(n).groups_accounts] == ["cpsat"]
    assert [n for n in policy_names() if policy_spec(n).priced] == ["cpsat", "flow", "greedy"]
    assert {n: policy_spec(n).exact_tolerance for n in policy_names() if policy_spec(n).exact} == {
        "cpsat": 1e-6, "flow": 1e-9}


def test_unit_effort_only_policies_refuse_effort(policy_name: str) -> None:
    """A policy that declares unit effort only is refused effort 2 (file, row and field named)."""
    leads = [Lead(id="a", value=1), Lead(id="b", value=1, effort=2)]
    policy = Policy(solver=policy_name)
    if not policy_spec(policy_name).unit_effort_only:
        check_solver_fits(policy, leads)
        return
    with pytest.raises(InputError, match=f"solver '{policy_name}' needs unit effort .got 2.; "
                                         "use solver: cpsat") as caught:
        check_solver_fits(policy, leads, leads_file="leads.csv")
    assert (caught.value.file, caught.value.row, caught.value.field) == ("leads.csv", 2, "effort")


def test_policies_that_do_not_group_accounts_refuse_grouping(policy_name: str) -> None:
    policy = Policy(solver=policy_name, rules=Rules(account_grouping=True))
    leads = [Lead(id="a", value=1)]
    if policy_spec(policy_name).groups_accounts:
        check_solver_fits(policy, leads)
        return
    with pytest.raises(InputError, match=f"solver '{policy_name}' cannot group accounts; "
                                         "use solver: cpsat") as caught:
        check_solver_fits(policy, leads)
    assert (caught.value.file, caught.value.field) == ("policy", "rules.account_grouping")


@pytest.mark.parametrize("grouping_policy", [n for n in policy_names() if policy_spec(n).groups_accounts])
def test_policies_that_group_accounts_keep_an_account_together(grouping_policy: str) -> None:
    """The claim behind `groups_accounts`: with grouping on, an account's leads share one rep."""
    reps = [Rep(id="a", capacity=5, skills={"x": 2.0}), Rep(id="b", capacity=5)]
    leads = [Lead(id="l0", value=10, industry="x", account_id="acme"),
             Lead(id="l1", value=10, account_id="acme"),
             Lead(id="l2", value=10, industry="x", account_id="acme")]
    problem = compile_problem(reps, leads, Policy(solver=grouping_policy, rules=Rules(account_grouping=True)))
    owner = solve(problem, grouping_policy).owner
    assert np.all(owner >= 0) and len(set(owner.tolist())) == 1


@pytest.mark.parametrize(("code", "status"), [
    (cp_model.OPTIMAL, Status.OPTIMAL),
    (cp_model.FEASIBLE, Status.TIME_LIMIT),
    (cp_model.INFEASIBLE, Status.INFEASIBLE),
    (cp_model.UNKNOWN, Status.NO_SOLUTION),  # stopped before its first solution
    (cp_model.MODEL_INVALID, Status.NO_SOLUTION),
])
def test_cpsat_statuses_map_to_ours(code: cp_model.CpSolverStatus, status: Status) -> None:
    assert termination(code) is status


def test_cp_solver_parameters() -> None:
    solver = cp_solver(0.0, 3, 7, linearization_level=2, stop_after_first_solution=True)
    params = solver.parameters
    assert params.max_time_in_seconds == pytest.approx(0.01)  # a late caller still gets 10 ms
    assert (params.num_workers, params.random_seed, params.linearization_level) == (3, 7, 2)
    assert params.stop_after_first_solution and not params.log_search_progress
    default_seed = cp_model.CpSolver().parameters.random_seed
    assert cp_solver(1.0, 1).parameters.random_seed == default_seed  # None keeps CP-SAT's default


def test_no_solution_returns_the_warm_start_as_heuristic(monkeypatch: pytest.MonkeyPatch) -> None:
    """CP-SAT stopped before its first solution: the policy answers with its (feasible) warm start."""
    from solver.policies import cpsat

    class NoSolution:
        def solve(self, model: cp_model.CpModel) -> cp_model.CpSolverStatus:
            return cp_model.UNKNOWN

    monkeypatch.setattr(cpsat, "policy_solver", lambda *args: NoSolution())
    reps = [Rep(id="a", capacity=1), Rep(id="b", capacity=2)]
    leads = [Lead(id=f"l{i}", value=10 + i, effort=1 + i % 2) for i in range(3)]
    problem = compile_problem(reps, leads, Policy(solver="cpsat", fairness={"weight": 1.0}))
    hint = cpsat.warm_start(problem)
    assert hint is not None
    solution = cpsat.solve_model(problem)
    assert solution.status is Status.HEURISTIC
    assert solution.stats["termination"] == Status.NO_SOLUTION == "no_solution"
    np.testing.assert_array_equal(solution.owner, hint)
