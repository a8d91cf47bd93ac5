"""Batch assignment: records in, explained assignments out.

`assign(reps, leads, policy)` is the Python API of `leadsolver assign`: compile
once, run the policy named by the policy (or `solver=`), decode.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from solver.compile.problem import compile_problem
from solver.decode.result import Result, decode
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep, check_owners, check_unique_ids
from solver.policies import solve


def assign(
    reps: Sequence[Rep],
    leads: Sequence[Lead],
    policy: Policy | None = None,
    *,
    solver: str | None = None,
) -> Result:
    """Assign every lead to one rep (or leave it unassigned with a reason)."""
    policy = policy or Policy()
    if solver is not None:
        policy = policy.model_copy(update={"solver": Policy(solver=solver).solver})
    check_unique_ids(reps, file="reps", what="rep")
    check_unique_ids(leads, file="leads", what="lead")
    check_owners(reps, leads, leads_file="leads")
    check_solver_fits(policy, leads)
    start = time.perf_counter()
    problem = compile_problem(reps, leads, policy)
    compile_time = time.perf_counter() - start
    solution = solve(problem, policy.solver)
    return decode(problem, solution, policy.solver, compile_time)


def check_solver_fits(policy: Policy, leads: Sequence[Lead], leads_file: str = "leads") -> None:
    """Min-cost flow is exact only for unit effort; say so before solving, naming the lead."""
    if policy.solver != "flow":
        return
    for row, lead in enumerate(leads, start=1):
        if lead.effort != 1:
            raise InputError(
                f"solver 'flow' needs unit effort (got {lead.effort}); use solver: cpsat",
                file=leads_file, row=row, field="effort",
            )
    if policy.rules.account_grouping:
        raise InputError("solver 'flow' cannot group accounts; use solver: cpsat",
                         file="policy", field="rules.account_grouping")
