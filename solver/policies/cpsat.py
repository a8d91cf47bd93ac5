"""CP-SAT (OR-Tools): the exact engine for batches min-cost flow cannot express.

The registered `cpsat` policy picks a route for each batch:

* a batch `flow` solves exactly (unit effort, no account grouping, fairness
  as a penalty on counts) goes to flow: it proves the same optimum in
  milliseconds, where CP-SAT can spend its whole limit closing the bound;
* a plain GAP (no owner rule, no grouping, no fairness term) goes to
  `gap_pipeline` (Lagrangian bound, repaired start, LNS with CP-SAT sub-solves);
* everything else, and a plain GAP the pipeline could not place in full, goes
  to the full model of `cpsat_model` (every constraint family), warm-started
  from flow or greedy, with the solver parameters of `cpsat_params`.

Determinism: a fixed seed gives the same model and hints; CP-SAT with several
workers and a time limit is not deterministic (the workers race), and neither
is the LNS that calls it.
"""

from __future__ import annotations

import time

import numpy as np

from solver.compile.problem import UNASSIGNED, Problem
from solver.policies.cpsat_model import CpSatModel, ScalingWarning
from solver.policies.cpsat_params import has_solution, policy_solver, termination
from solver.policies.gap_pipeline import is_plain_gap, solve_gap
from solver.policies.registry import Solution, Status, policy_spec, register, solve

__all__ = ["ScalingWarning", "policy_objective", "solve_cpsat", "solve_model", "warm_start"]


def minmax_penalty(problem: Problem, owner: np.ndarray) -> float:
    """w u max_j (load_j - T_j) over reps with a target: the min-max fairness charge."""
    active = problem.targets > 0
    if problem.options.fairness_weight == 0 or not active.any():
        return 0.0
    over = (problem.loads(owner) - problem.targets)[active].max()
    return float(problem.options.fairness_weight * problem.fairness_unit * over)


def policy_objective(problem: Problem, owner: np.ndarray) -> float:
    """The second-level objective this policy optimises (fairness by the policy's mode)."""
    if problem.options.fairness_mode == "minmax":
        return problem.total_profit(owner) - minmax_penalty(problem, owner)
    return problem.objective(owner)


def warm_start(problem: Problem) -> np.ndarray | None:
    """An owner vector from `flow` (exact for unit effort) or `greedy`; None if unavailable."""
    name = "flow" if _flow_accepts(problem, grouping=problem.options.account_grouping) else "greedy"
    try:
        return solve(problem, name).owner
    except ValueError:  # the policy is not registered, or refuses this batch
        return None


def _flow_accepts(problem: Problem, *, grouping: bool) -> bool:
    """Whether the batch is within what flow declares it can do (its registry entry)."""
    flow = policy_spec("flow")
    return ((problem.unit_effort or not flow.unit_effort_only)
            and (flow.groups_accounts or not grouping))


def _flow_is_exact(problem: Problem) -> bool:
    """The batch is one min-cost flow solves exactly: the same objective, no side constraint.

    Within flow's declared capabilities (unit effort; account grouping only if
    leads actually share an account), and fairness as a penalty on lead counts
    (or none): a transportation problem with a convex separable cost.
    """
    opts = problem.options
    grouped = opts.account_grouping and bool(np.any(problem.group >= 0))
    return (_flow_accepts(problem, grouping=grouped) and opts.fairness_mode == "penalty"
            and (opts.fairness_weight == 0 or opts.fairness_measure == "count"))


@register("cpsat", groups_accounts=True, priced=True, exact_tolerance=1e-6)
def solve_cpsat(problem: Problem) -> Solution:
    """Solve the batch with CP-SAT (plain GAPs through `gap_engine` first).

    A batch that `flow` solves exactly goes to flow: it proves the same
    optimum in milliseconds, where the CP-SAT model can spend its whole time
    limit closing the fairness bound (300 x 36 sample: 10 s, unproven).
    """
    if problem.n == 0:
        return Solution(np.full(0, UNASSIGNED, dtype=np.int64), Status.OPTIMAL, 0.0, 0.0,
                        stats={"termination": Status.OPTIMAL})
    if _flow_is_exact(problem):
        solution = solve(problem, "flow")
        solution.stats = {**solution.stats, "engine": "flow", "termination": Status.OPTIMAL}
        return solution
    start = time.perf_counter()
    if is_plain_gap(problem) and problem.m > 0:
        gap_solution = solve_gap(problem)
        if gap_solution is not None:
            return gap_solution
    # Whatever the engine used counts against the policy's time limit.
    left = max(problem.options.time_limit_s - (time.perf_counter() - start), 0.05)
    return solve_model(problem, time_limit_s=left)


def solve_model(
    problem: Problem, *, hint: np.ndarray | None = None, time_limit_s: float | None = None,
) -> Solution:
    """The full CP-SAT model with every constraint family, warm-started."""
    start = time.perf_counter()
    opts = problem.options
    limit = opts.time_limit_s if time_limit_s is None else time_limit_s
    built = CpSatModel(problem).add_constraints()
    if hint is None:
        hint = warm_start(problem)
    if hint is not None:
        built.hint(hint)
    solver = policy_solver(limit - (time.perf_counter() - start), opts.workers, opts.seed)
    code = solver.solve(built.model)
    if not has_solution(code):
        # No solution of its own (NO_SOLUTION or INFEASIBLE): the hint, or the
        # owner rule alone, is still a feasible answer; never return nothing.
        owner = hint if hint is not None and not problem.violations(hint) else problem.forced.copy()
        return Solution(owner, Status.HEURISTIC, policy_objective(problem, owner),
                        stats={"termination": termination(code), "engine": "cpsat-model"})
    owner = built.owner(solver)
    bound_scaled = solver.best_objective_bound
    placed = int((owner >= 0).sum())
    # The bound is on the second level only once the first level is settled.
    bound = (built.second_level(bound_scaled) if built.placed_count(bound_scaled) == placed
             else None)
    stopped = termination(code)
    status = Status.OPTIMAL if stopped is Status.OPTIMAL else Status.FEASIBLE
    stats: dict[str, float | int | str] = {
        "termination": stopped,
        "engine": "cpsat-model",
        "placed": placed,
        "money_scale": built.scaling.money,
    }
    if bound is not None:
        stats["gap"] = abs(bound - built.second_level(solver.objective_value)) / max(abs(bound), 1e-9)
    return Solution(owner, status, policy_objective(problem, owner), bound, stats=stats)
