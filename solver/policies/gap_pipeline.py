"""The plain-GAP route of the cpsat policy: `gap_engine` instead of the full model.

A batch with no owner rule, no account grouping and no fairness term is a
generalized assignment problem (GAP). `solve_gap` runs it through
`gap_engine`: Lagrangian bound, a repaired start, reduced-cost pruning and
agent-based large-neighbourhood search with CP-SAT sub-solves; that is what
makes large batches reach near-optimal answers within seconds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from solver.compile.problem import Problem
from solver.policies import gap_engine
from solver.policies.cpsat_model import scale
from solver.policies.registry import Solution, Status

# Below this many pairs a full CP-SAT solve is tried first (proves small batches optimal).
SMALL_PAIRS = 2_000


def is_plain_gap(problem: Problem) -> bool:
    """No owner rule, no grouping, no fairness term, no team cap: the batch is a pure GAP."""
    return (not np.any(problem.forced >= 0) and not problem.team_room.size
            and not (problem.options.account_grouping and np.any(problem.group >= 0))
            and problem.options.fairness_weight == 0)


def solve_gap(problem: Problem, *, time_limit_s: float | None = None) -> Solution | None:
    """A plain GAP through `gap_engine`; None when no complete assignment was found.

    Steps and their share of the time limit T: Lagrangian bound and reduced
    costs (<= 10%); regret start + repair + shift moves. Then one of:

    * small batches (at most `SMALL_PAIRS` pairs after exact reduced-cost
      fixing, or in all when the start left leads out): `gap_engine.portfolio`
      runs CP-SAT on that whole model and LNS side by side for all that is
      left. CP-SAT proves OR-Library gap1-12 optimal in well under a second
      each (the old route, a top-k restricted solve first when the start was
      incomplete, could spend the whole limit on a restriction that misses
      the optimum: gap8-1 1132 vs 1133); LNS does better on tight type D/E;
    * large tight batches (the start left leads out): CP-SAT alone on the
      top-6 pruned model gets the rest of the time (there its own search beat
      our LNS, measured), then LNS with whatever remains;
    * other large batches: agent-based LNS on the pruned model.

    Returns None (the caller falls back to the full model with its
    unassigned option) when not every lead could be placed. `time_limit_s`
    (default: the policy's) is what the caller has left of its limit.
    """
    start = time.perf_counter()
    opts = problem.options
    limit = opts.time_limit_s if time_limit_s is None else time_limit_s

    def left() -> float:
        return limit - (time.perf_counter() - start)

    scaling = scale(problem)
    cost = np.where(problem.eligible, -np.round(problem.profit * scaling.money), np.inf)
    if np.any(~np.isfinite(cost).any(axis=1)):
        return None  # a lead with no eligible rep: placement level < n
    weight = (problem.effort if problem.effort.ndim == 2
              else np.broadcast_to(problem.effort[:, None], cost.shape)).astype(np.int64)
    capacity = problem.capacity.astype(np.int64)
    workers = opts.workers or 2

    relax = gap_engine.lagrangian(cost, weight, capacity, time_limit_s=0.1 * limit)
    bound = math.ceil(relax.bound - 1e-6)  # integer costs: the optimum is at least this
    owner = gap_engine.repair(cost, weight, capacity,
                              gap_engine.regret_start(cost, weight, capacity, relax.multipliers))
    stats: dict[str, float | int | str] = {"engine": "gap_engine",
                                           "lagrangian_bound": -relax.bound / scaling.money}
    if gap_engine.feasible(weight, capacity, owner):
        owner = gap_engine.improve(cost, weight, capacity, owner, time_limit_s=0.05 * limit)
        value = gap_engine.gap_value(cost, owner)
        stats["start_objective"] = -value / scaling.money
        # Reduced-cost fixing (exact): pairs that cannot be in a better solution go.
        exact = gap_engine.candidates(relax.reduced, 0, owner, bound=relax.bound, upper=value)
        hint: np.ndarray | None = owner
    else:
        value, exact, hint = math.inf, np.isfinite(cost), None
    stats["money_scale"] = scaling.money
    proven = value <= bound
    if not proven and exact.sum() <= SMALL_PAIRS:
        stats["engine"] = "gap_engine+portfolio"
        if hint is None:  # any complete assignment first, so both searches have a start
            found, _, _ = gap_engine.solve_subset(
                cost, weight, capacity, exact, None, time_limit_s=left() - 0.02,
                workers=workers, seed=opts.seed, stop_at_first=True)
            if found is None:
                return None
            owner, value = found, gap_engine.gap_value(cost, found)
        pruned = gap_engine.candidates(relax.reduced, 6, owner, bound=relax.bound, upper=value)
        owner, cp_bound, proven, lns_stats = gap_engine.portfolio(
            cost, weight, capacity, exact, pruned, owner, time_limit_s=left() - 0.02,
            seed=opts.seed, bound=bound, workers=workers, reduced=relax.reduced)
        stats.update(lns_stats)
        if np.isfinite(cp_bound):
            bound = max(bound, math.ceil(cp_bound - 1e-6))
        value = gap_engine.gap_value(cost, owner)
        return _gap_solution(problem, owner, -bound / scaling.money, proven or value <= bound,
                             stats)
    if hint is None:
        # No hint: on c801600 a partial regret or greedy hint made CP-SAT's own
        # search worse (16641-16781 vs 16308-16400 without, best known 16285).
        mask = gap_engine.candidates(relax.reduced, 6)
        found, _, _ = gap_engine.solve_subset(
            cost, weight, capacity, mask, None,
            time_limit_s=left() - 0.05, workers=workers, seed=opts.seed)
        if found is None:
            return None
        owner = gap_engine.improve(cost, weight, capacity, found, time_limit_s=0.05 * limit)
        value = gap_engine.gap_value(cost, owner)
        proven = value <= bound
    if not proven and left() > 0.05:
        pruned = gap_engine.candidates(relax.reduced, 6, owner, bound=relax.bound, upper=value)
        owner, lns_stats = gap_engine.lns(
            cost, weight, capacity, pruned, owner, time_limit_s=left() - 0.02,
            seed=opts.seed, workers=workers, bound=bound)
        stats.update(lns_stats)
        value = gap_engine.gap_value(cost, owner)
        proven = value <= bound
    return _gap_solution(problem, owner, -bound / scaling.money, proven, stats)


def _gap_solution(
    problem: Problem, owner: np.ndarray, upper: float, proven: bool,
    stats: dict[str, float | int | str],
) -> Solution:
    """The policy's result for a complete GAP assignment with bound `upper` (money)."""
    objective = problem.objective(owner)
    stats = stats | {"termination": Status.OPTIMAL if proven else Status.TIME_LIMIT,
                     "gap": abs(upper - objective) / max(abs(upper), 1e-9)}
    return Solution(owner, Status.OPTIMAL if proven else Status.FEASIBLE, objective, upper,
                    stats=stats)
