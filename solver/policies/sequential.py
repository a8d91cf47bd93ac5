"""One-lead-at-a-time routing: the shared loop of greedy and the baselines.

Leads are taken in arrival order (the order given). For each lead the
candidates are the eligible reps with room for its effort; a policy-specific
`choose` picks one of them. The loop over leads is inherently sequential (each
choice changes the room left); everything inside it is vectorized over reps.
Leads under the owner rule are placed first, past capacity if need be. A rep
whose capped team has no room left is no candidate, as a full rep is not.

Rotations (`Rotations`) run per pool (`Problem.pool_keys`): a lead rotates
among the reps of its pool (a team, or the reps its routing rules admit), and
each pool's pointer carries over to the next batch in `RotationState`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from solver.compile.problem import Problem
from solver.compile.scoring import RotationState
from solver.policies.registry import Solution, Status, free_capacity, start_owner, team_fits


@dataclass
class RoutingState:
    """What a chooser may read: the room and load of each rep so far."""

    free: np.ndarray  # int (m,): capacity left in effort units
    load: np.ndarray  # float (m,): fairness load so far (history included)
    assigned: np.ndarray  # int (m,): leads given to each rep in this batch
    team_free: np.ndarray  # int (T',): room left in each capped team (`Problem.capped_teams`)


Chooser = Callable[[int, np.ndarray, RoutingState], int]
"""(lead index, candidate rep indices (non-empty, ascending), state) -> chosen rep index."""


def route_sequentially(problem: Problem, choose: Chooser) -> Solution:
    """Route each free lead in order with `choose`; forced leads go to their owner."""
    owner = start_owner(problem)
    state = RoutingState(
        free=free_capacity(problem, owner),
        load=problem.loads(owner),
        assigned=np.bincount(owner[owner >= 0], minlength=problem.m),
        team_free=problem.team_free(owner),
    )
    eligible = problem.eligible
    teams = problem.capped_teams
    for i in map(int, np.flatnonzero(owner < 0)):
        effort = problem.effort[i]  # 0-d, or a vector over reps when effort depends on the rep
        fits = eligible[i] & (state.free >= effort)
        if teams.size:
            fits &= team_fits(teams, state.team_free, effort)
        candidates = np.flatnonzero(fits)
        if candidates.size == 0:
            continue
        j = choose(i, candidates, state)
        owner[i] = j
        used = effort if effort.ndim == 0 else effort[j]
        state.free[j] -= used
        state.team_free -= teams[:, j] * used
        state.load[j] += problem.lead_load[i]
        state.assigned[j] += 1
    return Solution(owner=owner, status=Status.HEURISTIC)


class Rotations:
    """Round-robin pointers, one per pool: each picks the first candidate at or after its pointer.

    They start where the previous batch left them (`Problem.rotation`), so
    small batches do not favour the first reps, and each pool (a team, or the
    reps a lead's rules admit) goes round on its own.
    """

    def __init__(self, problem: Problem) -> None:
        self.m = problem.m
        self.pool = problem.pool
        self.keys = problem.pool_keys
        self.rotation = problem.rotation
        self.pointers = dict(problem.rotation.pointers)

    def key(self, i: int) -> str:
        """Lead i's pool key."""
        return self.keys[0] if self.pool is None else self.keys[int(self.pool[i])]

    def __call__(self, i: int, candidates: np.ndarray) -> int:
        key = self.key(i)
        pointer = self.pointers.get(key, 0) % self.m if self.m else 0
        k = int(np.searchsorted(candidates, pointer))
        j = int(candidates[k % candidates.size])
        self.pointers[key] = (j + 1) % self.m
        return j

    def state(self) -> RotationState:
        """The rotation state after this batch: every pool's pointer."""
        return replace(self.rotation, pointers=self.pointers)
