r"""Fast numpy machinery for the generalized assignment problem (GAP) on plain arrays.

The cpsat policy's GAP route (`gap_pipeline`) starts here when a batch is a plain GAP: every
lead must go to exactly one eligible rep, reps have effort capacities, and the
objective is separable. In minimisation form, with :math:`x_{ij} \in \{0,1\}`,

.. math::

    \min \sum_{ij} c_{ij} x_{ij} \quad \text{s.t.} \quad
    \sum_j x_{ij} = 1 \;\forall i, \qquad \sum_i a_{ij} x_{ij} \le b_j \;\forall j.

(i = job/lead, j = agent/rep; ineligible pairs carry :math:`c_{ij} = +\infty`.)

What is here (the CP-SAT searches that use it are in `gap_engine`), and why:

* `lagrangian` relaxes the capacity rows with multipliers
  :math:`\lambda \ge 0`. The relaxed problem splits by job,
  :math:`L(\lambda) = \sum_i \min_j (c_{ij} + \lambda_j a_{ij}) - \lambda^\top b`,
  so one evaluation is one vectorized row-minimum. Its maximum equals the LP
  bound (the job rows have the integrality property), found by subgradient
  ascent. It gives the bound the policy reports and the reduced costs
  :math:`r_{ij} = c_{ij} + \lambda_j a_{ij} - \min_k (c_{ik} + \lambda_k a_{ik})`.
* `regret_start` builds a feasible start: jobs in order of regret on the
  Lagrangian costs, each to its cheapest rep with room; then `improve`
  (shift moves) polishes it.
* `candidates` keeps, per job, the few reps with the smallest reduced cost
  (plus the incumbent's rep). Pairs with :math:`L + r_{ij} > UB` cannot be in
  any better solution (reduced-cost fixing, exact); the top-k cut beyond that
  is a heuristic restriction that shrinks a 1,600 x 80 model ~10-fold so CP-SAT
  spends its time searching instead of presolving.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

UNASSIGNED = -1


@dataclass(frozen=True)
class Lagrangian:
    """Result of the subgradient ascent."""

    multipliers: np.ndarray  # float (m,) >= 0, the best found
    bound: float  # L(multipliers): a valid lower bound on the GAP minimum
    reduced: np.ndarray  # float (n, m): reduced costs at the multipliers (>= 0; inf if ineligible)
    iterations: int


def relaxed_costs(cost: np.ndarray, weight: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """float (n, m): Lagrangian costs c_ij + lambda_j a_ij."""
    return cost + weight * lam[None, :]


def lagrangian(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, upper: float | None = None,
    *, time_limit_s: float = 1.0, max_iter: int = 3000,
) -> Lagrangian:
    """Maximise L(lambda) by subgradient ascent (Polyak steps towards `upper`).

    `upper` is the value of a known feasible solution (None: aim 2% above the
    best bound so far); the step is ``mu (upper - L) / |g|^2`` and mu halves after 30 iterations without a
    better bound. Stops at the time limit, at `max_iter`, when mu is tiny or
    when the bound meets `upper` (to within integrality).
    """
    n, m = cost.shape
    rows = np.arange(n)
    cap = capacity.astype(np.float64)
    lam = np.zeros(m)
    best = Lagrangian(lam.copy(), -np.inf, np.zeros_like(cost), 0)
    mu, stall = 2.0, 0
    deadline = time.perf_counter() + time_limit_s
    it = 0
    for it in range(1, max_iter + 1):
        relaxed = relaxed_costs(cost, weight, lam)
        choice = relaxed.argmin(axis=1)
        value = float(relaxed[rows, choice].sum() - lam @ cap)
        if value > best.bound + 1e-9:
            best = Lagrangian(lam.copy(), value, relaxed, it)
            stall = 0
        else:
            stall += 1
            if stall >= 30:
                mu, stall = mu / 2, 0
        used = np.bincount(choice, weights=weight[rows, choice], minlength=m)
        grad = used - cap
        # Multipliers at zero with slack stay at zero: drop them from the step norm.
        grad = np.where((lam <= 0) & (grad < 0), 0.0, grad)
        norm = float(grad @ grad)
        # Without a known solution, aim a little above the best bound so far.
        target = best.bound + 0.02 * abs(best.bound) + 1.0 if upper is None else upper
        if norm == 0 or mu < 1e-4 or target - best.bound < 1e-6 or time.perf_counter() > deadline:
            break
        lam = np.maximum(0.0, lam + mu * max(target - value, 1e-3 * abs(target)) / norm * grad)
    relaxed = best.reduced
    reduced = relaxed - relaxed.min(axis=1, keepdims=True)
    return Lagrangian(best.multipliers, best.bound, reduced, it)


def regret_start(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray,
    lam: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy by regret on Lagrangian costs; -1 for a job that found no rep with room.

    Jobs are taken in decreasing order of regret (second-best minus best cost),
    so the jobs that lose most when pushed off their best rep go first. Each job
    then takes the cheapest rep that still has room. Sequential by nature: one
    short numpy step per job.
    """
    n, m = cost.shape
    scored = cost if lam is None else relaxed_costs(cost, weight, lam)
    part = np.partition(scored, 1, axis=1) if m > 1 else np.hstack([scored, scored])
    regret = np.where(np.isfinite(part[:, 1]), part[:, 1] - part[:, 0], np.inf)
    order = np.argsort(-regret, kind="stable")
    free = capacity.astype(np.int64).copy()
    owner = np.full(n, UNASSIGNED, dtype=np.int64)
    for i in order:
        fits = weight[i] <= free
        if not fits.any():
            continue
        j = int(np.argmin(np.where(fits, scored[i], np.inf)))
        if not np.isfinite(scored[i, j]):
            continue
        owner[i] = j
        free[j] -= weight[i, j]
    return owner


def repair(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, owner: np.ndarray,
) -> np.ndarray:
    """Place unassigned jobs by ejecting cheap-to-move jobs (one level deep); best effort.

    For an unplaced job i and each rep j, find the placed job on j whose move
    to another rep with room frees enough capacity for i; take the cheapest.
    """
    owner = owner.copy()
    n, m = cost.shape
    rows = np.arange(n)
    for i in np.flatnonzero(owner < 0):
        free = capacity - np.bincount(owner[owner >= 0],
                                      weights=weight[rows, owner][owner >= 0], minlength=m)
        fits = (weight[i] <= free) & np.isfinite(cost[i])
        if fits.any():
            owner[i] = int(np.argmin(np.where(fits, cost[i], np.inf)))
            continue
        placed = np.flatnonzero(owner >= 0)
        src = owner[placed]
        # Job k (on src) moves to dst with room; afterwards i must fit on src.
        room_after = free[src] + weight[placed, src]
        ok_src = (weight[i, src] <= room_after) & np.isfinite(cost[i, src])
        move_ok = (weight[placed] <= free[None, :]) & np.isfinite(cost[placed])
        move_ok[np.arange(len(placed)), src] = False
        move_ok &= ok_src[:, None]
        if not move_ok.any():
            continue
        delta = (cost[placed] - cost[placed, src][:, None]) + cost[i, src][:, None]
        delta = np.where(move_ok, delta, np.inf)
        k, dst = np.unravel_index(int(np.argmin(delta)), delta.shape)
        owner[placed[k]] = dst
        owner[i] = src[k]
    return owner


def improve(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, owner: np.ndarray,
    *, max_moves: int = 10_000, time_limit_s: float = 1.0,
) -> np.ndarray:
    """Best-improvement shift moves (one job to another rep with room) until none helps.

    Each round scores every (job, rep) shift in one vectorized step. Swaps are
    left to CP-SAT's neighbourhood search.
    """
    owner = owner.copy()
    n, m = cost.shape
    rows = np.arange(n)
    placed = owner >= 0
    if not placed.all():
        return owner
    free = capacity - np.bincount(owner, weights=weight[rows, owner], minlength=m)
    current = cost[rows, owner]
    deadline = time.perf_counter() + time_limit_s
    for _ in range(max_moves):
        gain = current[:, None] - cost
        gain = np.where(weight <= free[None, :], gain, -np.inf)
        flat = int(np.argmax(gain))
        i, j = divmod(flat, m)
        if gain[i, j] <= 1e-9 or time.perf_counter() > deadline:
            break
        free[owner[i]] += weight[i, owner[i]]
        free[j] -= weight[i, j]
        owner[i] = j
        current[i] = cost[i, j]
    return owner


def candidates(
    reduced: np.ndarray, keep: int, owner: np.ndarray | None = None,
    *, bound: float | None = None, upper: float | None = None,
) -> np.ndarray:
    """bool (n, m): pairs worth keeping in the model.

    Exact part: with a feasible solution of value `upper` and Lagrangian bound
    `bound`, any pair with ``bound + r_ij > upper`` is in no solution at least
    as good, so it is dropped. Heuristic part (``keep > 0``): also drop all but
    the `keep` smallest reduced costs per job. The incumbent's pairs always stay,
    so the hint remains feasible.
    """
    m = reduced.shape[1]
    mask = np.isfinite(reduced)
    if bound is not None and upper is not None:
        mask &= bound + reduced <= upper + 1e-6
    if 0 < keep < m:
        kth = np.partition(reduced, keep - 1, axis=1)[:, keep - 1]
        mask &= reduced <= kth[:, None]
    if owner is not None:
        placed = owner >= 0
        mask[np.flatnonzero(placed), owner[placed]] = True
    return mask


def gap_value(cost: np.ndarray, owner: np.ndarray) -> float:
    """Total cost of a complete owner vector."""
    return float(cost[np.arange(len(owner)), owner].sum())


def feasible(weight: np.ndarray, capacity: np.ndarray, owner: np.ndarray) -> bool:
    """True when every job is placed and no rep exceeds its capacity."""
    if np.any(owner < 0):
        return False
    n, m = weight.shape
    used = np.bincount(owner, weights=weight[np.arange(n), owner], minlength=m)
    return bool(np.all(used <= capacity))
