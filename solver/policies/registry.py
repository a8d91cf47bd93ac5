"""The one small interface every policy implements, and the registry of policies.

A policy is a function ``Problem -> Solution``, registered by name:

    @register("greedy", priced=True)
    def solve_greedy(problem: Problem) -> Solution: ...

Every policy honours every hard rule (eligibility, the owner rule, capacity)
and returns an owner vector for all n leads; a policy that runs out of time
returns its best feasible answer with an honest status, never nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from solver.compile.problem import UNASSIGNED, Problem
from solver.compile.scoring import RotationState
from solver.compile.speed import positions
from solver.domain.model import POLICY_NAMES


class Status(StrEnum):
    """How a solve ended and how good its answer is known to be.

    `Solution.status` is one of the first three: what the returned owner vector
    is worth (``summary.status`` in the JSON). An engine with a search of its
    own also records why it stopped as ``stats["termination"]``: `OPTIMAL`,
    `TIME_LIMIT`, `INFEASIBLE` or `NO_SOLUTION` (CP-SAT's statuses are mapped in
    one place, `solver.policies.cpsat_params.termination`).
    """

    OPTIMAL = "optimal"  # proven optimal for the policy's objective
    FEASIBLE = "feasible"  # feasible, optimality not proven (e.g. time limit reached)
    HEURISTIC = "heuristic"  # a rule-based or greedy answer: feasible, no bound claimed
    # A time limit stopped the search: the answer is its best feasible one, unproven
    # (the solution's status is then FEASIBLE).
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"  # the model has no solution (proven)
    # The engine stopped (a time limit before its first solution, or a rejected model)
    # with no answer of its own. The policy then returns its warm start when that is
    # feasible, else the owner rule alone (only forced leads placed), as HEURISTIC.
    NO_SOLUTION = "no_solution"


@dataclass
class Solution:
    """What a policy returns: an owner per lead and honest solver statistics."""

    owner: np.ndarray  # int (n,), -1 = unassigned
    status: Status
    objective: float | None = None  # profit - fairness penalty of `owner`
    bound: float | None = None  # best proven upper bound on the objective, if known
    solve_time_s: float = 0.0
    stats: dict[str, float | int | str] = field(default_factory=dict)
    rotation: RotationState | None = None  # rotations' state after this batch (round robins)

    @property
    def gap(self) -> float | None:
        """Relative gap between objective and bound (0 = proven optimal)."""
        if self.bound is None or self.objective is None:
            return None
        return abs(self.bound - self.objective) / max(abs(self.bound), 1e-9)


PolicyFn = Callable[[Problem], Solution]


@dataclass(frozen=True)
class PolicySpec:
    """A policy declared once: its name, its solve function and what it can do.

    Every fact about a policy that other layers need is here and nowhere else:
    the CLI's choices, policy validation, the router's pricing decision, the
    benchmark's exactness check and the unit-effort fit check all read it.
    """

    name: str
    solve: PolicyFn
    unit_effort_only: bool = False  # refuses leads whose effort is not 1 (min-cost flow)
    # Honours rules.account_grouping (all leads of an account in a batch, one rep). A
    # policy that routes lead by lead cannot: it must not claim it.
    groups_accounts: bool = False
    priced: bool = False  # maximises value, so micro-batches may price seats like the fast path
    # Proven optimal for its objective when it says so: the benchmark checks its value against
    # the LP optimum within this relative tolerance. None: a heuristic or baseline.
    exact_tolerance: float | None = None
    # Models a rep's queue positions within the batch (`Problem.queues`). A policy that does not
    # optimises each rep's first-slot worth, a relaxation: its proof of optimality stands only
    # where no placed lead waits behind another (`solve` checks).
    models_queues: bool = False

    @property
    def exact(self) -> bool:
        """True when the policy proves optimality (the benchmark holds it to the LP optimum)."""
        return self.exact_tolerance is not None


_REGISTRY: dict[str, PolicySpec] = {}
# Engines a policy may hand a batch to that model queue positions (`Solution.stats["engine"]`).
_QUEUE_ENGINES = ("flow",)


def register(
    name: str,
    *,
    unit_effort_only: bool = False,
    groups_accounts: bool = False,
    priced: bool = False,
    exact_tolerance: float | None = None,
    models_queues: bool = False,
) -> Callable[[PolicyFn], PolicyFn]:
    """Declare the policy `name` with its capabilities (a decorator on its solve function).

    The name is also published down to `solver.domain.model.POLICY_NAMES`, the
    catalogue `Policy.solver` is validated against (domain cannot import this layer).
    """

    def decorate(fn: PolicyFn) -> PolicyFn:
        if name in _REGISTRY:
            raise ValueError(f"policy {name!r} is registered twice")
        _REGISTRY[name] = PolicySpec(name, fn, unit_effort_only, groups_accounts, priced, exact_tolerance,
                                     models_queues)
        POLICY_NAMES.declare(name)
        return fn

    return decorate


def policy_names() -> list[str]:
    """Every registered policy's name, sorted."""
    return sorted(_REGISTRY)


def policy_spec(name: str) -> PolicySpec:
    """The declaration of policy `name`; ValueError naming the known ones if there is none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; expected one of {', '.join(policy_names())}") from None


def solve(problem: Problem, name: str) -> Solution:
    """Run the policy `name` on `problem`, timing it and filling in the objective."""
    spec = policy_spec(name)
    start = time.perf_counter()
    solution = spec.solve(problem)
    solution.solve_time_s = time.perf_counter() - start
    if solution.objective is None:
        solution.objective = problem.objective(solution.owner)
    delegated = solution.stats.get("engine") in _QUEUE_ENGINES  # e.g. cpsat handing a batch to flow
    if (solution.status is Status.OPTIMAL and problem.queues and not spec.models_queues and not delegated
            and np.any(problem.position_ratio(solution.owner) < 1.0 - 1e-12)):
        # optimal for the first-slot worth only: the queue within the batch was not modelled
        solution.status = Status.FEASIBLE
        solution.stats = {**solution.stats, "inexact": "queue positions within the batch not modelled"}
    return solution


def start_owner(problem: Problem) -> np.ndarray:
    """Owner vector with the owner rule applied and everything else unassigned."""
    return problem.forced.copy()


def free_capacity(problem: Problem, owner: np.ndarray) -> np.ndarray:
    """int (m,): capacity still free after the leads already in `owner`."""
    return problem.capacity - problem.used_capacity(owner).astype(np.int64)


def counting(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each c of `counts`, end to end: each item's place within its group when
    items are laid out as ``np.repeat(groups, counts)`` (a rep's slots, a pair's queue places)."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def depth_within_budget(depth: np.ndarray, pairs_per_rep: np.ndarray, budget: int) -> np.ndarray:
    """`depth` (queue places per rep) cut to one common ceiling so that pairs x depth, the slot arcs
    of flow or the place variables of CP-SAT, fit the budget."""
    if int((depth * pairs_per_rep).sum()) <= budget:
        return depth
    ceiling = int(depth.max())
    while ceiling > 1 and int((np.minimum(depth, ceiling) * pairs_per_rep).sum()) > budget:
        ceiling -= 1
    return np.minimum(depth, ceiling)


def team_fits(teams: np.ndarray, team_free: np.ndarray, effort: np.ndarray | int) -> np.ndarray:
    """bool (m,): reps none of whose capped teams (`teams`, bool (T', m)) lacks room for `effort`
    (a scalar, or per rep)."""
    short = teams & (np.asarray(team_free)[:, None] < np.broadcast_to(effort, (teams.shape[1],))[None, :])
    return np.asarray(~short.any(axis=0))


__all__ = ["UNASSIGNED", "PolicySpec", "Problem", "Solution", "Status", "counting", "free_capacity",
           "policy_names",
           "policy_spec", "register", "solve", "start_owner", "team_fits"]


@dataclass(frozen=True)
class QueueSlots:
    """The queue slots of a batch's reps, laid out rep after rep (flow's slot nodes, CP-SAT's
    place variables).

    A slot is a run of consecutive places of equal ratio (every place when positions do not
    matter); each rep has at least one, and its last takes any leads past the places modelled
    (`open_end`: at a ratio above theirs).
    """

    rep: np.ndarray  # int (S,): each slot's rep
    ratio: np.ndarray  # float (S,): worth kept in the slot, against the rep's first place
    room: np.ndarray  # int (S,): places in the slot
    start: np.ndarray  # int (m,): each rep's first slot
    slots: np.ndarray  # int (m,): slots per rep (>= 1)
    first_ratio: np.ndarray  # float (m,): ratio of the rep's first free place (owner-rule leads ahead)
    place_slot: np.ndarray  # int (sum depth,): the slot of each modelled place, rep after rep
    place_start: np.ndarray  # int (m,): each rep's first place in `place_slot`
    depth: np.ndarray  # int (m,): places modelled per rep
    open_end: np.ndarray  # bool (m,): the rep could take more leads than its places, at lower worth

    @classmethod
    def none(cls) -> QueueSlots:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, np.zeros(0), empty, empty, empty, np.zeros(0), empty, empty, empty,
                   np.zeros(0, dtype=bool))

    @classmethod
    def of(cls, problem: Problem, offset: np.ndarray, depth: np.ndarray, whole: np.ndarray) -> QueueSlots:
        """Slots for `depth` places per rep after `offset` owner-rule leads; `whole`: the rep's
        worth does not change past its last place, or it cannot take more leads than that."""
        m = problem.m
        place_rep, place_k = np.repeat(np.arange(m), depth), counting(depth)
        ratio = np.ones(place_rep.size)
        first = np.ones(m)
        if problem.queues:
            assert problem.speed is not None
            ratio = problem.speed.ratio(place_rep, offset[place_rep] + place_k)
            first = problem.speed.ratio(np.arange(m), offset)
        opens = (place_k == 0) | (ratio != np.roll(ratio, 1))  # a new slot starts here
        place_slot = np.cumsum(opens) - 1
        slots = np.bincount(place_rep[opens], minlength=m)
        start = np.cumsum(slots) - slots
        return cls(place_rep[opens], ratio[opens], np.bincount(place_slot), start, slots, first,
                   place_slot, np.cumsum(depth) - depth, depth, ~whole)

    @property
    def last_places(self) -> np.ndarray:
        """int (m,): places in each rep's last slot."""
        return self.room[self.start + self.slots - 1]

    def slot_of(self, problem: Problem, owner: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """int (pairs,): for the pairs (rows, cols) chosen by `owner`, the slot of the lead's
        place in its rep's queue (owner-rule leads first, then best worth first); -1 elsewhere."""
        n = problem.n
        worth = np.where(owner >= 0, problem.gross_profit[np.arange(n), np.maximum(owner, 0)], 0.0)
        forced = (problem.forced >= 0) & (owner == problem.forced)
        pos = positions(owner, worth, forced)
        ahead = np.bincount(owner[forced], minlength=problem.m)
        chosen = (owner[rows] == cols) & ~forced[rows]
        place = np.minimum(pos[rows] - ahead[cols], self.depth[cols] - 1)
        return np.where(chosen, self.place_slot[self.place_start[cols] + np.maximum(place, 0)], -1)
