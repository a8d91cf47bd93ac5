r"""The urgent fast path: one lead, every rep, in microseconds, priced by recent batch duals.

Compiling a one-lead `Problem` costs ~100 us with 1,000 reps, so `LeadScorer`
computes the same row directly from the `RepTable` (the rules of
`solver.problem.compile_problem` for one lead; a test checks they agree).
The choice is then

.. math:: j^* = \arg\max_{j \text{ eligible, with room}} \; profit_{ij} - p_j - \Delta F_j

where :math:`\Delta F_j` is the marginal fairness cost (as in the greedy
policy) and :math:`p_j` is rep j's *price* (from `solver.online.pricing`). Plain greedy (p = 0) hands the
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

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from solver.compile import fairness
from solver.compile.problem import UNASSIGNED
from solver.compile.scoring import RULE_DIMENSIONS, RepDimension, RepTable
from solver.compile.speed import SpeedTerms, first_back
from solver.domain.model import Lead, Policy, RuleMode


@dataclass
class LeadRow:
    """One lead against every rep: what a policy would read from row i of a Problem."""

    eligible: np.ndarray  # bool (m,)
    value: np.ndarray  # float (m,): expected value
    profit: np.ndarray  # float (m,): value after soft-rule discounts, 0 where ineligible
    forced: int  # rep index the owner rule fixes, -1 = none


LABEL_CACHE_SIZE = 4096  # label combinations `LeadScorer` remembers


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
        # What a lead's labels alone decide (its hard rules, soft-rule discount and skills) is
        # the same for every lead with those labels: a stream has few such combinations, and one
        # lookup replaces ~10 array operations (half the urgent path's time at 1,000 reps). The
        # rules' labels and the skills' are two caches: one of every combination of both met a
        # new one in 0.3-4% of the leads after latency.py's warm-up (450 in its streams; 30 + 15
        # apart, all met in the warm-up), each ~17 us. Each rules combination keeps its eligibility for the
        # availability mask in use too (`_LabelTerms.now`).
        self._by_labels: dict[Any, _LabelTerms] = {}
        fields = [rule.field for rule in self.hard + self.soft]
        self._labels: Callable[[Lead], Any] = attrgetter(*fields) if fields else _no_labels
        self._by_skills: dict[Any, np.ndarray] = {}
        self._skill_labels = attrgetter("industry", "product")

    def row(self, lead: Lead, available: np.ndarray, speed: SpeedTerms | None = None) -> LeadRow:
        """The lead's eligibility, value and owner rule given which reps are available now.

        With `speed` (`Team.speed_now`), each rep's value carries its decay, and a lead no rep on
        shift may take goes to those back first (`first_back`, as `compile_problem`).
        """
        terms = self._by_labels.get(self._labels(lead)) or self._label_terms(lead)
        eligible, anyone, mask = terms.now(available)
        skill = self._by_skills.get(self._skill_labels(lead))
        if skill is None:
            skill = self._skill(lead)
        if speed is not None and not anyone:
            eligible = first_back(terms.admits & ~available, speed.timing.wait)
            mask = eligible.astype(np.float64)
        value = skill * (lead.value * lead.score)  # a new array: the products below go in place
        if speed is not None:
            value *= speed.factor
        keep = terms.keep
        owner = self.rep_index.get(lead.owner_id, UNASSIGNED) if lead.owner_id else UNASSIGNED
        if owner >= 0 and not available[owner]:
            owner = UNASSIGNED
        forced = UNASSIGNED
        if owner >= 0 and self.owner_mode is RuleMode.HARD:
            forced = owner
        elif owner >= 0 and self.owner_mode is RuleMode.SOFT:  # every rep but the owner breaks it
            owned = np.full(self.table.m, self.keep)
            owned[owner] = 1.0
            keep = owned if keep is None else keep * owned
        profit = value if keep is None else value * keep
        # Values are finite and non-negative (validated leads and skills, decay and discounts in
        # [0, 1]), so the product with the 0/1 mask gives np.where(eligible, profit, 0.0)'s
        # numbers (x * 1.0 = x, x * 0.0 = 0.0) at a third of its cost.
        profit = profit * mask
        return LeadRow(eligible, value, profit, forced)

    def admits(self, lead: Lead) -> np.ndarray:
        """bool (m,): the reps whose hard rules admit the lead, on shift or not (`row`'s eligibility
        with every rep available). Shared between leads: do not modify it."""
        return self._label_terms(lead).admits

    def _label_terms(self, lead: Lead) -> _LabelTerms:
        """The rep arrays a lead's rule labels decide, computed once per combination of them."""
        key = self._labels(lead)
        terms = self._by_labels.get(key)
        if terms is not None:
            return terms
        admits = np.ones(self.table.m, dtype=bool)
        for rule in self.hard:
            admits &= rule.admits(lead)
        broken = np.zeros(self.table.m, dtype=np.int8)
        for rule in self.soft:
            broken += ~rule.admits(lead)
        admits.flags.writeable = False
        terms = _LabelTerms(admits, self.keep**broken if self.soft else None)
        _remember(self._by_labels, key, terms)
        return terms

    def _skill(self, lead: Lead) -> np.ndarray:
        """float (m,): the industry and product skill multipliers, once per pair of labels."""
        t = self.table
        other = len(t.skill_index)
        skill = (self.skills_by_key[t.skill_index.get(lead.industry, other) if lead.industry else other]
                 * self.skills_by_key[t.skill_index.get(lead.product, other) if lead.product else other])
        skill.flags.writeable = False
        _remember(self._by_skills, self._skill_labels(lead), skill)
        return skill


def _no_labels(lead: Lead) -> tuple[()]:
    """The rule labels of a policy without hard or soft rules: none."""
    return ()


def _remember(cache: dict[Any, Any], key: Any, item: Any) -> None:
    """Keep `item` under `key`, the cache bounded (free-text labels: clear it when full)."""
    if len(cache) >= LABEL_CACHE_SIZE:
        cache.clear()
    cache[key] = item


class _LabelTerms:
    """Rep arrays decided by a lead's rule labels; shared between leads, so read-only."""

    __slots__ = ("_now", "admits", "keep")

    def __init__(self, admits: np.ndarray, keep: np.ndarray | None) -> None:
        self.admits = admits  # bool (m,): the hard rules admit the rep
        self.keep = keep  # float (m,): the soft rules' discount, None without soft rules
        self._now: tuple[np.ndarray, np.ndarray, bool, np.ndarray] | None = None

    def now(self, available: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
        """(eligible, any eligible, eligible as 0/1 floats) for this availability mask.

        Kept until another mask object comes: `RepCalendar.available` hands out one array until
        the next shift boundary and a new one after it (its callers must not modify it), so
        identity is what tells a change. The arrays are read-only (rows share them).
        """
        cached = self._now
        if cached is None or cached[0] is not available:
            eligible = self.admits & available
            mask = eligible.astype(np.float64)
            eligible.flags.writeable = mask.flags.writeable = False
            cached = self._now = (available, eligible, bool(eligible.any()), mask)
        return cached[1], cached[2], cached[3]


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


@dataclass(frozen=True)
class FairnessTerms:
    """What the marginal fairness cost of one lead needs: each rep's load and target, the weight,
    the load the lead adds, and money per unit of load (None: the lead's best profit, for counts)."""

    load: np.ndarray
    target: np.ndarray
    weight: float
    added: float = 1.0
    unit: float | None = None


def choose_rep(
    row: LeadRow,
    effort: int,
    free: np.ndarray,
    prices: np.ndarray | None = None,
    fairness_terms: FairnessTerms | None = None,
    exclude: int = UNASSIGNED,
    defer: bool = False,
) -> int:
    """The rep for one lead, or -1 when no eligible rep has room (or, with `defer`, none is worth it).

    `fairness_terms` gives the marginal fairness cost;
    `exclude` is a rep that may not take the lead (the owner it is moving from);
    `defer` admits only reps whose price the lead's profit covers (profit >= price),
    so a lead worth less than every seat's price takes none. Ties go to the lowest
    rep index, so the choice is deterministic.
    """
    if row.forced >= 0 and row.forced != exclude:
        return row.forced
    candidates = free >= effort
    candidates &= row.eligible
    if exclude >= 0:
        candidates[exclude] = False
    if defer and prices is not None:
        candidates &= row.profit >= prices
    scores = fast_scores(row, prices, fairness_terms)
    if scores is row.profit:  # unpriced, without fairness: the row's own array, not ours to mask
        scores = scores.copy()
    np.putmask(scores, ~candidates, -np.inf)  # in place: np.where's new array costs more
    j = int(scores.argmax())
    return j if candidates[j] else UNASSIGNED  # the argmax of all -inf is 0: no candidate


def fast_scores(row: LeadRow, prices: np.ndarray | None, fairness_terms: FairnessTerms | None) -> np.ndarray:
    """float (m,): what `choose_rep` maximises: profit less the seat's price and the marginal
    fairness cost."""
    score = row.profit if prices is None else row.profit - prices
    if fairness_terms is not None:
        terms = fairness_terms
        # for counts, a typical lead's value, as in Problem.fairness_unit
        unit = terms.unit if terms.unit is not None else (float(row.profit.max()) or 1.0)
        score = score - fairness.marginal_cost(terms.load, terms.target, terms.added, terms.weight, unit)
    return score
