"""The statistics of an experiment: a difference in means with its interval, an always-valid
sequential test, and the sample size a minimum effect needs. Pure numpy; no scipy.

Difference. ``challenger mean - control mean`` with a 95% interval from the
normal approximation. Leads randomized one by one: Welch's standard error.
Randomized by account or switchback block (whole clusters in one arm): the
CR1 cluster-robust sandwich of the regression ``y = a + b * challenger``,

    V = (X'X)^-1 (sum_g u_g u_g') (X'X)^-1 * G / (G - 1) * (N - 1) / (N - 2),
    u_g = sum over cluster g of x_i e_i

(Cameron and Miller 2015, "A practitioner's guide to cluster-robust inference",
section II.C), whose b-entry is the difference's variance. Leads of one account or
one block share their rep's queue and speed; ignoring that understates the
variance and rejects too often.

Sequential test. Looking at a fixed-horizon interval every day and stopping at
the first significant look rejects far more often than 5%. The mixture
sequential probability ratio test (mSPRT; Johari, Koomen, Pekelis and Walsh
2022, "Always valid inference: continuous monitoring of A/B tests") with a normal mixture of precision
1/tau^2 over the effect gives, for an estimate d with variance V,

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2))),

and p = min over the looks so far of min(1, 1 / Lambda) is valid at any
stopping time: P(p <= alpha ever) <= alpha. Inverting it gives the normal-
mixture confidence sequence (Howard, Ramdas, McAuliffe and Sekhon 2021,
"Time-uniform, nonparametric, nonasymptotic confidence sequences": the
two-sided normal mixture boundary, in the intrinsic time V):

    d -/+ sqrt(V (V + tau^2) / tau^2 * (log((V + tau^2) / V) + 2 log(1 / alpha))),

intersected over the looks. Both are asymptotic (the estimate is taken as
normal with V known); `benchmarks/experiments/` measures their false positive
rate with daily looks on the simulator. tau is the minimum effect worth
finding: the mixture then puts its weight where the effects of interest are.

Sample size. With V = k / N (k read off the current data, clustering
included), the fixed-horizon test needs N = (z_{1-alpha/2} + z_power)^2 k /
delta^2; the sequential test needs the N at which delta - z_power sqrt(V)
clears the confidence sequence's half-width (found by bisection).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

_NORMAL = NormalDist()


def z(p: float) -> float:
    """The standard normal quantile at `p`."""
    return _NORMAL.inv_cdf(p)


@dataclass(frozen=True)
class Difference:
    """Challenger minus control, with its standard error and fixed-horizon interval."""

    control: float  # the control's mean
    challenger: float
    diff: float
    se: float  # nan: too little data (fewer than two leads, or two clusters, in an arm)
    low: float
    high: float
    n_control: int
    n_challenger: int
    clusters: int | None  # None: leads randomized one by one
    units_per_arm: int = 0  # the fewer units (leads, or clusters) of the two arms

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


def difference(y: np.ndarray, challenger: np.ndarray, clusters: np.ndarray | None = None,
               level: float = 0.95) -> Difference:
    """The difference in means of `y` (challenger minus control) and its `level` interval.

    `challenger`: bool per observation. `clusters`: the randomization unit of each observation
    (any labels; each unit in one arm), for the CR1 sandwich; None for Welch's.
    """
    y = np.asarray(y, dtype=float)
    b = np.asarray(challenger, dtype=bool)
    n_b = int(b.sum())
    n_a = int(b.size - n_b)
    mean_a = float(y[~b].mean()) if n_a else math.nan
    mean_b = float(y[b].mean()) if n_b else math.nan
    diff = mean_b - mean_a
    groups = None
    units = min(n_a, n_b)
    if clusters is None:
        var = (np.var(y[~b], ddof=1) / n_a + np.var(y[b], ddof=1) / n_b) if min(n_a, n_b) >= 2 else math.nan
    else:
        _, codes = np.unique(np.asarray(clusters), return_inverse=True)
        groups = int(codes.max()) + 1 if codes.size else 0
        var = _cr1_variance(y, b, codes, groups, mean_a, mean_b)
        in_challenger = np.unique(codes[b]).size
        units = min(in_challenger, groups - in_challenger)
    se = math.sqrt(var) if var == var and var >= 0 else math.nan
    half = z(0.5 + level / 2) * se
    return Difference(mean_a, mean_b, diff, se, diff - half, diff + half, n_a, n_b, groups, units)


def _cr1_variance(y: np.ndarray, b: np.ndarray, codes: np.ndarray, groups: int, mean_a: float,
                  mean_b: float) -> float:
    """The CR1 variance of b in ``y = a + b * challenger`` (see the module docstring)."""
    n = y.size
    clusters_b = np.unique(codes[b]).size
    if groups - clusters_b < 2 or clusters_b < 2:  # fewer than two clusters in an arm
        return math.nan
    residual = y - np.where(b, mean_b, mean_a)
    scores = np.zeros((groups, 2))
    np.add.at(scores[:, 0], codes, residual)
    np.add.at(scores[:, 1], codes, residual * b)
    meat = scores.T @ scores
    n_b = float(b.sum())
    bread = np.linalg.inv(np.array([[n, n_b], [n_b, n_b]]))
    v = bread @ meat @ bread * groups / (groups - 1) * (n - 1) / (n - 2)
    return float(v[1, 1])


def mixture_lambda(diff: float, se: float, tau: float) -> float:
    """The mSPRT likelihood ratio of effect 0 against the normal mixture of scale `tau`."""
    v, t2 = se * se, tau * tau
    exponent = t2 * diff * diff / (2 * v * (v + t2))
    return math.sqrt(v / (v + t2)) * math.exp(min(exponent, 700.0))  # exp(700) ~ 1e304: past any alpha


def mixture_half_width(se: float, tau: float, alpha: float) -> float:
    """The half-width of the normal-mixture confidence sequence at variance se^2."""
    v, t2 = se * se, tau * tau
    return math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) + 2 * math.log(1 / alpha)))


@dataclass(frozen=True)
class Look:
    """One look at the data (a day's end): the estimate, and the sequential test as of then."""

    at: str
    n: int
    diff: float
    se: float
    p_value: float  # always valid: the smallest 1 / Lambda of this and every earlier look
    low: float  # the confidence sequence so far (intersected over the looks)
    high: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


# A look is tested once each arm has this many units with outcomes: the normal approximation
# needs them, the cluster-robust variance most of all (with 3 switchback blocks an arm, CR1
# understates the variance and the first days' looks rejected 7% of simulated A/A tests).
MIN_LEADS_PER_ARM = 30
MIN_CLUSTERS_PER_ARM = 10


def testable(d: Difference) -> bool:
    """Whether a look has the units per arm the test needs (`MIN_LEADS_PER_ARM`, `MIN_CLUSTERS_PER_ARM`)."""
    least = MIN_LEADS_PER_ARM if d.clusters is None else MIN_CLUSTERS_PER_ARM
    return d.units_per_arm >= least and d.se == d.se and d.se > 0


def sequential(looks: list[tuple[str, Difference]], tau: float, alpha: float) -> list[Look]:
    """The always-valid p-value and confidence sequence at each look, in time order (a look
    without the units the test needs, `testable`, changes neither)."""
    out: list[Look] = []
    p, low, high = 1.0, -math.inf, math.inf
    for at, d in looks:
        if testable(d):
            p = min(p, 1.0 / max(mixture_lambda(d.diff, d.se, tau), 1.0))
            half = mixture_half_width(d.se, tau, alpha)
            low, high = max(low, d.diff - half), min(high, d.diff + half)
        out.append(Look(at, d.n_control + d.n_challenger, d.diff, d.se, p, low, high))
    return out


@dataclass(frozen=True)
class SampleSize:
    """Observations (resolved leads, both arms) needed to find `min_effect` with `power`."""

    min_effect: float
    power: float
    fixed_horizon: int  # a single look at the end
    sequential: int  # the always-valid test, looking as often as one likes
    still_needed: int  # sequential minus those already observed (0: enough)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_size(d: Difference, min_effect: float, alpha: float, power: float,
                tau: float) -> SampleSize | None:
    """The sample size for `min_effect`, from the variance of the data so far (None: no variance yet)."""
    n = d.n_control + d.n_challenger
    if not (d.se == d.se and d.se > 0):
        return None
    k = d.se * d.se * n  # V = k / N, the design (share, clustering) as observed
    z_power = z(power)
    fixed = math.ceil((z(1 - alpha / 2) + z_power) ** 2 * k / min_effect**2)

    def detects(total: float) -> bool:
        se = math.sqrt(k / total)
        return min_effect - z_power * se >= mixture_half_width(se, tau, alpha)

    low, high = 1.0, float(max(fixed, 2))
    while not detects(high):
        high *= 2
    while high - low > 1:
        mid = math.floor((low + high) / 2)
        low, high = (low, float(mid)) if detects(mid) else (float(mid), high)
    seq = int(high)
    return SampleSize(min_effect, power, fixed, seq, max(0, seq - n))


def jain(loads: np.ndarray) -> float:
    """Jain's fairness index of per-rep loads: 1 when equal, 1/m when one rep holds all."""
    x = np.asarray(loads, dtype=float)
    total = float((x * x).sum())
    return float(x.sum() ** 2 / (x.size * total)) if total > 0 else math.nan


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: None for them."""
    return None if isinstance(value, float) and not math.isfinite(value) else value
