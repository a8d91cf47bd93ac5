"""Greedy: each lead to the rep with the best profit minus marginal fairness cost.

One lead at a time in arrival order, vectorized over reps. Optional per-rep
`prices` (money per lead, e.g. dual values of the capacity constraints learned
from recent batch solves) are subtracted, so a single decision does not take
capacity that later, better leads would need.
"""

from __future__ import annotations

import numpy as np

from solver.compile import fairness
from solver.compile.problem import Problem
from solver.policies.registry import Solution, register
from solver.policies.sequential import RoutingState, route_sequentially


def greedy_scores(
    problem: Problem,
    i: int,
    candidates: np.ndarray,
    load: np.ndarray,
    prices: np.ndarray | None = None,
) -> np.ndarray:
    """Score of giving lead i to each candidate: profit - marginal fairness cost - price."""
    score = problem.profit[i, candidates].copy()
    weight = problem.options.fairness_weight
    if weight > 0:
        score -= fairness.marginal_cost(
            load[candidates],
            problem.targets[candidates],
            problem.lead_load[i],
            weight,
            problem.fairness_unit,
        )
    if prices is not None:
        score -= prices[candidates]
    return score


def solve_greedy(problem: Problem, prices: np.ndarray | None = None) -> Solution:
    """Greedy in arrival order; ties go to the lowest rep index (deterministic)."""

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        scores = greedy_scores(problem, i, candidates, state.load, prices)
        return int(candidates[np.argmax(scores)])

    return route_sequentially(problem, choose)


register("greedy", priced=True)(solve_greedy)
