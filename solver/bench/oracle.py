r"""Reference solvers for the benchmark: the LP optimum, the Hungarian method, a naive CP-SAT model.

They answer the same lexicographic question as the policies on a compiled
`Problem` with fairness weight 0 -- first place as many leads as the rules
allow, then maximise profit -- by independent means, so the harness can report
quality as a ratio to a bound and time as a ratio to a textbook method run on
the same instance in the same process.

- `lp_optimum`: the linear relaxation, solved by HiGHS (scipy) in two stages,

  .. math:: P^* = \max \sum x_{ij}, \qquad
            V^* = \max \sum p_{ij} x_{ij} \;\text{s.t.}\; \sum x_{ij} \ge P^*,

  both over :math:`\sum_j x_{ij} \le 1,\ \sum_i e_i x_{ij} \le r_j,\ 0 \le x \le 1`
  on eligible pairs. With unit effort this is a transportation problem: its
  constraint matrix is totally unimodular, so the LP optimum is integral and an
  exact policy (flow) must match it. With general effort it is an upper bound.
- `hungarian`: `scipy.optimize.linear_sum_assignment` on capacity-expanded slots
  (each rep repeated once per unit of room), unit effort only.
- `naive_cpsat`: one Boolean per eligible pair, no warm start, no symmetry or
  decomposition tricks: the model a newcomer writes first, to time the `cpsat`
  policy against.

Leads fixed by the owner rule are placed first, as in every policy; the
references optimise the rest. scipy is an optional dependency (the `bench`
extra) and is imported only when a reference is asked for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver.compile.problem import Problem
from solver.policies.registry import Status, counting

# HiGHS's default tolerances (1e-7) let a vertex within 1e-9 relative of the optimum
# pass as optimal; the oracle must be exact to that level, so it asks for 1e-10.
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
_SCIPY_MISSING = (
    "the benchmark references need scipy (HiGHS); install the bench extra: pip install 'leadsolver[bench]'"
)


@dataclass(frozen=True)
class Reference:
    """What a reference solver found: leads placed, profit, and its wall time."""

    method: str  # lp | hungarian | naive_cpsat
    placed: float  # leads placed (fractional for a non-integral LP)
    profit: float
    time_s: float
    exact: bool  # True when `profit` is the optimum, not only a bound or a feasible value


@dataclass(frozen=True)
class _Residual:
    """The problem left once owner-rule leads are placed: free leads, their eligible pairs, room."""

    forced_placed: int
    forced_profit: float
    rows: np.ndarray  # lead index of each eligible pair
    reps: np.ndarray  # rep index of each eligible pair
    profit: np.ndarray  # profit of each pair
    effort: np.ndarray  # effort of each pair
    room: np.ndarray  # int (m,): capacity left per rep
    n_free: int
    lead_of_row: np.ndarray  # pair's position among the free leads (0..n_free-1)
    # With queue positions (`Problem.queues`, unit effort): each pair is repeated once per slot
    # of its rep, `slot` numbering them over all reps (each slot takes one lead) and `profit`
    # the worth at that place. None: a rep's room is one pool.
    slot: np.ndarray | None = None
    slots: int = 0


def _with_slots(problem: Problem, res: _Residual, forced_owner: np.ndarray) -> _Residual:
    """Each pair repeated over its rep's queue positions (after the owner rule's leads)."""
    assert problem.speed is not None
    depth = np.minimum(res.room, res.n_free)
    first = np.cumsum(depth) - depth
    per_pair = depth[res.reps]
    k = counting(per_pair)
    pick = np.repeat(np.arange(res.rows.size), per_pair)
    rows, reps = res.rows[pick], res.reps[pick]
    offset = np.bincount(forced_owner[forced_owner >= 0], minlength=problem.m)
    gross = problem.gross_profit[rows, reps]
    profit = res.profit[pick] + gross * (problem.speed.ratio(reps, offset[reps] + k) - 1.0)
    return _Residual(res.forced_placed, res.forced_profit, rows, reps, profit, res.effort[pick], res.room,
                     res.n_free, res.lead_of_row[pick], first[reps] + k, int(depth.sum()))


def _require_fairness_zero(problem: Problem) -> None:
    if problem.options.fairness_weight != 0:
        raise ValueError("the references solve the fairness-weight-0 objective; set fairness.weight: 0")


def _residual(problem: Problem) -> _Residual:
    forced = problem.forced >= 0
    forced_owner = np.where(forced, problem.forced, -1)
    room = np.maximum(problem.capacity - problem.used_capacity(forced_owner).astype(np.int64), 0)
    free = np.flatnonzero(~forced)
    lead_pos, reps = np.nonzero(problem.eligible[free] & (room > 0)[None, :])
    rows = free[lead_pos]
    effort = problem.effort[rows] if problem.effort.ndim == 1 else problem.effort[rows, reps]
    keep = effort <= room[reps]  # a lead larger than a rep's room can never go there
    res = _Residual(
        forced_placed=int(forced.sum()),
        forced_profit=problem.total_profit(forced_owner),
        rows=rows[keep],
        reps=reps[keep],
        profit=problem.profit[rows[keep], reps[keep]],
        effort=effort[keep].astype(np.float64),
        room=room,
        n_free=free.size,
        lead_of_row=lead_pos[keep],
    )
    return _with_slots(problem, res, forced_owner) if problem.queues and problem.unit_effort else res


def lp_optimum(problem: Problem) -> Reference:
    """The two-stage LP optimum (exact and integral for unit effort, an upper bound otherwise)."""
    _require_fairness_zero(problem)
    try:
        from scipy import sparse
        from scipy.optimize import linprog
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_SCIPY_MISSING) from exc
    start = time.perf_counter()
    res = _residual(problem)
    k = res.rows.size
    if k == 0:
        return Reference("lp", res.forced_placed, res.forced_profit, time.perf_counter() - start, True)
    pairs = np.arange(k)
    per_lead = sparse.csr_array((np.ones(k), (res.lead_of_row, pairs)), shape=(res.n_free, k))
    if res.slot is None:
        per_rep = sparse.csr_array((res.effort, (res.reps, pairs)), shape=(problem.m, k))
        room = res.room.astype(np.float64)
    else:  # one lead per queue slot
        per_rep = sparse.csr_array((np.ones(k), (res.slot, pairs)), shape=(res.slots, k))
        room = np.ones(res.slots)
    a_ub = sparse.vstack([per_lead, per_rep]).tocsr()
    b_ub = np.concatenate([np.ones(res.n_free), room])

    # Dual simplex ends on a vertex, which is integral when effort is unit.
    first = linprog(-np.ones(k), A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs-ds",
                    options=_HIGHS)
    _check(first, "placement")
    placed = -first.fun
    if problem.unit_effort:
        placed = round(placed)  # integral by total unimodularity; drop HiGHS's 1e-9 noise
    # Profit is scaled to at most 1 so HiGHS's absolute tolerances are relative ones.
    scale = float(res.profit.max()) or 1.0
    keep_placed = sparse.csr_array(-np.ones((1, k)))
    second = linprog(
        -res.profit / scale,
        A_ub=sparse.vstack([a_ub, keep_placed]).tocsr(),
        b_ub=np.append(b_ub, -placed + 1e-7),
        bounds=(0, 1),
        method="highs-ds",
        options=_HIGHS,
    )
    _check(second, "profit")
    x = second.x
    if problem.unit_effort:
        # The optimal face {sum x = P*} of an integral polytope has integral vertices:
        # read the vertex exactly, so the profit carries no solver tolerance.
        x = np.rint(x)
        if np.any(per_lead @ x > 1) or np.any(per_rep @ x > room) or x.sum() != placed:
            raise RuntimeError("LP oracle: the unit-effort vertex is not integral (a solver problem)")
    profit = res.forced_profit + float(res.profit @ x)
    elapsed = time.perf_counter() - start
    return Reference("lp", res.forced_placed + placed, profit, elapsed, exact=problem.unit_effort)


def _check(result: object, stage: str) -> None:
    if getattr(result, "status", 1) != 0:
        raise RuntimeError(f"LP oracle ({stage} stage) failed: {getattr(result, 'message', '')}")


def hungarian(problem: Problem, max_cells: int = 5_000_000) -> Reference | None:
    """Hungarian method on rep slots; None when the slot matrix would exceed `max_cells`.

    Ineligible (lead, slot) cells cost 0 and eligible ones ``-(profit + M)`` with
    M larger than any profit sum, so a maximum-cardinality matching wins first.
    """
    _require_fairness_zero(problem)
    if not problem.unit_effort:
        raise ValueError("the Hungarian reference needs unit effort")
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_SCIPY_MISSING) from exc
    start = time.perf_counter()
    res = _residual(problem)
    slots = np.minimum(res.room, res.n_free)
    if res.n_free * int(slots.sum()) > max_cells:
        return None
    slot_rep = np.repeat(np.arange(problem.m), slots)
    free = np.flatnonzero(problem.forced < 0)
    if res.slot is None:
        profit = np.full((res.n_free, problem.m), np.nan)
        profit[res.lead_of_row, res.reps] = res.profit
        profit = profit[:, slot_rep]
    else:  # each slot its own worth (queue positions)
        profit = np.full((res.n_free, slot_rep.size), np.nan)
        profit[res.lead_of_row, res.slot] = res.profit
    big = 1.0 + 2.0 * float(np.abs(res.profit).sum())
    cost = np.where(np.isnan(profit), 0.0, -(profit + big))
    lead_pos, slot = linear_sum_assignment(cost)
    real = ~np.isnan(profit[lead_pos, slot])
    owner = np.where(problem.forced >= 0, problem.forced, -1)
    owner[free[lead_pos[real]]] = slot_rep[slot[real]]
    elapsed = time.perf_counter() - start
    return Reference("hungarian", int((owner >= 0).sum()), problem.total_profit(owner), elapsed, True)


def naive_cpsat(problem: Problem, time_limit_s: float = 10.0, workers: int = 1) -> Reference:
    """The textbook CP-SAT model: x_ij Booleans, one big weighted objective, nothing else.

    Profits are scaled to integers (CP-SAT needs them): 1e6 for the largest, so
    rounding moves the objective by under 1e-6 of a lead's value per lead.
    """
    _require_fairness_zero(problem)
    from ortools.sat.python import cp_model

    from solver.policies.cpsat_params import cp_solver, has_solution, termination

    start = time.perf_counter()
    res = _residual(problem)
    scale = 1e6 / (float(res.profit.max(initial=0.0)) or 1.0)
    weights = np.rint(res.profit * scale).astype(np.int64)
    big = int(weights.sum()) + 1  # one more lead placed beats any profit
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{p}") for p in range(res.rows.size)]
    by_lead: dict[int, list[int]] = {}
    by_rep: dict[int, list[int]] = {}
    for p, (i, j) in enumerate(zip(res.rows.tolist(), res.reps.tolist(), strict=True)):
        by_lead.setdefault(i, []).append(p)
        by_rep.setdefault(j, []).append(p)
    for ps in by_lead.values():
        model.add_at_most_one(x[p] for p in ps)
    for j, ps in by_rep.items():
        model.add(sum(int(res.effort[p]) * x[p] for p in ps) <= int(res.room[j]))
    model.maximize(sum((big + int(w)) * v for w, v in zip(weights.tolist(), x, strict=True)))
    solver = cp_solver(time_limit_s, workers)  # CP-SAT's default seed and search: the newcomer's
    status = solver.solve(model)
    if not has_solution(status):
        raise RuntimeError(f"naive CP-SAT found no solution ({termination(status)})")
    chosen = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    owner = np.where(problem.forced >= 0, problem.forced, -1)
    owner[res.rows[chosen]] = res.reps[chosen]
    elapsed = time.perf_counter() - start
    return Reference("naive_cpsat", int((owner >= 0).sum()), problem.total_profit(owner), elapsed,
                     exact=termination(status) is Status.OPTIMAL)
