r"""The CP-SAT model of one batch: variables, one method per constraint family, objective.

The model (the cpsat policy's docstring says when it is used):

* assignment: :math:`\sum_j x_{ij} \le 1` (a lead may stay unassigned);
* eligibility: :math:`x_{ij}` exists only where ``eligible[i, j]``;
* owner rule: :math:`x_{i, f_i} = 1` for a lead with a forced owner :math:`f_i`;
* capacity (effort units, per lead or per pair):
  :math:`\sum_{i \notin F} a_{ij} x_{ij} \le \max(b_j - \sum_{i \in F, f_i = j} a_{ij}, 0)`
  (forced leads may push a rep past its capacity; they still use it);
* team caps: for each capped team T,
  :math:`\sum_{i \notin F, j \in T} a_{ij} x_{ij} \le \max(c_T - A^F_T, 0)`
  (a lead admitted to a team goes to one of its members, within the team's cap);
* account grouping: one owner per group g,
  :math:`x_{ij} \le y_{gj}`, :math:`\sum_j y_{gj} \le 1`;
* fairness: ``penalty`` mode adds the convex penalty
  :math:`F = w u \sum_j (\ell_j - T_j)^2 / T_j` through one table (element)
  constraint per rep, exact at every integer load; ``minmax`` mode charges
  :math:`w u \max_j (\ell_j - T_j)`, the largest overload against target;
* queue places (speed to lead with position slots, `Problem.queues`): rep j's k-th lead of
  the batch waits behind the k-1 before it and keeps ratio :math:`\rho_{jk}` of its first-slot
  worth (places count leads, not effort, as `Problem.position_ratio` does). Places of equal
  ratio share one slot s with room :math:`c_{js}`; :math:`y_{ijs}` puts pair (i, j) in slot
  s >= 1 (slot 0 is :math:`x_{ij} - \sum_s y_{ijs}`), :math:`\sum_{s \ge 1} y_{ijs} \le x_{ij}`
  and :math:`\sum_i y_{ijs} \le c_{js}`; the last modelled slot takes any further leads at its
  own ratio, a relaxation exact when it holds no more leads than it has places (`overflow`);
  the owner rule's leads come first at their fixed places;
* objective (lexicographic, as in ``flow``): maximise
  :math:`M \cdot \text{placed} + \sum_{ij} p_{ij} x_{ij} + \sum_{ijs} g_{ij} (\rho_{js} - \rho_{j0})
  y_{ijs} - F` (:math:`p_{ij}` at the rep's first free place) with
  :math:`M` larger than any swing of the second term, all in integers.

Soft rules need no constraint: their penalty is already in ``profit``.

CP-SAT needs integer coefficients, so money is scaled to integers (`scale`);
a `ScalingWarning` says when rounding would move the objective noticeably.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.compile.problem import UNASSIGNED, Problem
from solver.policies.registry import QueueSlots, counting, depth_within_budget

# Resolution of scaled money: the largest |profit| maps to about this many units.
MONEY_RESOLUTION = 10**6
# ... and every lead's own best |profit| to at least this many (as far as int64 allows): a lead
# worth 1e14 must not round the 1e3 leads beside it to 0 and leave their reps to chance.
LEAD_RESOLUTION = 10**3
# Loads measured in value are rounded to this many units over the whole batch.
LOAD_RESOLUTION = 1000
# The big-M objective must stay well inside int64 (CP-SAT checks for overflow).
MAX_OBJECTIVE = 2**60
# Queue places (speed to lead): the pair x slot variables of a model stay within this many per
# eligible free pair, at least the floor, at most the limit (past it the places are modelled
# less deep and the answer, if a rep takes more leads, is feasible rather than proven).
QUEUE_VARS_PER_PAIR = 4
QUEUE_VARS_FLOOR = 20_000
QUEUE_VARS_LIMIT = 200_000


class ScalingWarning(UserWarning):
    """Money or loads were rounded to integers with a noticeable loss of precision."""


@dataclass(frozen=True)
class Scaling:
    """How money and loads became integers, and what the rounding may cost."""

    money: float  # integer units per unit of money
    load: float  # integer units per unit of load
    # Largest shift of any solution's profit by rounding, in money: sum over leads of the
    # largest rounding error among its pairs.
    rounding: float = 0.0
    # False when int64 could not give every lead `LEAD_RESOLUTION` units: the solver's
    # optimum may then not be the batch's, and the policy must not call it optimal.
    exact: bool = True


def scale(problem: Problem) -> Scaling:
    """Choose the money and load scales and warn when rounding loses precision.

    Integral profits (GAP files, whole-currency values) are kept exact; other
    profits map the largest |profit| to `MONEY_RESOLUTION` units and each
    lead's best |profit| to at least `LEAD_RESOLUTION` (a power of ten, so the
    numbers stay readable in logs), capped where the lexicographic objective
    would leave int64.
    """
    profit = problem.profit
    top = float(np.abs(profit).max(initial=0.0))
    # (with queue places the coefficients are profits times ratios: fractions even of whole numbers)
    integral = bool(np.all(np.abs(profit - np.round(profit)) < 1e-9)) and not problem.queues
    lead_top = np.abs(profit).max(axis=1, initial=0.0)
    smallest = float(lead_top[lead_top > 0].min(initial=top))
    # The objective is about money * sum(lead_top) * (n + 2) (see `_objective`); fairness adds
    # to it, so a factor 16 is left for it (an overflow still raises there, never wraps).
    ceiling = MAX_OBJECTIVE / (16 * (problem.n + 2) * max(float(lead_top.sum()), 1e-12))
    if integral and ceiling >= 1:
        money = 1.0  # whole numbers that fit stay as they are: no rounding at all
    else:
        money = max(10.0 ** math.floor(math.log10(MONEY_RESOLUTION / max(top, 1e-12))),
                    10.0 ** math.ceil(math.log10(LEAD_RESOLUTION / max(smallest, 1e-12))))
        money = min(money, 10.0 ** math.floor(math.log10(ceiling)))
    scaled = profit * money
    error = np.abs(np.round(scaled) - scaled)
    rounding = float(error.max(axis=1, initial=0.0).sum()) / money
    lost = float(error.sum())
    if lost > 1e-4 * max(float(np.abs(scaled).sum()), 1.0):
        warnings.warn(f"cpsat: rounding money to integers moves the objective by about "
                      f"{lost / money:.3g}", ScalingWarning, stacklevel=3)
    if problem.options.fairness_measure == "count" and np.allclose(problem.lead_load, 1.0):
        load = 1.0
    else:
        total = float(problem.lead_load.sum())
        load = LOAD_RESOLUTION / total if total > 0 else 1.0
    exact = rounding == 0 or money * smallest >= LEAD_RESOLUTION
    return Scaling(money, load, rounding, exact)


class CpSatModel:
    """The CP-SAT model of one batch, built from the `Problem` arrays.

    `add_constraints` calls one method per constraint family; the order matters
    only in that the variables come first and the objective last.
    """

    def __init__(self, problem: Problem, scaling: Scaling | None = None, *,
                 queue_places: bool | None = None) -> None:
        self.problem = problem
        # Queue places within the batch (`_queue_places`): with speed's position slots unless told
        # otherwise (False: every lead at its rep's first place, as with one slot).
        self.queue_places = problem.queues if queue_places is None else queue_places and problem.queues
        self.scaling = scaling or scale(problem)
        self.model = cp_model.CpModel()
        n, m = problem.n, problem.m
        self.forced_mask = problem.forced >= 0
        admitted = problem.eligible.copy()
        # Forced leads get exactly their owner's pair (owner rule beats eligibility).
        admitted[self.forced_mask] = False
        admitted[np.flatnonzero(self.forced_mask), problem.forced[self.forced_mask]] = True
        self.rows, self.cols = np.nonzero(admitted)  # row-major: each lead's pairs are contiguous
        # Unnamed: names cost half the build time on 90,000 pairs (the pair is rows/cols[k]).
        self.x = [self.model.new_bool_var("") for _ in range(self.rows.size)]
        self.row_start = np.searchsorted(self.rows, np.arange(n + 1))
        self.by_col = np.argsort(self.cols, kind="stable")
        self.col_start = np.searchsorted(self.cols[self.by_col], np.arange(m + 1))
        self.effort = (problem.effort[self.rows, self.cols] if problem.effort.ndim == 2
                       else problem.effort[self.rows])
        self.penalty_terms: list[tuple[cp_model.IntVar, int]] = []
        self.fairness_span = 0  # largest possible scaled fairness term
        self.penalty_constant = 0  # scaled fairness charge of reps no lead can reach (not in the model)
        self.rounded_charges = 0  # fairness charges rounded to whole units (one per rep charged)
        self.minmax_rounding = 0.0  # scaled: what rounding min-max's charge per unit may move
        self.placed = cp_model.LinearExpr.sum(self.x)
        # Money per pair at the rep's first free queue place (`_queue_places` sets it with queues).
        self.worth = problem.profit[self.rows, self.cols]
        self.places = QueueSlots.none()
        # Queue places past a rep's first slot (`_queue_places`): y[t] puts pair y_pair[t] in slot
        # y_slot[t], which changes its worth by y_gain[t].
        self.y: list[cp_model.IntVar] = []
        self.y_pair = self.y_slot = np.zeros(0, dtype=np.int64)
        self.y_gain = np.zeros(0)
        # Largest shift of any solution's money by rounding (the queue terms' rounding added).
        self.rounding = self.scaling.rounding
        # False when the fairness term rounds loads (value loads to integer units, min-max targets
        # to whole units): no proof of optimality. `bound_holds`: the bound, with `rounding`, still
        # holds (min-max's rounding is counted in it; value loads' is not).
        self.loads_exact = True
        self.bound_holds = True

    @staticmethod
    def size_with_places(problem: Problem) -> int:
        """At most how many variables the model has with queue places (pairs, and a place
        variable per free pair and slot past the first, within the budget of `_queue_places`)."""
        pairs = int(problem.eligible.sum())
        if not problem.queues:
            return pairs
        assert problem.speed is not None
        free = int(problem.eligible[problem.forced < 0].sum())
        budget = min(max(QUEUE_VARS_PER_PAIR * free, QUEUE_VARS_FLOOR), QUEUE_VARS_LIMIT)
        return pairs + min(free * (max(problem.speed.slots, 1) - 1), budget)

    def _col(self, j: int) -> np.ndarray:
        """Indices into `x` of rep j's pairs."""
        return self.by_col[self.col_start[j]:self.col_start[j + 1]]

    def add_constraints(self) -> CpSatModel:
        """Every constraint family and the objective, in order; returns the model itself."""
        self._assignment()
        # Eligibility is structural: a pair the rules forbid has no variable.
        self._owner_rule()
        self._capacity()
        self._team_caps()
        if self.queue_places:
            self._queue_places()
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

    def _room(self) -> np.ndarray:
        """int (m,): effort units left for free leads after the forced ones (never negative)."""
        forced_pairs = self.forced_mask[self.rows]
        forced_use = np.bincount(self.cols[forced_pairs], weights=self.effort[forced_pairs],
                                 minlength=self.problem.m)
        return np.maximum(self.problem.capacity - forced_use, 0).astype(np.int64)

    def _capacity(self) -> None:
        r"""Effort within capacity: :math:`\sum_{i \notin F} a_{ij} x_{ij} \le \max(b_j - A^F_j, 0)`."""
        free_pairs = ~self.forced_mask[self.rows]
        room = self._room()
        for j in range(self.problem.m):
            sel = self._col(j)
            sel = sel[free_pairs[sel]]
            if self.effort[sel].sum() > room[j]:  # a row that cannot bind is left out
                self.model.add(cp_model.LinearExpr.weighted_sum(
                    [self.x[k] for k in sel], self.effort[sel].tolist()) <= int(room[j]))

    def _team_caps(self) -> None:
        r"""A capped team's members take at most its room: :math:`\sum_{i \notin F, j \in T} a_{ij} x_{ij}
        \le \max(c_T - A^F_T, 0)`, forced leads counted as for a rep's capacity."""
        p = self.problem
        if not p.team_room.size:
            return
        forced_owner = np.where(self.forced_mask, p.forced, UNASSIGNED)
        room = np.maximum(p.team_free(forced_owner), 0)
        free_pairs = ~self.forced_mask[self.rows]
        for members, cap in zip(p.capped_teams, room, strict=True):
            sel = np.flatnonzero(free_pairs & members[self.cols])
            if self.effort[sel].sum() > cap:  # a cap that cannot bind is left out
                self.model.add(cp_model.LinearExpr.weighted_sum(
                    [self.x[k] for k in sel], self.effort[sel].tolist()) <= int(cap))

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
                        y[j] = self.model.new_bool_var("")
                    self.model.add_implication(self.x[k], y[j])
            self.model.add_at_most_one(y.values())

    def _loads(self) -> tuple[list[cp_model.LinearExpr], np.ndarray, np.ndarray]:
        """Per rep: the scaled added load (integer expression), its upper bound, scaled base.

        The bound counts only as many free leads as can fit in the rep's room
        (its smallest efforts first), heaviest loads first: the fairness table
        spans that range, not every eligible lead (3,000 x 100 effort batch:
        tables of ~900 entries per rep became ~60, and CP-SAT's presolve,
        which encodes each table value as a literal, no longer runs seconds
        past the time limit).
        """
        p, s = self.problem, self.scaling.load
        unit = np.round(p.lead_load * s).astype(np.int64)
        whole = bool(np.allclose(unit, p.lead_load * s, rtol=0, atol=1e-9))
        self.loads_exact &= whole
        self.bound_holds &= whole
        free_pair = ~self.forced_mask[self.rows]
        room = self._room()
        exprs, tops = [], np.zeros(p.m, dtype=np.int64)
        for j in range(p.m):
            sel = self._col(j)
            w = unit[self.rows[sel]]
            exprs.append(cp_model.LinearExpr.weighted_sum([self.x[k] for k in sel], w.tolist()))
            free = free_pair[sel]
            fits = int(np.searchsorted(np.cumsum(np.sort(self.effort[sel][free])), room[j], side="right"))
            tops[j] = int(w[~free].sum() + np.sort(w[free])[::-1][:fits].sum())
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
            if targets[j] <= 0:
                continue  # no target (unavailable rep): outside the penalty
            self.rounded_charges += 1
            if tops[j] == 0:  # no lead can reach it: its charge is a constant, kept out of the model
                charge = factor * (base[j] - targets[j]) ** 2 / (targets[j] * sc.load)
                self.penalty_constant += int(np.round(charge))
                continue
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
        # Targets rounded to whole units move the largest overload by up to half a unit: no proof,
        # but the bound holds with that much charge added to the rounding (`minmax_rounding`).
        whole = bool(np.allclose(offset[active], (base - targets)[active], rtol=0, atol=1e-9))
        self.loads_exact &= whole
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
        # the charge per unit was rounded: it moves by that much per unit of the largest overload
        self.minmax_rounding = (abs(coef - per_unit) * max(abs(lo), abs(hi))
                                + (0.0 if whole else 0.5 * coef))

    def _fillable(self) -> np.ndarray:
        """int (m,): the most free leads each rep can take: as many as fit its room smallest
        effort first, and no more than may go to it (at least 1)."""
        free_pairs = ~self.forced_mask[self.rows]
        room = self._room()
        most = np.ones(self.problem.m, dtype=np.int64)
        for j in range(self.problem.m):
            sel = self._col(j)
            effort = np.sort(self.effort[sel[free_pairs[sel]]])
            most[j] = max(int(np.searchsorted(np.cumsum(effort), room[j], side="right")), 1)
        return most

    def _queue_places(self) -> None:
        r"""Queue places within the batch (see the module docstring): `speed.slots` places per
        rep at most, within flow's arc budget, merged where their ratio is equal; a rep whose
        worth is flat from there to the last place it can fill is modelled whole."""
        p = self.problem
        assert p.speed is not None
        m = p.m
        free_pairs = ~self.forced_mask[self.rows]
        free_cols = self.cols[free_pairs]
        pairs_per_rep = np.bincount(free_cols, minlength=m)
        offset = np.bincount(p.forced[self.forced_mask], minlength=m)  # the owner rule's leads first
        fillable = self._fillable()
        budget = min(max(QUEUE_VARS_PER_PAIR * free_cols.size, QUEUE_VARS_FLOOR), QUEUE_VARS_LIMIT)
        depth = depth_within_budget(np.minimum(fillable, max(p.speed.slots, 1)), pairs_per_rep, budget)
        every = np.arange(m)
        flat = p.speed.ratio(every, offset + depth - 1) == p.speed.ratio(every, offset + fillable - 1)
        self.places = places = QueueSlots.of(p, offset, depth, flat | (depth >= fillable))
        gross = p.gross_profit[self.rows, self.cols]
        # Free pairs at their rep's first free place; the owner rule's leads at their own places.
        self.worth = self.worth + gross * (places.first_ratio[self.cols] - 1.0)
        forced_pairs = np.flatnonzero(self.forced_mask[self.rows])
        at = p.position_ratio(p.forced)[self.rows[forced_pairs]]  # their places need no choice
        self.worth[forced_pairs] = (p.profit[self.rows[forced_pairs], self.cols[forced_pairs]]
                                    + gross[forced_pairs] * (at - 1.0))
        # y: one variable per free pair of a queued rep and slot past its first
        free_index = np.flatnonzero(free_pairs)
        per_pair = places.slots[free_cols] - 1
        self.y_pair = np.repeat(free_index, per_pair)
        self.y_slot = np.repeat(places.start[free_cols] + 1, per_pair) + counting(per_pair)
        self.y = [self.model.new_bool_var("") for _ in range(self.y_pair.size)]
        first_ratio = places.first_ratio[self.cols[self.y_pair]]
        self.y_gain = gross[self.y_pair] * (places.ratio[self.y_slot] - first_ratio)
        first = 0
        for k, count in zip(free_index[per_pair > 0], per_pair[per_pair > 0], strict=True):
            deeper = self.y[first:first + count]
            self.model.add(cp_model.LinearExpr.sum(deeper) <= self.x[k])
            first += count
        # Each slot holds at most its places (the last one: whatever the room lets in).
        by_slot = np.argsort(self.y_slot, kind="stable")
        slot_bounds = np.searchsorted(self.y_slot[by_slot], np.arange(places.ratio.size + 1))
        for j in map(int, np.flatnonzero(places.slots > 1)):
            s0 = int(places.start[j])
            sel = self._col(j)
            sel = sel[free_pairs[sel]]
            first_slot = [self.x[k] for k in sel]
            deeper = [self.y[t] for t in by_slot[slot_bounds[s0 + 1]:slot_bounds[s0 + places.slots[j]]]]
            self.model.add(cp_model.LinearExpr.sum(first_slot) - cp_model.LinearExpr.sum(deeper)
                           <= int(places.room[s0]))
            for s in range(s0 + 1, s0 + int(places.slots[j]) - 1):
                held = [self.y[t] for t in by_slot[slot_bounds[s]:slot_bounds[s + 1]]]
                self.model.add(cp_model.LinearExpr.sum(held) <= int(places.room[s]))

    def _objective(self) -> None:
        r"""Maximise :math:`M \cdot \text{placed} + \sum p_{ij} x_{ij} + \text{queue terms} - \text{charges}`.

        M exceeds the largest possible swing of the second level, so one more
        placed lead always wins: the lexicographic order in one integer
        objective. Money is scaled by `Scaling.money`.
        """
        p, sc = self.problem, self.scaling
        self.coef = np.round(self.worth * sc.money).astype(np.int64)
        y_coef = np.round(self.y_gain * sc.money).astype(np.int64)
        # A lead takes at most one pair (and one slot of it), so the money term ranges over at most
        # the sum of each lead's (best gain - worst loss); the sum over every pair was m times
        # looser and made M (and every coefficient) needlessly large.
        deepest = np.zeros(self.rows.size, np.int64)
        np.minimum.at(deepest, self.y_pair, y_coef)
        high, low = np.zeros(p.n, np.int64), np.zeros(p.n, np.int64)
        np.maximum.at(high, self.rows, self.coef)
        np.minimum.at(low, self.rows, self.coef + deepest)
        swing = int(high.sum()) - int(low.sum()) + self.fairness_span
        self.big_m = swing + 1
        # the least the second level can be: every lead at its worst, every charge at its most
        most = sum(c * int(list(v.proto.domain)[-1]) for v, c in self.penalty_terms)
        self.second_low = int(low.sum()) - most
        if self.big_m * (p.n + 1) + swing > MAX_OBJECTIVE:
            raise OverflowError("cpsat objective would overflow int64")
        if self.queue_places:  # a lead's money is its pair's term and at most one slot's: both rounded
            y_error = np.zeros(self.rows.size)
            np.maximum.at(y_error, self.y_pair, np.abs(y_coef - self.y_gain * sc.money))
            per_lead = np.zeros(p.n)
            np.maximum.at(per_lead, self.rows, np.abs(self.coef - self.worth * sc.money) + y_error)
            self.rounding = float(per_lead.sum()) / sc.money
        # each fairness table entry (and constant charge) was rounded to a whole unit
        self.rounding += (0.5 * self.rounded_charges + self.minmax_rounding) / sc.money
        terms = [cp_model.LinearExpr.weighted_sum(self.x, (self.coef + self.big_m).tolist())]
        if self.y:
            terms.append(cp_model.LinearExpr.weighted_sum(self.y, y_coef.tolist()))
        terms += [-c * v for v, c in self.penalty_terms]
        self.model.maximize(cp_model.LinearExpr.sum(terms))

    def hint(self, owner: np.ndarray) -> None:
        """Seed the search with an owner vector (-1 = unassigned)."""
        # Straight into the proto: `add_hint` per variable took 0.3 s on 90,000 pairs.
        hint = self.model.proto.solution_hint
        chosen = owner[self.rows] == self.cols
        hint.vars.extend([v.index for v in self.x])
        hint.values.extend(chosen.astype(int).tolist())
        if self.y:  # each chosen pair in the slot of its place in the rep's queue (best first)
            slot = self.places.slot_of(self.problem, owner, self.rows, self.cols)
            hint.vars.extend([v.index for v in self.y])
            in_slot = chosen[self.y_pair] & (slot[self.y_pair] == self.y_slot)
            hint.values.extend(in_slot.astype(int).tolist())

    def overflow(self, solver: cp_model.CpSolver, owner: np.ndarray) -> bool:
        """Some rep's last modelled queue slot holds more leads than it has places, so the
        model priced the further ones above their worth: the answer (`owner`, the solver's) is
        feasible, not proven."""
        places = self.places
        if not places.open_end.any():
            return False
        held = np.bincount(owner[(owner >= 0) & ~self.forced_mask], minlength=self.problem.m)
        if self.y:  # the last slot holds what is in no earlier one
            in_y = np.array([solver.boolean_value(v) for v in self.y], dtype=bool)
            per_slot = np.bincount(self.y_slot[in_y], minlength=places.ratio.size)
            last = places.start + places.slots - 1
            held = np.where(places.slots > 1, per_slot[last], held)
        return bool(np.any(places.open_end & (held > places.last_places)))

    def owner(self, solver: cp_model.CpSolver) -> np.ndarray:
        """The owner vector of the solver's best solution (-1 = unassigned)."""
        values = np.array([solver.boolean_value(v) for v in self.x], dtype=bool)
        owner = np.full(self.problem.n, UNASSIGNED, dtype=np.int64)
        owner[self.rows[values]] = self.cols[values]
        return owner

    def second_level(self, scaled: float) -> float:
        """Money value of a scaled objective (or bound) once the placed count is taken out."""
        return (scaled - self.big_m * self.placed_count(scaled) - self.penalty_constant) / self.scaling.money

    def placed_count(self, scaled: float) -> int:
        """Leads placed according to a scaled objective (or bound): its first level.

        The second level lies in [second_low, second_low + big_m), so the split is unique even
        where the second level is negative (fairness charges, seat prices)."""
        return int((scaled - self.second_low) // self.big_m)
