"""Baselines: what CRMs ship today. Each honours every hard rule and capacity.

- `round_robin`: rotation over the reps, skipping those not eligible or full.
- `weighted_round_robin`: smooth weighted rotation (nginx's algorithm) by quota weight.

Both rotate within each lead's pool (`Problem.pool_keys`: a team, or the reps
its routing rules admit), each pool's state carried between batches.
- `least_loaded`: the eligible rep with the least load held (leads, or value).
- `random`: a uniformly random eligible rep with room (seeded).
- `rules`: the first-match cascade sales teams configure: account owner ->
  high score to the most senior rep -> industry specialist -> territory rep
  -> rotation among whoever is eligible.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver.compile.problem import Problem
from solver.policies.registry import Solution, register
from solver.policies.sequential import Rotations, RoutingState, route_sequentially


@register("round_robin")
def solve_round_robin(problem: Problem) -> Solution:
    pick = Rotations(problem)
    solution = route_sequentially(problem, lambda i, candidates, state: pick(i, candidates))
    solution.rotation = pick.state()
    return solution


@register("weighted_round_robin")
def solve_weighted_round_robin(problem: Problem) -> Solution:
    """Smooth weighted round robin: candidates gain their weight, the leader pays the total.

    The current weights carry over from earlier batches, one set per pool
    (`Problem.rotation.credits`, keyed by rep id so a changed team keeps them).
    """
    weights = problem.quota_weight
    rotations = Rotations(problem)
    saved = problem.rotation.credits
    current: dict[str, np.ndarray] = {}

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        key = rotations.key(i)
        if key not in current:
            credit = saved.get(key, {})
            current[key] = np.array([credit.get(rep, 0.0) for rep in problem.rep_ids])
        pool = current[key]
        pool[candidates] += weights[candidates]
        j = int(candidates[np.argmax(pool[candidates])])
        pool[j] -= weights[candidates].sum()
        return j

    solution = route_sequentially(problem, choose)
    credits = {**saved, **{key: dict(zip(problem.rep_ids, map(float, pool), strict=True))
                           for key, pool in current.items()}}
    solution.rotation = replace(problem.rotation, credits=credits)
    return solution


@register("least_loaded")
def solve_least_loaded(problem: Problem) -> Solution:
    """Least load held (history plus this batch, in the fairness measure); ties to lowest index."""

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        return int(candidates[np.argmin(state.load[candidates])])

    return route_sequentially(problem, choose)


@register("random")
def solve_random(problem: Problem) -> Solution:
    rng = np.random.default_rng(problem.options.seed)
    return route_sequentially(problem, lambda i, candidates, state: int(rng.choice(candidates)))


@register("rules")
def solve_rules(problem: Problem) -> Solution:
    """First-match rule cascade; the account-owner step is the owner rule itself."""
    industry = problem.dimensions.get("industry")
    territory = problem.dimensions.get("territory")
    specialist = industry.explicit() if industry is not None else None
    territory_rep = territory.explicit() if territory is not None else None
    pick = Rotations(problem)
    high = problem.options.high_score

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        if problem.score[i] >= high:
            seniority = problem.seniority[candidates]
            senior = candidates[seniority == seniority.max()]
            return int(senior[np.argmax(problem.value[i, senior])])
        for match in (specialist, territory_rep):
            if match is not None:
                matched = candidates[match[i, candidates]]
                if matched.size:
                    return pick(i, matched)
        return pick(i, candidates)

    solution = route_sequentially(problem, choose)
    solution.rotation = pick.state()
    return solution
