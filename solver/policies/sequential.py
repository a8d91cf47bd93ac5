"""One-lead-at-a-time routing: the shared loop of greedy and the baselines.

Leads are taken in arrival order (the order given). For each lead the
candidates are the eligible reps with room for its effort; a policy-specific
`choose` picks one of them. The loop over leads is inherently sequential (each
choice changes the room left); everything inside it is vectorized over reps.
Leads under the owner rule are placed first, past capacity if need be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.compile.problem import Problem
from solver.policies.registry import Solution, Status, free_capacity, start_owner


@dataclass
class RoutingState:
    """What a chooser may read: the room and load of each rep so far."""

    free: np.ndarray  # int (m,): capacity left in effort units
    load: np.ndarray  # float (m,): fairness load so far (history included)
    assigned: np.ndarray  # int (m,): leads given to each rep in this batch


Chooser = Callable[[int, np.ndarray, RoutingState], int]
"""(lead index, candidate rep indices (non-empty, ascending), state) -> chosen rep index."""


def route_sequentially(problem: Problem, choose: Chooser) -> Solution:
    """Route each free lead in order with `choose`; forced leads go to their owner."""
    owner = start_owner(problem)
    state = RoutingState(
        free=free_capacity(problem, owner),
        load=problem.loads(owner),
        assigned=np.bincount(owner[owner >= 0], minlength=problem.m),
    )
    eligible = problem.eligible
    for i in map(int, np.flatnonzero(owner < 0)):
        effort = problem.effort[i]  # 0-d, or a vector over reps when effort depends on the rep
        candidates = np.flatnonzero(eligible[i] & (state.free >= effort))
        if candidates.size == 0:
            continue
        j = choose(i, candidates, state)
        owner[i] = j
        state.free[j] -= effort if effort.ndim == 0 else effort[j]
        state.load[j] += problem.lead_load[i]
        state.assigned[j] += 1
    return Solution(owner=owner, status=Status.HEURISTIC)


class Rotation:
    """A round-robin pointer over reps: picks the first candidate at or after the pointer.

    It starts where the previous batch left it (`Problem.rotation.pointer`), so
    small batches do not favour the first reps.
    """

    def __init__(self, m: int, pointer: int = 0) -> None:
        self.m = m
        self.pointer = pointer % m if m else 0

    def __call__(self, candidates: np.ndarray) -> int:
        k = int(np.searchsorted(candidates, self.pointer))
        j = int(candidates[k % candidates.size])
        self.pointer = (j + 1) % self.m
        return j
