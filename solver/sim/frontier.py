r"""How much any router could gain at a given pipeline balance: a clairvoyant upper bound.

A router that balances pipeline value can still gain by sending the leads worth most
when answered fast to the fastest reps. How much, at most? Take every lead of a run at
once (clairvoyant), let leads split across reps (fractional), and ignore queues (a rep
answers each lead as fast as it would with nothing queued): lead i given to rep j is then
worth ``worth[i, j] = value x min(1, score x skill) x E[decay(the rep's first response)]``,
and no policy, on line or not, earns more in expectation, valued so, at pipeline Jain >= J
than

.. math:: \max \sum_{ij} w_{ij} x_{ij} \quad \text{s.t.}\ \sum_j x_{ij} \le 1,\
          x \ge 0,\ \lVert y - \bar y \mathbf 1\rVert \le \kappa \bar y

with :math:`y_j = \sum_i v_i x_{ij} / s_j` (pipeline per unit of quota share, as
`metrics.pipeline_fairness` counts it) and :math:`\kappa = \sqrt{k (1 - J) / J}` over the k
reps with a share: Jain :math:`(\sum y)^2 / (k \sum y^2) \ge J` is that second-order cone.

Its Lagrangian dual gives, for every price vector :math:`\lambda` with
:math:`\sum_j \lambda_j = 0`, the bound

.. math:: U(\lambda) = \sum_i \max\Bigl(0, \max_{j \in E_i} \Bigl[w_{ij} + \frac{v_i}{s_j}
          \Bigl(\frac{\kappa \lVert\lambda\rVert}{k} - \lambda_j\Bigr)\Bigr]\Bigr)

(a rep without a share: its bracket is :math:`w_{ij}` alone; 0: the lead left out, which a
router may do, so the bound holds for routers that place fewer leads too). Any :math:`\lambda` gives a
valid bound, so minimising it only tightens the figure; `jain_bound` does that with
L-BFGS on a smoothed U (log-sum-exp) and reports the exact U at the prices found.
Why it holds: for a feasible x and :math:`u = -\lambda`, :math:`t = \lVert\lambda\rVert`,
:math:`t\kappa\bar y + u^\top (y - \bar y \mathbf 1) \ge t(\kappa \bar y -
\lVert y - \bar y\mathbf 1\rVert) \ge 0`, so adding it to the objective and dropping the
cone can only raise the maximum, which then splits lead by lead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from solver.compile import fairness
from solver.compile.speed import half_life_decay
from solver.domain.model import Rep
from solver.sim.arrivals import LeadStream
from solver.sim.metrics import interval, paired_percent, pipeline_fairness
from solver.sim.response import RepPace, rep_pace
from solver.sim.scenario import ResponseSpec, Scenario
from solver.sim.simulate import structural_pools
from solver.sim.stream import make_stream, team_reps, truth_reps

# Smoothing temperatures of the log-sum-exp, in units of a lead's mean best worth: each
# stage starts from the last one's prices. The bound reported is the exact U, not these.
TEMPERATURES = (0.3, 0.1, 0.03, 0.01, 0.003)
# Draws of the response noise averaged for a rep's expected decay (a fixed seed: the bound is
# a function of the scenario and the traffic seed alone).
NOISE_DRAWS = 20_000


@dataclass(frozen=True)
class Bound:
    """The clairvoyant bound at pipeline Jain >= `jain`: `worth` the most any assignment earns."""

    jain: float
    worth: float


def expected_decay(response: ResponseSpec, pace: RepPace) -> np.ndarray:
    """float (m,): each rep's E[share of a lead's worth kept] when it answers with nothing queued
    (its base minutes times the lognormal response noise, `ResponseSpec.sigma`)."""
    noise = np.exp(response.sigma * np.random.default_rng(0).standard_normal(NOISE_DRAWS))
    minutes = pace.base[:, None] * noise[None, :]
    return np.asarray(half_life_decay(minutes, response.half_life_minutes, response.floor)).mean(axis=1)


def queue_free_worth(stream: LeadStream, truth: Sequence[Rep], response: ResponseSpec, pace: RepPace,
                     *, skills: bool = True) -> np.ndarray:
    """float (n, m): lead i's expected revenue when rep j takes it and answers with nothing queued,
    under the simulator's outcome model (`simulate.win_probability`): queues only add minutes, so
    no run earns more from a lead than this. `skills=False`: every skill 1 (what a router that
    cannot predict skills may count on)."""
    multiplier = np.ones((stream.n, len(truth)))
    if skills:  # `simulate.skill` per pair, looked up once per distinct industry and product
        for labels in (stream.industry, stream.product):
            keys, code = np.unique(labels.astype(str), return_inverse=True)
            by_key = np.array([[rep.skill(k) for rep in truth] for k in keys]).reshape(len(keys), len(truth))
            multiplier *= by_key[code]
    win = np.minimum(1.0, stream.score[:, None] * multiplier)
    return stream.value[:, None] * win * expected_decay(response, pace)[None, :]


def rotation(eligible: np.ndarray) -> np.ndarray:
    """int (n,): round robin as CRMs ship it: each lead, in arrival order, to the next rep of its
    pool (the reps it may go to), one pointer per pool; -1 where no rep may take it."""
    owner = np.full(eligible.shape[0], -1)
    pointer: dict[bytes, int] = {}
    for i, row in enumerate(eligible):
        pool = np.flatnonzero(row)
        if pool.size:
            key = row.tobytes()
            turn = pointer.get(key, 0)
            owner[i] = pool[turn % pool.size]
            pointer[key] = turn + 1
    return owner


def jain_bound(worth: np.ndarray, eligible: np.ndarray, value: np.ndarray, share: np.ndarray,
               jain: float) -> Bound:
    """The most sum(worth[i, owner_i]) any assignment, fractional ones included and leads left
    out allowed, earns while the pipeline Jain index (value per unit of share, over the reps with
    a share) is at least `jain` (see the module docstring). Leads no rep may take are left out."""
    if not 0 < jain <= 1:
        raise ValueError(f"jain must be in (0, 1], got {jain}")
    if np.any(worth[eligible] < 0):
        raise ValueError("worth must not be negative")
    keep = eligible.any(axis=1)
    if not keep.any():
        return Bound(jain=jain, worth=0.0)  # nothing to place: any balance asked of nothing holds
    w = np.where(eligible[keep], worth[keep], -np.inf)
    v = value[keep]
    shared = share > 0
    k = int(shared.sum())
    kappa = np.sqrt(k * (1.0 - jain) / jain)
    # value per unit of share, per pair (0 for reps outside the index: no price reaches them)
    per_share = np.where(shared[None, :], v[:, None] / np.where(shared, share, 1.0)[None, :], 0.0)
    # Dimensionless units: a lead's mean best worth, and prices per its mean value per share.
    unit = float(np.max(w, axis=1).mean()) or 1.0
    price_unit = unit / (float(per_share[eligible[keep] & shared[None, :]].mean()) or 1.0)
    a, b = w / unit, per_share * price_unit / unit

    def bracket(prices: np.ndarray) -> tuple[np.ndarray, float]:
        """Each lead's options under the prices: a rep (its bracket), or none (0, the last column)."""
        lam = np.where(shared, prices - prices[shared].mean(), 0.0)
        norm = float(np.sqrt(lam @ lam))
        return np.hstack([a + b * (kappa * norm / k - lam[None, :]), np.zeros((a.shape[0], 1))]), norm

    def smoothed(prices: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            z, norm = bracket(prices)
            top = tau * logsumexp(z / tau, axis=1)
            weight = np.exp((z[:, :-1] - top[:, None]) / tau) * b  # d top / d bracket x d bracket / d(-lam)
        if not np.all(np.isfinite(top)) or not np.all(np.isfinite(weight)):
            return np.inf, np.zeros_like(prices)  # a line search's step too far: it backs off
        lam = np.where(shared, prices - prices[shared].mean(), 0.0)
        grad_lam = (kappa / k) * weight.sum() * (lam / norm if norm > 0 else 0.0) - weight.sum(axis=0)
        grad = np.where(shared, grad_lam - grad_lam[shared].mean(), 0.0)  # through the centring
        return float(top.sum()), grad

    prices = np.zeros(share.shape[0])
    best = float(np.max(a, axis=1).sum())  # prices 0: the bound with no balance asked
    for tau in TEMPERATURES:
        prices = minimize(smoothed, prices, args=(tau,), jac=True, method="L-BFGS-B").x
        with np.errstate(over="ignore", invalid="ignore"):
            exact = float(bracket(prices)[0].max(axis=1).sum())
        if np.isfinite(exact):
            best = min(best, exact)
    return Bound(jain=jain, worth=best * unit)


def balance_study(scenario: Scenario, seeds: int, jains: Sequence[float]) -> dict[str, object]:
    """The bound against round robin (`rotation`, worth counted in the same queue-free model), at
    round robin's own pipeline Jain of each seed, at each of `jains` and with no balance asked:
    knowing the reps' true skills (what outcomes follow, which skills learned from earlier deals
    may not predict) and knowing only scores and pace (every skill 1). Gains are
    paired by seed (`metrics.paired_percent`: the mean difference in % of round robin's mean)."""
    team = team_reps(scenario)
    truth, pace = truth_reps(scenario, team), rep_pace(scenario.response, team)
    share = fairness.shares(np.array([r.quota_weight for r in team], dtype=float),  # as the run's
                            np.array([r.available for r in team], dtype=bool))  # metrics count it
    levels = ["round robin's", *(f"{j:g}" for j in jains), "none"]
    knowledge = {"skills": True, "score_pace": False}
    bounds: dict[str, dict[str, list[float]]] = {k: {lv: [] for lv in levels} for k in knowledge}
    reference: dict[str, list[float]] = {k: [] for k in knowledge}
    rotation_jain = []
    for seed in range(seeds):
        stream = make_stream(scenario, seed)
        eligible = structural_pools(scenario, team, stream)
        owner = rotation(eligible)
        placed = np.flatnonzero(owner >= 0)
        rotation_jain.append(pipeline_fairness(np.bincount(owner[placed], weights=stream.value[placed],
                                                           minlength=len(team)), share)[0])
        for key, known in knowledge.items():
            worth = queue_free_worth(stream, truth, scenario.response, pace, skills=known)
            reference[key].append(float(worth[placed, owner[placed]].sum()))
            for level, jain in zip(levels, [rotation_jain[-1], *jains, 1e-9], strict=True):
                bounds[key][level].append(jain_bound(worth, eligible, stream.value, share, jain).worth)
    gain_pct = {key: {level: paired_percent(values, reference[key]) for level, values in by_level.items()}
                for key, by_level in bounds.items()}
    return {"seeds": seeds, "levels": levels, "rotation_jain": interval(rotation_jain),
            "gain_pct": gain_pct, "rotation_worth": reference, "bound_worth": bounds}
