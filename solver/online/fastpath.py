r"""The urgent fast path: one lead, every rep, in microseconds, priced by recent batch duals.

Compiling a one-lead `Problem` costs ~100 us with 1,000 reps, so `LeadScorer`
computes the same row directly from the `RepTable` (the rules of
`solver.problem.compile_problem` for one lead; a test checks they agree).
The choice is then

.. math:: j^* = \arg\max_{j \text{ eligible, with room}} \; profit_{ij} - p_j - \Delta F_j

where :math:`\Delta F_j` is the marginal fairness cost (as in the greedy
policy) and :math:`p_j` is rep j's *price*. Plain greedy (p = 0) hands the
best reps to whatever leads come first; in random-order streams it loses
10-25% of the offline optimum's value. The prices come from `DualPricer`:
the dual values of the capacity constraints of the batch LP over the recent
leads, with each rep's free capacity scaled to the window's share of the
leads still to come (the "dynamic learning" scheme of Agrawal, Wang and Ye,
2014). A rep whose capacity is scarce then takes only leads where its edge
over the others is worth its price.

With `defer` (policy `pricing.defer_below_price`, when a volume forecast
is given), only reps with
:math:`profit_{ij} \ge p_j` are candidates: a lead worth less than every
seat's price takes none (the primal-dual admission rule: in the LP such a
lead is left out). This only happens when capacity is short; when the
offline optimum itself must drop leads, the fast path otherwise drops the
wrong ones (the last to arrive, whatever their value).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from solver.compile import fairness
from solver.compile.problem import UNASSIGNED
from solver.compile.scoring import RULE_DIMENSIONS, RepDimension, RepTable
from solver.domain.model import Lead, Policy, RuleMode


@dataclass
class LeadRow:
    """One lead against every rep: what a policy would read from row i of a Problem."""

    eligible: np.ndarray  # bool (m,)
    value: np.ndarray  # float (m,): expected value
    profit: np.ndarray  # float (m,): value after soft-rule discounts, 0 where ineligible
    forced: int  # rep index the owner rule fixes, -1 = none


class LeadScorer:
    """Scores single leads against a RepTable under a policy, without building a Problem."""

    def __init__(self, table: RepTable, policy: Policy) -> None:
        self.table = table
        self.rep_index = {rep_id: j for j, rep_id in enumerate(table.ids)}
        rules = policy.rules
        # Rep-major columns are strided; copies with one contiguous row per label are ~2x faster.
        self.hard = [_Rule(table.dimensions[d]) for d in RULE_DIMENSIONS
                     if getattr(rules, d) is RuleMode.HARD]
        self.soft = [_Rule(table.dimensions[d]) for d in RULE_DIMENSIONS
                     if getattr(rules, d) is RuleMode.SOFT]
        self.skills_by_key = np.ascontiguousarray(table.skills.T)
        self.owner_mode = rules.account_owner
        self.keep = 1.0 - policy.soft_penalty

    def row(self, lead: Lead, available: np.ndarray) -> LeadRow:
        """The lead's eligibility, value and owner rule given which reps are available now."""
        t = self.table
        eligible = available.copy()
        for rule in self.hard:
            eligible &= rule.admits(lead)
        broken = None
        for rule in self.soft:
            miss = ~rule.admits(lead)
            broken = miss.astype(np.int8) if broken is None else broken + miss
        other = len(t.skill_index)
        value = (lead.value * lead.score) * (
            self.skills_by_key[t.skill_index.get(lead.industry, other) if lead.industry else other]
            * self.skills_by_key[t.skill_index.get(lead.product, other) if lead.product else other]
        )
        owner = self.rep_index.get(lead.owner_id, UNASSIGNED) if lead.owner_id else UNASSIGNED
        if owner >= 0 and not available[owner]:
            owner = UNASSIGNED
        forced = UNASSIGNED
        if owner >= 0 and self.owner_mode is RuleMode.HARD:
            forced = owner
        elif owner >= 0 and self.owner_mode is RuleMode.SOFT:
            miss = np.ones(t.m, dtype=np.int8)
            miss[owner] = 0
            broken = miss if broken is None else broken + miss
        profit = value if broken is None else value * self.keep**broken
        return LeadRow(eligible, value, np.where(eligible, profit, 0.0), forced)


class _Rule:
    """One rule dimension, label-major: `admits(lead)` is one row lookup and one OR."""

    def __init__(self, dim: RepDimension) -> None:
        self.field = dim.name
        self.index = dim.index
        self.covers_by_label = np.ascontiguousarray(dim.covers.T)
        self.unrestricted = dim.unrestricted

    def admits(self, lead: Lead) -> np.ndarray:
        code = self.index.get(getattr(lead, self.field), len(self.index))
        return self.covers_by_label[code] | self.unrestricted


def choose_rep(
    row: LeadRow,
    effort: int,
    free: np.ndarray,
    prices: np.ndarray | None = None,
    fairness_terms: tuple[np.ndarray, np.ndarray, float] | None = None,
    exclude: int = UNASSIGNED,
    defer: bool = False,
) -> int:
    """The rep for one lead, or -1 when no eligible rep has room (or, with `defer`, none is worth it).

    `fairness_terms` is (load, target, weight) for the marginal fairness cost;
    `exclude` is a rep that may not take the lead (the owner it is moving from);
    `defer` admits only reps whose price the lead's profit covers (profit >= price),
    so a lead worth less than every seat's price takes none. Ties go to the lowest
    rep index, so the choice is deterministic.
    """
    if row.forced >= 0 and row.forced != exclude:
        return row.forced
    candidates = row.eligible & (free >= effort)
    if exclude >= 0:
        candidates[exclude] = False
    if defer and prices is not None:
        candidates &= row.profit >= prices
    score = row.profit if prices is None else row.profit - prices
    if fairness_terms is not None:
        load, target, weight = fairness_terms
        unit = float(row.profit.max()) or 1.0  # a typical lead's value, as in Problem.fairness_unit
        score = score - fairness.marginal_cost(load, target, 1.0, weight, unit)
    j = int(np.argmax(np.where(candidates, score, -np.inf)))
    return j if candidates[j] else UNASSIGNED  # the argmax of all -inf is 0: no candidate


# Past four windows of history, the pricing LP is solved again after this share of the
# leads seen beyond them. Measured (benchmarks/fast_path): growing the interval from the
# start (a quarter of all leads seen) lost 0.2-0.5 pp at tightness 1.0-1.2 on 3,000-lead
# streams, where it re-solved every ~500 leads late in the stream instead of every 256.
HISTORY_SHARE = 0.25


class DualPricer:
    r"""Rep prices from the capacity duals of the LP over a window of recent leads.

    `observe` stores the eligibility and profit rows of leads as batches are
    solved (and urgent leads are routed); `update(free)` solves

    .. math:: \max \sum_{ij} profit_{ij} x_{ij} \;\text{s.t.}\; \sum_j x_{ij} \le 1,\;
              \sum_i x_{ij} \le free_j \cdot w / H,\; 0 \le x \le 1

    over the w window leads (the last `window`, fewer when their eligible
    pairs exceed `max_entries`), where H is the number of leads expected
    before the free capacity is released (the `horizon`; by default as many
    as there is free capacity), and returns the duals of the rep rows. The
    scale w / H is not capped at 1: near the end of the horizon the window is
    a larger sample than the leads to come, and capping over-rations.
    Re-solving follows a doubling schedule (after 16, 32, ... leads) up to
    every `max_interval` leads, or every max_entries / 250 for large LPs, or,
    past four windows of history, every quarter of the leads seen beyond them
    (up to four windows), so the LP's cost per lead stays around a millisecond
    at 1,000 reps.

    Measured on random-order streams (benchmarks/fast_path/RESULTS.md): the
    2,048-lead window, the early re-solves and the uncapped scale each help;
    the price quality then depends mostly on the horizon.

    Needs SciPy (the `pricing` extra); without it the prices stay 0 (plain
    greedy) and one warning says so.
    """

    def __init__(self, m: int, window: int = 2048, max_interval: int = 256, first: int = 16,
                 max_entries: int = 300_000) -> None:
        self.m = m
        self.window = window
        self.max_interval = max_interval
        self.first = first
        self.max_entries = max_entries
        self.eligible = np.zeros((window, m), dtype=bool)
        self.profit = np.zeros((window, m))
        self.seen = 0
        self.next_update = first
        self.prices = np.zeros(m)
        self.priced = False  # any price > 0 (else the fast path skips the subtraction)

    def observe_one(self, eligible: np.ndarray, profit: np.ndarray) -> None:
        """Remember one lead's row (the urgent path: no temporary arrays)."""
        slot = self.seen % self.window
        self.eligible[slot] = eligible
        self.profit[slot] = profit
        self.seen += 1

    def observe(self, eligible: np.ndarray, profit: np.ndarray) -> None:
        """Remember these leads' rows (2-D, one row per lead) in the ring buffer."""
        for start in range(0, len(eligible), self.window):
            chunk = slice(start, start + self.window)
            k = len(eligible[chunk])
            slots = (self.seen + np.arange(k)) % self.window
            self.eligible[slots] = eligible[chunk]
            self.profit[slots] = profit[chunk]
            self.seen += k

    @property
    def due(self) -> bool:
        return self.seen >= self.next_update

    def update(self, free: np.ndarray, horizon: float | None = None) -> np.ndarray:
        """Re-solve the window LP against `free` capacity; returns (and keeps) the prices."""
        job = self.prepare(free, horizon)
        if job is not None:
            self.install(job.solve())
        return self.prices

    def prepare(self, free: np.ndarray, horizon: float | None = None) -> PricingJob | None:
        """Schedule the next update and copy the LP's inputs (None: nothing to solve).

        Split from `update` so a caller can solve the LP elsewhere (the HTTP
        service: in another process, while urgent leads keep being routed)
        and `install` the duals when done.
        """
        w = min(self.seen, self.window)
        slots = (self.seen - 1 - np.arange(w)) % self.window  # newest first
        entries = np.cumsum(self.eligible[slots].sum(axis=1))
        w = max(1, int(np.searchsorted(entries, self.max_entries, side="right"))) if w else 0
        slots = slots[:w]
        # Prices over tens of thousands of leads move slowly: past four windows of
        # history the interval grows with it (to 4 windows), so a long simulation or
        # a day of traffic does not spend most of its time in this LP.
        late = max(0, self.seen - 4 * self.window)
        interval = max(self.max_interval, int(entries[w - 1]) // 250 if w else 0,
                       min(int(HISTORY_SHARE * late), 4 * self.window))
        self.next_update = self.seen + min(max(self.seen, self.first), interval)
        free = np.maximum(free, 0).astype(np.float64)
        remaining = horizon if horizon is not None and horizon > 0 else float(free.sum())
        if w == 0 or remaining <= 0:
            return None
        return PricingJob(self.profit[slots], self.eligible[slots], free * (w / remaining))

    def install(self, duals: np.ndarray | None) -> None:
        """Use the duals of a solved `PricingJob` as the prices (None: keep the old ones)."""
        if duals is not None and len(duals) == self.m:
            self.prices = duals
            self.priced = bool(duals.any())


@dataclass(frozen=True)
class PricingJob:
    """The window LP's inputs, copied: solvable anywhere (a thread, another process)."""

    profit: np.ndarray
    eligible: np.ndarray
    capacity: np.ndarray

    def solve(self) -> np.ndarray | None:
        return _capacity_duals(self.profit, self.eligible, self.capacity)


_warned_no_scipy = False


def _capacity_duals(profit: np.ndarray, eligible: np.ndarray, capacity: np.ndarray) -> np.ndarray | None:
    """Duals of the rep capacity rows of the assignment LP (HiGHS via SciPy); None without SciPy."""
    global _warned_no_scipy
    try:
        import scipy.sparse as sparse
        from scipy.optimize import linprog
    except ImportError:
        if not _warned_no_scipy:
            warnings.warn("SciPy is not installed: the urgent fast path runs unpriced "
                          "(pip install 'leadsolver[pricing]')", RuntimeWarning, stacklevel=3)
            _warned_no_scipy = True
        return None
    rows, cols = np.nonzero(eligible & (profit > 0))
    n, m = eligible.shape
    if rows.size == 0:
        return np.zeros(m)
    var = np.arange(rows.size)
    constraints = sparse.csr_matrix(
        (np.ones(2 * rows.size), (np.concatenate([rows, n + cols]), np.concatenate([var, var]))),
        shape=(n + m, rows.size),
    )
    result = linprog(-profit[rows, cols], A_ub=constraints, b_ub=np.concatenate([np.ones(n), capacity]),
                     bounds=(0, 1), method="highs")
    if result.status != 0:
        return None
    return np.maximum(-result.ineqlin.marginals[n:], 0.0)
