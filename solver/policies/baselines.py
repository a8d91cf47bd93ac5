"""Baselines: what CRMs ship today. Each honours every hard rule and capacity.

- `round_robin`: rotation over the reps, skipping those not eligible or full.
- `weighted_round_robin`: smooth weighted rotation (nginx's algorithm) by quota weight.
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
from solver.policies.sequential import Rotation, RoutingState, route_sequentially


@register("round_robin")
def solve_round_robin(problem: Problem) -> Solution:
    pick = Rotation(problem.m, problem.rotation.pointer)
    solution = route_sequentially(problem, lambda i, candidates, state: pick(candidates))
    solution.rotation = replace(problem.rotation, pointer=pick.pointer)
    return solution


@register("weighted_round_robin")
def solve_weighted_round_robin(problem: Problem) -> Solution:
    """Smooth weighted round robin: candidates gain their weight, the leader pays the total.

    The current weights carry over from earlier batches (`Problem.rotation.credit`).
    """
    credit = problem.rotation.credit
    current = np.zeros(problem.m) if credit is None or credit.shape != (problem.m,) else credit.copy()
    weights = problem.quota_weight

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        current[candidates] += weights[candidates]
        j = int(candidates[np.argmax(current[candidates])])
        current[j] -= weights[candidates].sum()
        return j

    solution = route_sequentially(problem, choose)
    solution.rotation = replace(problem.rotation, credit=current)
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
    pick = Rotation(problem.m, problem.rotation.pointer)
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
                    return pick(matched)
        return pick(candidates)

    solution = route_sequentially(problem, choose)
    solution.rotation = replace(problem.rotation, pointer=pick.pointer)
    return solution
