"""CP-SAT solver parameters and statuses, in one place for every CP-SAT solve.

The cpsat policy's full model, `gap_engine`'s sub-GAP solves and the
benchmark's naive reference model all get their `CpSolver` from `cp_solver`,
and read its outcome through `termination`, so a parameter or a status means
the same thing everywhere.

Parameter reference:
https://github.com/google/or-tools/blob/stable/ortools/sat/sat_parameters.proto
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from solver.policies.registry import Status

# CP-SAT's own statuses, as this package names them. FEASIBLE means the search
# stopped before proving optimality: in every solve here that is the time limit
# (or a stop asked for by the caller). MODEL_INVALID gives no answer either.
_TERMINATION = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.TIME_LIMIT,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.NO_SOLUTION,
    cp_model.MODEL_INVALID: Status.NO_SOLUTION,
}


def termination(code: cp_model.CpSolverStatus) -> Status:
    """Why a CP-SAT solve ended: OPTIMAL, TIME_LIMIT, INFEASIBLE or NO_SOLUTION."""
    return _TERMINATION.get(code, Status.NO_SOLUTION)


def has_solution(code: cp_model.CpSolverStatus) -> bool:
    """True when CP-SAT found at least one feasible solution (its values may be read)."""
    return code in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def cp_solver(
    time_limit_s: float,
    workers: int,
    seed: int | None = None,
    *,
    linearization_level: int | None = None,
    stop_after_first_solution: bool = False,
    log: bool = False,
) -> cp_model.CpSolver:
    """A CpSolver with a time limit, a worker count, a seed and optional search settings.

    `seed` and `linearization_level` None leave CP-SAT's defaults.
    """
    solver = cp_model.CpSolver()
    params = solver.parameters
    # Anytime: stop at the limit and return the best solution found. CP-SAT
    # needs a positive limit; 10 ms is the least a caller that ran late gets.
    params.max_time_in_seconds = max(float(time_limit_s), 0.01)
    # 0 means using all available CPU cores.
    params.num_workers = int(workers)
    if seed is not None:
        params.random_seed = int(seed)
    if linearization_level is not None:
        params.linearization_level = linearization_level
    params.stop_after_first_solution = stop_after_first_solution
    params.log_search_progress = log
    return solver


def policy_solver(time_limit_s: float, workers: int, seed: int) -> cp_model.CpSolver:
    """The CpSolver of the cpsat policy's full model, each setting with its reason."""
    # No repair_hint: in OR-Tools 9.15 it can abort the whole process
    # ("Check failed: heuristics.fixed_search != nullptr", seen in
    # tests/policies/test_policies.py with workers=0). Our hints are feasible owner
    # vectors (a lead may stay unassigned), so there is nothing to repair.
    # With an explicit objective the LP relaxation of the assignment rows is the
    # useful bound: level 2 adds cuts (knapsack covers on capacity rows).
    return cp_solver(time_limit_s, workers, seed, linearization_level=2)
