"""CP-SAT (OR-Tools): the exact engine for batches min-cost flow cannot express.

The registered `cpsat` policy picks a route for each batch:

* a batch `flow` solves exactly (unit effort, no account grouping, fairness
  as a penalty on counts) goes to flow: it proves the same optimum in
  milliseconds, where CP-SAT can spend its whole limit closing the bound;
* a plain GAP (no owner rule, no grouping, no fairness term, no queue within the batch) goes to
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
from solver.policies import grouping
from solver.policies.cpsat_model import CpSatModel, ScalingWarning
from solver.policies.cpsat_params import has_solution, policy_solver, termination
from solver.policies.flow import network_solution
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


def warm_start(problem: Problem, budget_s: float | None = None) -> np.ndarray | None:
    """A feasible owner vector from `flow` (exact for unit effort) or `greedy`; None if unavailable.

    Neither groups accounts, so under grouping the vector is repaired
    (`grouping.repair`), or built group by group (`grouping.group_greedy`),
    whichever is better: a hint that splits an account is infeasible, CP-SAT
    drops it, and on the 300-lead sample the model then placed 183-218 leads.
    """
    grouped = bool(grouping.groups(problem))
    cheap = budget_s is not None and budget_s < CHEAP_START_S
    name = "flow" if _flow_accepts(problem, grouping=False) and not (grouped and cheap) else "greedy"
    try:  # flow's network itself: the flow policy hands batches with overlapping caps to this one
        raw = network_solution(problem).owner if name == "flow" else solve(problem, name).owner
    except ValueError:  # the policy is not registered, or refuses this batch
        return None
    if not grouped:
        return raw
    # Repair strands the leads of every account the start split; building group by group
    # does not; the raw start may happen to split none. The best of them is the start.
    candidates = [grouping.group_greedy(problem)]
    raws = [raw, solve(problem, "greedy").owner] if name == "flow" else [raw]
    candidates += [owner for owner in raws if not grouping.split_groups(problem, owner)]
    candidates += [] if cheap else [grouping.repair(problem, raw)]
    best = candidates[0]
    for other in candidates[1:]:
        if _better(_key(problem, other), _key(problem, best)):
            best = other
    return best


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
    # Flow holds team caps exactly only when no rep is in two capped teams.
    disjoint = bool((problem.capped_teams.sum(axis=0) <= 1).all())
    return (_flow_accepts(problem, grouping=grouped) and disjoint and opts.fairness_mode == "penalty"
            and (opts.fairness_weight == 0 or opts.fairness_measure == "count"))


# What the full model costs before CP-SAT's search starts, per eligible pair: building it
# in Python and CP-SAT's presolve (3,000 x 100 batches, ~90,000 pairs: ~0.6 s + ~1 s on the
# shared 2-core machine). With less time left than that the model is not built at all: the
# warm start is the answer (presolve alone overran a 1 s limit by 0.3-2 s).
MODEL_SECONDS_PER_PAIR = 4e-5
# CP-SAT's presolve checks its limit only now and then: it overran by up to ~5 us per pair
# (0.3-0.5 s on ~90,000 pairs), so its own limit is that much below what is left.
PRESOLVE_OVERRUN_PER_PAIR = 5e-6
# Below this budget the warm start skips flow and the repair (each costs ~0.04-0.06 s on
# 3,000 leads): greedy and the group-by-group start only.
CHEAP_START_S = 0.5
# The least search time worth starting CP-SAT for, and what is kept back for decoding and
# the final comparison with the warm start.
MIN_SEARCH_S = 0.05
RESERVE_S = 0.02


class Deadline:
    """The policy's time limit as an end point: every stage gets only what is left of it."""

    def __init__(self, limit_s: float) -> None:
        self.end = time.perf_counter() + limit_s

    def left(self) -> float:
        return self.end - time.perf_counter()


@register("cpsat", groups_accounts=True, priced=True, exact_tolerance=1e-6, models_queues=True)
def solve_cpsat(problem: Problem) -> Solution:
    """Solve the batch with CP-SAT (plain GAPs through `gap_engine` first).

    A batch that `flow` solves exactly goes to flow: it proves the same
    optimum in milliseconds, where the CP-SAT model can spend its whole time
    limit closing the fairness bound (300 x 36 sample: 10 s, unproven).
    `policy.time_limit_s` bounds the whole call: each route gets what is left.
    """
    deadline = Deadline(problem.options.time_limit_s)
    if problem.n == 0:
        return Solution(np.full(0, UNASSIGNED, dtype=np.int64), Status.OPTIMAL, 0.0, 0.0,
                        stats={"termination": Status.OPTIMAL})
    if _flow_is_exact(problem):
        solution = solve(problem, "flow")
        solution.stats = {**solution.stats, "engine": "flow",
                          "termination": Status.OPTIMAL if solution.status is Status.OPTIMAL
                          else Status.NO_SOLUTION}
        return solution
    if is_plain_gap(problem) and problem.m > 0:
        if not problem.queues:
            gap_solution = solve_gap(problem, time_limit_s=deadline.left())
            if gap_solution is not None:
                return gap_solution
        else:  # the pipeline prices a rep's first queue place only: it starts the model with places
            fits = places_fit(problem, deadline.left())
            share = QUEUE_BLIND_SHARE if fits else 1.0
            blind = solve_gap(problem, time_limit_s=share * deadline.left())
            if blind is not None:
                if not fits:
                    return _without_places(problem, blind)
                found_by = f"{blind.stats.get('engine', 'gap pipeline')} without queue places"
                return solve_model(problem, hint=blind.owner, time_limit_s=deadline.left(),
                                   blind_first=False, hint_from=found_by)
    return solve_model(problem, time_limit_s=deadline.left())


def solve_model(
    problem: Problem, *, hint: np.ndarray | None = None, time_limit_s: float | None = None,
    blind_first: bool = True, hint_from: str = "hint",
) -> Solution:
    """The full CP-SAT model with every constraint family, warm-started.

    Never worse than its warm start: the answer is the better of CP-SAT's and
    the start's in the lexicographic order (most leads placed, then the
    policy's objective), so a hint CP-SAT ignored or a search cut short costs
    nothing. The time limit covers the warm start, the build and the search.

    With queue places (speed's position slots) the model is first solved without them, for
    `QUEUE_BLIND_SHARE` of the time: it places the most leads far sooner (1,000 x 100 with
    effort 1-3: the model with places found no solution in 8 s, from a feasible hint), and its
    answer starts the model that prices every lead at its place (`blind_first=False`: the hint
    is such an answer already, the GAP pipeline's for a plain GAP). When the model with places
    would do little more than presolve in the time left (`places_fit`), the search without them
    takes the whole limit and the answer says the places were not modelled.
    """
    deadline = Deadline(problem.options.time_limit_s if time_limit_s is None else time_limit_s)
    start = (grouping.repair(problem, hint) if hint is not None
             else warm_start(problem, deadline.left()))
    if start is None or problem.violations(start):
        start = problem.forced.copy()  # the owner rule alone is always feasible
    if problem.queues and blind_first:
        fits = places_fit(problem, deadline.left())
        blind = _search(problem, start, deadline, queue_places=False,
                        share=QUEUE_BLIND_SHARE if fits else 1.0)
        if not fits:
            return _without_places(problem, blind)
        engine = "warm start"
        if _better(_key(problem, blind.owner), _key(problem, start)):
            start = blind.owner
            engine = f"{blind.stats.get('engine', 'cpsat-model')} without queue places"
        return _search(problem, start, deadline, queue_places=True, engine=engine)
    return _search(problem, start, deadline, queue_places=problem.queues,
                   engine="warm start" if hint is None else hint_from)


# With queue places, the share of the time left that the model without them may take first.
QUEUE_BLIND_SHARE = 0.4
# CP-SAT's presolve of the model with queue places, per variable: 300 x 36 with effort 1-3
# (3,202 pairs, 16,010 place variables) took 2.2 s on one worker of the shared 2-core machine.
# The places are modelled only when QUEUE_PRESOLVE_TIMES that is left after the search without
# them. With twice, on 300 x 36 at 10 s the search with places found nothing better in the
# 5.5 s after presolve (probing off or no presolve alike) and the answer was the blind search's,
# cut shorter (-0.09% [-0.20, +0.01], benchmarks/speed/cpsat_queues.py); 100 x 20 (4,728
# variables at most) gained +1.0% [+0.1, +2.0] in 5 or 10 s.
QUEUE_PRESOLVE_S_PER_VAR = 1.2e-4
QUEUE_PRESOLVE_TIMES = 4


def places_fit(problem: Problem, seconds: float) -> bool:
    """Whether the model with queue places can do more than presolve in what is left of
    `seconds` after the search without them."""
    size = CpSatModel.size_with_places(problem)
    return QUEUE_PRESOLVE_TIMES * QUEUE_PRESOLVE_S_PER_VAR * size <= (1 - QUEUE_BLIND_SHARE) * seconds


def _without_places(problem: Problem, blind: Solution) -> Solution:
    """The search without queue places as the answer: feasible at most, saying why."""
    status = Status.FEASIBLE if blind.status is Status.OPTIMAL else blind.status
    return Solution(blind.owner, status, policy_objective(problem, blind.owner), None, stats={
        **blind.stats, "inexact": "queue places not modelled: no time for their model"})


def _search(problem: Problem, start: np.ndarray, deadline: Deadline, *, queue_places: bool,
            share: float = 1.0, engine: str = "warm start") -> Solution:
    """Build the model (with or without queue places), hint `start`, search for `share` of the
    time left; the better of its answer and the start's (`engine`: what found the start)."""
    size = CpSatModel.size_with_places(problem) if queue_places else int(problem.eligible.sum())
    if deadline.left() < MODEL_SECONDS_PER_PAIR * size + MIN_SEARCH_S + RESERVE_S:
        return _from_start(problem, start, Status.TIME_LIMIT, "no time to build the model", engine)
    budget_end = time.perf_counter() + share * deadline.left()
    try:
        built = CpSatModel(problem, queue_places=queue_places).add_constraints()
    except OverflowError as exc:  # money too large for int64 even at the coarsest scale
        return _from_start(problem, start, Status.NO_SOLUTION, str(exc), engine)
    built.hint(start)
    opts = problem.options
    search = (min(deadline.left(), budget_end - time.perf_counter()) - RESERVE_S
              - PRESOLVE_OVERRUN_PER_PAIR * size)
    if search < MIN_SEARCH_S:
        return _from_start(problem, start, Status.TIME_LIMIT, "no time left to search", engine)
    solver = policy_solver(search, opts.workers, opts.seed)
    code = solver.solve(built.model)
    if not has_solution(code):
        # No solution of its own (NO_SOLUTION or INFEASIBLE): the start is still feasible.
        return _from_start(problem, start, termination(code), "cp-sat found no solution", engine)
    owner = built.owner(solver)
    stopped = termination(code)
    stats: dict[str, float | int | str] = {
        "termination": stopped, "engine": "cpsat-model", "money_scale": built.scaling.money,
        "rounding": built.rounding,
    }
    if _better(_key(problem, start), _key(problem, owner)):
        # The start beats CP-SAT's answer: a cut-short search, or rounding misled it.
        stats |= {"engine": f"cpsat-model ({engine} kept)"}
        return Solution(start, Status.FEASIBLE, policy_objective(problem, start), stats=stats)
    deeper = built.overflow(solver, owner)
    inexact = [why for why, applies in (
        ("money rounded coarser than LEAD_RESOLUTION per lead (int64 bound)", not built.scaling.exact),
        ("fairness loads rounded to whole units", not built.loads_exact),
        ("queues deeper than the modelled places: the last place's worth given to the leads past it",
         deeper)) if applies]
    if inexact:
        stats["inexact"] = "; ".join(inexact)
    placed = int((owner >= 0).sum())
    stats["placed"] = placed
    bound_scaled = solver.best_objective_bound
    # The bound is on the second level only once the first level is settled; rounding may
    # move any solution's profit by up to `rounding`, so the true optimum may be that much higher.
    # Without the queue places it bounds the first-place worth only: no bound on the batch's.
    bound = (built.second_level(bound_scaled) + built.rounding
             if built.placed_count(bound_scaled) == placed and built.bound_holds
             and queue_places == problem.queues else None)
    objective = policy_objective(problem, owner)
    proven = (bound is not None and stopped is Status.OPTIMAL and built.scaling.exact
              and built.loads_exact and not deeper)
    if bound is not None:
        stats["gap"] = abs(bound - objective) / max(abs(bound), 1e-9)
    return Solution(owner, Status.OPTIMAL if proven else Status.FEASIBLE, objective, bound,
                    stats=stats)


def _key(problem: Problem, owner: np.ndarray) -> tuple[int, float]:
    """The order this policy optimises: most leads placed, then the policy's objective."""
    return int((owner >= 0).sum()), policy_objective(problem, owner)


def _better(a: tuple[int, float], b: tuple[int, float]) -> bool:
    """a beats b: more leads placed, or as many and a higher objective beyond float noise."""
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] > b[1] + 1e-9 * max(abs(b[1]), 1.0)


def _from_start(problem: Problem, start: np.ndarray, stopped: Status, why: str,
                engine: str = "warm start") -> Solution:
    """The start as the answer (no bound claimed): CP-SAT had no better one to give. `engine`:
    what found the start (a heuristic's is `heuristic`, a search's `feasible`)."""
    status = Status.HEURISTIC if engine == "warm start" else Status.FEASIBLE
    return Solution(start, status, policy_objective(problem, start),
                    stats={"termination": stopped, "engine": engine, "why": why})
