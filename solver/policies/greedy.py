"""Greedy: each lead to the rep with the best profit minus marginal fairness cost.

With speed to lead, a lead's profit at a rep is at the place it would take in that rep's
queue behind the leads of the batch given before it (arrival order, not value order: a
greedy pass does not reorder).

One lead at a time in arrival order, vectorized over reps. Seat prices, where
the router sets them, are already in `Problem.profit` (`with_prices` makes it
net of each rep's price), so a single decision does not take capacity that
later, better leads would need.
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
    queued: np.ndarray,
) -> np.ndarray:
    """Score of giving lead i to each candidate: profit (net of any price) at the place in the
    candidate's queue it would take behind the `queued` leads already given, less the marginal
    fairness cost."""
    score = problem.profit[i, candidates].copy()
    if problem.queues:
        assert problem.speed is not None
        ratio = problem.speed.ratio(candidates, queued[candidates])
        score += problem.gross_profit[i, candidates] * (ratio - 1.0)
    weight = problem.options.fairness_weight
    if weight > 0:
        score -= fairness.marginal_cost(
            load[candidates],
            problem.targets[candidates],
            problem.lead_load[i],
            weight,
            problem.fairness_unit,
        )
    return score


@register("greedy", priced=True)
def solve_greedy(problem: Problem) -> Solution:
    """Greedy in arrival order; ties go to the lowest rep index (deterministic)."""

    def choose(i: int, candidates: np.ndarray, state: RoutingState) -> int:
        scores = greedy_scores(problem, i, candidates, state.load, state.assigned)
        return int(candidates[np.argmax(scores)])

    return route_sequentially(problem, choose)

