r"""CP-SAT (OR-Tools): the exact engine for batches min-cost flow cannot express.

Variables: :math:`x_{ij} \in \{0,1\}` for each pair the rules admit (lead i to
rep j). The model, one method of `CpSatModel` per constraint family:

* assignment: :math:`\sum_j x_{ij} \le 1` (a lead may stay unassigned);
* eligibility: :math:`x_{ij}` exists only where ``eligible[i, j]``;
* owner rule: :math:`x_{i, f_i} = 1` for a lead with a forced owner :math:`f_i`;
* capacity (effort units, per lead or per pair):
  :math:`\sum_{i \notin F} a_{ij} x_{ij} \le \max(b_j - \sum_{i \in F, f_i = j} a_{ij}, 0)`
  (forced leads may push a rep past its capacity; they still use it);
* account grouping: one owner per group g,
  :math:`x_{ij} \le y_{gj}`, :math:`\sum_j y_{gj} \le 1`;
* fairness: ``penalty`` mode adds the convex penalty
  :math:`F = w u \sum_j (\ell_j - T_j)^2 / T_j` through one table (element)
  constraint per rep, exact at every integer load; ``minmax`` mode charges
  :math:`w u \max_j (\ell_j - T_j)`, the largest overload against target;
* objective (lexicographic, as in ``flow``): maximise
  :math:`M \cdot \text{placed} + \sum_{ij} p_{ij} x_{ij} - F` with
  :math:`M` larger than any swing of the second term, all in integers.

Soft rules need no constraint: their penalty is already in ``profit``.

CP-SAT needs integer coefficients, so money is scaled to integers (`_scale`);
a `ScalingWarning` says when rounding would move the objective noticeably.

Plain GAP batches (no owner rule, no grouping, no fairness term) go to
`gap_engine`: Lagrangian bound, a repaired start, reduced-cost pruning and
agent-based large-neighbourhood search with CP-SAT sub-solves; that is what
makes large batches reach near-optimal answers within seconds.

Determinism: a fixed seed gives the same model and hints; CP-SAT with several
workers and a time limit is not deterministic (the workers race), and neither
is the LNS that calls it.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.compile.problem import UNASSIGNED, Problem
from solver.policies import gap_engine
from solver.policies.registry import Solution, Status, register

# Resolution of scaled money: the largest |profit| maps to about this many units.
MONEY_RESOLUTION = 10**6
# Loads measured in value are rounded to this many units over the whole batch.
LOAD_RESOLUTION = 1000
# The big-M objective must stay well inside int64 (CP-SAT checks for overflow).
MAX_OBJECTIVE = 2**60
# Below this many pairs a full CP-SAT solve is tried first (proves small batches optimal).
SMALL_PAIRS = 2_000


class ScalingWarning(UserWarning):
    """Money or loads were rounded to integers with a noticeable loss of precision."""


_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
}


def solver_parameters(
    time_limit_s: float, workers: int, seed: int,
) -> cp_model.CpSolver:
    """A CpSolver with the parameters this policy uses, each with the reason.

    Parameter reference:
    https://github.com/google/or-tools/blob/stable/ortools/sat/sat_parameters.proto
    """
    solver = cp_model.CpSolver()
    params = solver.parameters
    # Anytime: stop at the policy's limit and return the best solution found.
    params.max_time_in_seconds = max(float(time_limit_s), 0.01)
    # 0 means using all available CPU cores.
    params.num_workers = int(workers)
    params.random_seed = int(seed)
    # No repair_hint: in OR-Tools 9.15 it can abort the whole process
    # ("Check failed: heuristics.fixed_search != nullptr", seen in
    # tests/test_policies.py with workers=0). Our hints are feasible owner
    # vectors (a lead may stay unassigned), so there is nothing to repair.
    # With an explicit objective the LP relaxation of the assignment rows is the
    # useful bound: level 2 adds cuts (knapsack covers on capacity rows).
    params.linearization_level = 2
    return solver


@dataclass(frozen=True)
class Scaling:
    """How money and loads became integers."""

    money: float  # integer units per unit of money
    load: float  # integer units per unit of load


def _scale(problem: Problem) -> Scaling:
    """Choose the money and load scales and warn when rounding loses precision.

    Integral profits (GAP files, whole-currency values) are kept exact; other
    profits map the largest |profit| to `MONEY_RESOLUTION` units (a power of
    ten, so the numbers stay readable in logs).
    """
    profit = problem.profit
    top = float(np.abs(profit).max(initial=0.0))
    integral = bool(np.all(np.abs(profit - np.round(profit)) < 1e-9))
    if integral and top <= MONEY_RESOLUTION:
        money = 1.0
    else:
        money = 10.0 ** math.floor(math.log10(MONEY_RESOLUTION / max(top, 1e-12)))
    scaled = profit * money
    lost = float(np.abs(np.round(scaled) - scaled).sum())
    if lost > 1e-4 * max(float(np.abs(scaled).sum()), 1.0):
        warnings.warn(f"cpsat: rounding money to integers moves the objective by about "
                      f"{lost / money:.3g}", ScalingWarning, stacklevel=3)
    if problem.options.fairness_measure == "count" and np.allclose(problem.lead_load, 1.0):
        load = 1.0
    else:
        total = float(problem.lead_load.sum())
        load = LOAD_RESOLUTION / total if total > 0 else 1.0
    return Scaling(money, load)


class CpSatModel:
    """The CP-SAT model of one batch, built from the `Problem` arrays.

    `add_constraints` calls one method per constraint family; the order matters
    only in that the variables come first and the objective last.
    """

    def __init__(self, problem: Problem, scaling: Scaling | None = None) -> None:
        self.problem = problem
        self.scaling = scaling or _scale(problem)
        self.model = cp_model.CpModel()
        n, m = problem.n, problem.m
        self.forced_mask = problem.forced >= 0
        admitted = problem.eligible.copy()
        # Forced leads get exactly their owner's pair (owner rule beats eligibility).
        admitted[self.forced_mask] = False
        admitted[np.flatnonzero(self.forced_mask), problem.forced[self.forced_mask]] = True
        self.rows, self.cols = np.nonzero(admitted)  # row-major: each lead's pairs are contiguous
        self.x = [self.model.new_bool_var(f"x[{i},{j}]")
                  for i, j in zip(self.rows.tolist(), self.cols.tolist(), strict=True)]
        self.row_start = np.searchsorted(self.rows, np.arange(n + 1))
        self.by_col = np.argsort(self.cols, kind="stable")
        self.col_start = np.searchsorted(self.cols[self.by_col], np.arange(m + 1))
        self.effort = (problem.effort[self.rows, self.cols] if problem.effort.ndim == 2
                       else problem.effort[self.rows])
        self.penalty_terms: list[tuple[cp_model.IntVar, int]] = []
        self.fairness_span = 0  # largest possible scaled fairness term
        self.placed = cp_model.LinearExpr.sum(self.x)

    def _col(self, j: int) -> np.ndarray:
        """Indices into `x` of rep j's pairs."""
        return self.by_col[self.col_start[j]:self.col_start[j + 1]]

    def add_constraints(self) -> CpSatModel:
        self._assignment()
        # Eligibility is structural: a pair the rules forbid has no variable.
        self._owner_rule()
        self._capacity()
        if self.problem.options.account_grouping:
            self._account_grouping()
        if self.problem.options.fairness_weight > 0:
            if self.problem.options.fairness_mode == "minmax":
                self._fairness_minmax()
            else:
                self._fairness_penalty()
        self._objective()
        return self

    def _assignment(self) -> None:
        r"""Each lead to at most one rep: :math:`\sum_j x_{ij} \le 1`."""
        for i in range(self.problem.n):
            pairs = self.x[self.row_start[i]:self.row_start[i + 1]]
            if len(pairs) > 1:
                self.model.add_at_most_one(pairs)

    def _owner_rule(self) -> None:
        r"""A lead with a forced owner goes to it: :math:`x_{i, f_i} = 1`."""
        for i in np.flatnonzero(self.forced_mask):
            self.model.add(self.x[self.row_start[i]] == 1)  # its only pair

    def _capacity(self) -> None:
        r"""Effort within capacity: :math:`\sum_{i \notin F} a_{ij} x_{ij} \le \max(b_j - A^F_j, 0)`."""
        p = self.problem
        free_pairs = ~self.forced_mask[self.rows]
        forced_use = np.bincount(self.cols[~free_pairs], weights=self.effort[~free_pairs],
                                 minlength=p.m)
        room = np.maximum(p.capacity - forced_use, 0).astype(np.int64)
        for j in range(p.m):
            sel = self._col(j)
            sel = sel[free_pairs[sel]]
            if self.effort[sel].sum() > room[j]:  # a row that cannot bind is left out
                self.model.add(cp_model.LinearExpr.weighted_sum(
                    [self.x[k] for k in sel], self.effort[sel].tolist()) <= int(room[j]))

    def _account_grouping(self) -> None:
        r"""One owner per account group: :math:`x_{ij} \le y_{gj}`, :math:`\sum_j y_{gj} \le 1`.

        Leads may still stay unassigned individually. When the owner rule fixes
        leads of one group to different reps, the owner rule wins and those
        forced leads are left out of the group.
        """
        p = self.problem
        for g in np.unique(p.group[p.group >= 0]):
            members = np.flatnonzero(p.group == g)
            owners = np.unique(p.forced[members][p.forced[members] >= 0])
            if len(owners) > 1:
                members = members[p.forced[members] < 0]
            if len(members) < 2 and len(owners) <= 1:
                continue
            y = {}
            for i in members:
                for k in range(self.row_start[i], self.row_start[i + 1]):
                    j = int(self.cols[k])
                    if j not in y:
                        y[j] = self.model.new_bool_var(f"y[{g},{j}]")
                    self.model.add_implication(self.x[k], y[j])
            self.model.add_at_most_one(y.values())

    def _loads(self) -> tuple[list[cp_model.LinearExpr], np.ndarray, np.ndarray]:
        """Per rep: the scaled added load (integer expression), its upper bound, scaled base."""
        p, s = self.problem, self.scaling.load
        unit = np.round(p.lead_load * s).astype(np.int64)
        exprs, tops = [], np.zeros(p.m, dtype=np.int64)
        for j in range(p.m):
            sel = self._col(j)
            w = unit[self.rows[sel]]
            exprs.append(cp_model.LinearExpr.weighted_sum([self.x[k] for k in sel], w.tolist()))
            tops[j] = int(w.sum())
        return exprs, tops, p.base_load * s

    def _fairness_penalty(self) -> None:
        r"""Convex penalty :math:`w u (\ell_j - T_j)^2 / T_j` per rep, as a table over its load.

        The added load of rep j is an integer k (a count, or value rounded to
        `LOAD_RESOLUTION` units per batch); ``pen_j = table_j[k]`` is exact at
        every k, so no piecewise approximation is involved for count loads.
        """
        p, sc = self.problem, self.scaling
        factor = p.options.fairness_weight * p.fairness_unit * sc.money
        exprs, tops, base = self._loads()
        targets = p.targets * sc.load
        for j in range(p.m):
            if targets[j] <= 0 or tops[j] == 0:
                continue  # no target (unavailable rep) or no lead can reach it
            k = np.arange(tops[j] + 1)
            # Deviation in load units: divide the scale back out once.
            table = np.round(factor * (base[j] + k - targets[j]) ** 2
                             / (targets[j] * sc.load)).astype(np.int64)
            load = self.model.new_int_var(0, int(tops[j]), f"load[{j}]")
            self.model.add(load == exprs[j])
            pen = self.model.new_int_var(int(table.min()), int(table.max()), f"pen[{j}]")
            self.model.add_element(load, table.tolist(), pen)
            self.penalty_terms.append((pen, 1))
            self.fairness_span += int(table.max() - table.min())

    def _fairness_minmax(self) -> None:
        r"""Min-max: charge :math:`w u \max_j (\ell_j - T_j)` (load units -> money).

        :math:`z \ge \ell_j - T_j` for every rep with a target, in scaled load
        units, and z enters the objective at :math:`w u / s_\ell` per unit.
        """
        p, sc = self.problem, self.scaling
        exprs, tops, base = self._loads()
        targets = p.targets * sc.load
        active = np.flatnonzero(targets > 0)
        if active.size == 0:
            return
        offset = np.round(base - targets).astype(np.int64)
        lo = int(offset[active].min())
        hi = int((offset + tops)[active].max())
        z = self.model.new_int_var(max(lo, -10**12), hi, "max_overload")
        for j in active:
            self.model.add(z >= exprs[j] + int(offset[j]))
        per_unit = p.options.fairness_weight * p.fairness_unit * sc.money / sc.load
        coef = max(round(per_unit), 1)
        if abs(coef - per_unit) > 1e-3 * per_unit:
            warnings.warn("cpsat: min-max fairness weight rounded to an integer per load unit",
                          ScalingWarning, stacklevel=4)
        self.penalty_terms.append((z, coef))
        self.fairness_span += coef * (hi - lo)

    def _objective(self) -> None:
        r"""Maximise :math:`M \cdot \text{placed} + \sum p_{ij} x_{ij} - \text{penalties}`.

        M exceeds the largest possible swing of the second level, so one more
        placed lead always wins: the lexicographic order in one integer
        objective. Profits are scaled by `Scaling.money`.
        """
        p, sc = self.problem, self.scaling
        self.coef = np.round(p.profit[self.rows, self.cols] * sc.money).astype(np.int64)
        swing = int(np.abs(self.coef).sum()) + self.fairness_span
        self.big_m = swing + 1
        if self.big_m * (p.n + 1) + swing > MAX_OBJECTIVE:
            raise OverflowError("cpsat objective would overflow int64; lower MONEY_RESOLUTION")
        terms = [cp_model.LinearExpr.weighted_sum(self.x, (self.coef + self.big_m).tolist())]
        terms += [-c * v for v, c in self.penalty_terms]
        self.model.maximize(cp_model.LinearExpr.sum(terms))

    def hint(self, owner: np.ndarray) -> None:
        """Seed the search with an owner vector (-1 = unassigned)."""
        on = (owner[self.rows] == self.cols).tolist()
        for var, value in zip(self.x, on, strict=True):
            self.model.add_hint(var, value)

    def owner(self, solver: cp_model.CpSolver) -> np.ndarray:
        values = np.array([solver.boolean_value(v) for v in self.x], dtype=bool)
        owner = np.full(self.problem.n, UNASSIGNED, dtype=np.int64)
        owner[self.rows[values]] = self.cols[values]
        return owner

    def second_level(self, scaled: float) -> float:
        """Money value of a scaled objective (or bound) once the placed count is taken out."""
        return (scaled % self.big_m if scaled >= 0 else scaled) / self.scaling.money

    def placed_count(self, scaled: float) -> int:
        return int(scaled // self.big_m)


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


def warm_start(problem: Problem) -> np.ndarray | None:
    """An owner vector from `flow` (exact for unit effort) or `greedy`; None if unavailable.

    Imported lazily: the policies are optional neighbours of this one.
    """
    from solver.policies.registry import solve

    name = "flow" if problem.unit_effort and not problem.options.account_grouping else "greedy"
    try:
        return solve(problem, name).owner
    except (ValueError, ImportError):
        return None


def _is_plain_gap(problem: Problem) -> bool:
    """No owner rule, no grouping, no fairness term: the batch is a pure GAP."""
    return (not np.any(problem.forced >= 0)
            and not (problem.options.account_grouping and np.any(problem.group >= 0))
            and problem.options.fairness_weight == 0)


def _flow_is_exact(problem: Problem) -> bool:
    """The batch is one min-cost flow solves exactly: the same objective, no side constraint.

    Unit effort, no account grouping, fairness as a penalty on lead counts (or
    none): a transportation problem with a convex separable cost.
    """
    opts = problem.options
    grouped = opts.account_grouping and bool(np.any(problem.group >= 0))
    return (problem.unit_effort and not grouped and opts.fairness_mode == "penalty"
            and (opts.fairness_weight == 0 or opts.fairness_measure == "count"))


@register("cpsat", priced=True, exact_tolerance=1e-6)
def solve_cpsat(problem: Problem) -> Solution:
    """Solve the batch with CP-SAT (plain GAPs through `gap_engine` first).

    A batch that `flow` solves exactly goes to flow: it proves the same
    optimum in milliseconds, where the CP-SAT model can spend its whole time
    limit closing the fairness bound (300 x 36 sample: 10 s, unproven).
    """
    if problem.n == 0:
        return Solution(np.full(0, UNASSIGNED, dtype=np.int64), Status.OPTIMAL, 0.0, 0.0,
                        stats={"termination": "optimal"})
    if _flow_is_exact(problem):
        from solver.policies.registry import solve

        solution = solve(problem, "flow")
        solution.stats = {**solution.stats, "engine": "flow", "termination": "optimal"}
        return solution
    start = time.perf_counter()
    if _is_plain_gap(problem) and problem.m > 0:
        solution = solve_gap(problem)
        if solution is not None:
            return solution
    # Whatever the engine used counts against the policy's time limit.
    left = max(problem.options.time_limit_s - (time.perf_counter() - start), 0.05)
    return solve_model(problem, time_limit_s=left)


def solve_model(
    problem: Problem, *, hint: np.ndarray | None = None, time_limit_s: float | None = None,
) -> Solution:
    """The full CP-SAT model with every constraint family, warm-started."""
    start = time.perf_counter()
    opts = problem.options
    limit = opts.time_limit_s if time_limit_s is None else time_limit_s
    built = CpSatModel(problem).add_constraints()
    if hint is None:
        hint = warm_start(problem)
    if hint is not None:
        built.hint(hint)
    solver = solver_parameters(limit - (time.perf_counter() - start), opts.workers, opts.seed)
    code = solver.solve(built.model)
    if code not in _STATUS:
        # No solution within the limit (or the model was rejected): the hint, or
        # the owner rule alone, is still a feasible answer; never return nothing.
        owner = hint if hint is not None and not problem.violations(hint) else problem.forced.copy()
        return Solution(owner, Status.HEURISTIC, policy_objective(problem, owner),
                        stats={"termination": solver.status_name(code).lower(),
                               "engine": "cpsat-model"})
    owner = built.owner(solver)
    bound_scaled = solver.best_objective_bound
    placed = int((owner >= 0).sum())
    # The bound is on the second level only once the first level is settled.
    bound = (built.second_level(bound_scaled) if built.placed_count(bound_scaled) == placed
             else None)
    status = _STATUS[code]
    stats: dict[str, float | int | str] = {
        "termination": "optimal" if status is Status.OPTIMAL else "time_limit",
        "engine": "cpsat-model",
        "placed": placed,
        "money_scale": built.scaling.money,
    }
    if bound is not None:
        stats["gap"] = abs(bound - built.second_level(solver.objective_value)) / max(abs(bound), 1e-9)
    return Solution(owner, status, policy_objective(problem, owner), bound, stats=stats)


def solve_gap(problem: Problem) -> Solution | None:
    """A plain GAP through `gap_engine`; None when no complete assignment was found.

    Steps and their share of the time limit T: Lagrangian bound and reduced
    costs (<= 10%); regret start + repair + shift moves. Then one of:

    * small batches (at most `SMALL_PAIRS` pairs after exact reduced-cost
      fixing, or in all when the start left leads out): `gap_engine.portfolio`
      runs CP-SAT on that whole model and LNS side by side for all that is
      left. CP-SAT proves OR-Library gap1-12 optimal in well under a second
      each (the old route, a top-k restricted solve first when the start was
      incomplete, could spend the whole limit on a restriction that misses
      the optimum: gap8-1 1132 vs 1133); LNS does better on tight type D/E;
    * large tight batches (the start left leads out): CP-SAT alone on the
      top-6 pruned model gets the rest of the time (there its own search beat
      our LNS, measured), then LNS with whatever remains;
    * other large batches: agent-based LNS on the pruned model.

    Returns None (the caller falls back to the full model with its
    unassigned option) when not every lead could be placed.
    """
    start = time.perf_counter()
    opts = problem.options
    limit = opts.time_limit_s

    def left() -> float:
        return limit - (time.perf_counter() - start)

    scaling = _scale(problem)
    cost = np.where(problem.eligible, -np.round(problem.profit * scaling.money), np.inf)
    if np.any(~np.isfinite(cost).any(axis=1)):
        return None  # a lead with no eligible rep: placement level < n
    weight = (problem.effort if problem.effort.ndim == 2
              else np.broadcast_to(problem.effort[:, None], cost.shape)).astype(np.int64)
    capacity = problem.capacity.astype(np.int64)
    workers = opts.workers or 2

    relax = gap_engine.lagrangian(cost, weight, capacity, time_limit_s=0.1 * limit)
    bound = math.ceil(relax.bound - 1e-6)  # integer costs: the optimum is at least this
    owner = gap_engine.repair(cost, weight, capacity,
                              gap_engine.regret_start(cost, weight, capacity, relax.multipliers))
    stats: dict[str, float | int | str] = {"engine": "gap_engine",
                                           "lagrangian_bound": -relax.bound / scaling.money}
    if gap_engine.feasible(weight, capacity, owner):
        owner = gap_engine.improve(cost, weight, capacity, owner, time_limit_s=0.05 * limit)
        value = gap_engine.gap_value(cost, owner)
        stats["start_objective"] = -value / scaling.money
        # Reduced-cost fixing (exact): pairs that cannot be in a better solution go.
        exact = gap_engine.candidates(relax.reduced, 0, owner, bound=relax.bound, upper=value)
        hint: np.ndarray | None = owner
    else:
        value, exact, hint = math.inf, np.isfinite(cost), None
    stats["money_scale"] = scaling.money
    proven = value <= bound
    if not proven and exact.sum() <= SMALL_PAIRS:
        stats["engine"] = "gap_engine+portfolio"
        if hint is None:  # any complete assignment first, so both searches have a start
            found, _, _ = gap_engine.solve_subset(
                cost, weight, capacity, exact, None, time_limit_s=left() - 0.02,
                workers=workers, seed=opts.seed, stop_at_first=True)
            if found is None:
                return None
            owner, value = found, gap_engine.gap_value(cost, found)
        pruned = gap_engine.candidates(relax.reduced, 6, owner, bound=relax.bound, upper=value)
        owner, cp_bound, proven, lns_stats = gap_engine.portfolio(
            cost, weight, capacity, exact, pruned, owner, time_limit_s=left() - 0.02,
            seed=opts.seed, bound=bound, workers=workers, reduced=relax.reduced)
        stats.update(lns_stats)
        bound = max(bound, math.ceil(cp_bound - 1e-6))
        value = gap_engine.gap_value(cost, owner)
        return _gap_solution(problem, owner, -bound / scaling.money, proven or value <= bound,
                             stats)
    if hint is None:
        # No hint: on c801600 a partial regret or greedy hint made CP-SAT's own
        # search worse (16641-16781 vs 16308-16400 without, best known 16285).
        mask = gap_engine.candidates(relax.reduced, 6)
        found, _, _ = gap_engine.solve_subset(
            cost, weight, capacity, mask, None,
            time_limit_s=left() - 0.05, workers=workers, seed=opts.seed)
        if found is None:
            return None
        owner = gap_engine.improve(cost, weight, capacity, found, time_limit_s=0.05 * limit)
        value = gap_engine.gap_value(cost, owner)
        proven = value <= bound
    if not proven and left() > 0.05:
        pruned = gap_engine.candidates(relax.reduced, 6, owner, bound=relax.bound, upper=value)
        owner, lns_stats = gap_engine.lns(
            cost, weight, capacity, pruned, owner, time_limit_s=left() - 0.02,
            seed=opts.seed, workers=workers, bound=bound)
        stats.update(lns_stats)
        value = gap_engine.gap_value(cost, owner)
        proven = value <= bound
    return _gap_solution(problem, owner, -bound / scaling.money, proven, stats)


def _gap_solution(
    problem: Problem, owner: np.ndarray, upper: float, proven: bool,
    stats: dict[str, float | int | str],
) -> Solution:
    """The policy's result for a complete GAP assignment with bound `upper` (money)."""
    objective = problem.objective(owner)
    stats = stats | {"termination": "optimal" if proven else "time_limit",
                     "gap": abs(upper - objective) / max(abs(upper), 1e-9)}
    return Solution(owner, Status.OPTIMAL if proven else Status.FEASIBLE, objective, upper,
                    stats=stats)
