r"""Fairness: targets, the convex penalty, and the metrics reported.

Each available rep j has a target share :math:`s_j` (its quota weight over the
sum of the available reps' weights). After a batch, with total load
:math:`L = \sum_j \ell_j` (history included), its fair load is
:math:`T_j = s_j L`. The penalty is a chi-square style deviation

.. math:: F(\ell) = w \, u \sum_j (\ell_j - T_j)^2 / T_j

where :math:`w` is the policy's fairness weight and :math:`u` converts load
units to money (a typical lead's expected value when load is a count; 1 when
load is already a value), so that :math:`w` is unit-free. F is convex and
separable in the reps, so the marginal cost of each added unit of load rises
with the load: exactly a convex piecewise-linear arc cost for min-cost flow.

The targets are fixed before the solve (from the number of leads that can be
placed), which is what keeps F separable.
"""

from __future__ import annotations

import numpy as np


def shares(quota_weight: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Target share per rep: quota weight normalised over available reps (0 if unavailable)."""
    weights = np.where(available, quota_weight, 0.0)
    total = weights.sum()
    return weights / total if total > 0 else weights


def targets(share: np.ndarray, base_load: np.ndarray, batch_load: float) -> np.ndarray:
    """Fair load per rep once the batch's load is added to the history."""
    return share * (float(base_load.sum()) + batch_load)


def penalty(load: np.ndarray, target: np.ndarray, weight: float, unit: float) -> float:
    """The fairness penalty F of a load vector (money units)."""
    if weight == 0:
        return 0.0
    active = target > 0
    dev = load[active] - target[active]
    return float(weight * unit * np.sum(dev * dev / target[active]))


def marginal_cost(
    load: np.ndarray, target: np.ndarray, added: np.ndarray | float, weight: float, unit: float
) -> np.ndarray:
    """Increase of F when `added` load joins each rep that holds `load` (vectorized over reps).

    Reps with a zero target (off shift: only leads no rep on shift may take reach them) cost
    nothing, as in `penalty`, which leaves them out.
    """
    if weight == 0:
        return np.zeros(np.broadcast(load, target).shape)
    change = weight * unit * added * (2.0 * (load - target) + added)
    if target.size and target.min() > 0:  # the usual case: no masking (the urgent path calls it per lead)
        return change / target
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = change / target
    return np.where(target > 0, cost, 0.0)


def jain_index(load: np.ndarray, share: np.ndarray) -> float:
    """Jain's index of load per unit of share over reps with a share: 1 = perfectly fair."""
    x = load[share > 0] / share[share > 0]
    denom = x.size * float(np.sum(x * x))
    return float(np.sum(x) ** 2 / denom) if denom > 0 else 1.0


def gini(load: np.ndarray, share: np.ndarray) -> float:
    """Gini coefficient of load per unit of share over reps with a share: 0 = perfectly fair."""
    x = np.sort(load[share > 0] / share[share > 0])
    total = float(x.sum())
    if x.size == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, x.size + 1)
    return float(np.sum((2 * ranks - x.size - 1) * x) / (x.size * total))


def max_deviation(load: np.ndarray, share: np.ndarray) -> float:
    """Largest gap between a rep's share of the load and its target share (0..1)."""
    total = float(load.sum())
    if total == 0 or not np.any(share > 0):
        return 0.0
    return float(np.max(np.abs(load / total - share)[share > 0]))


def metrics(load: np.ndarray, share: np.ndarray) -> dict[str, float]:
    """All fairness metrics of a load vector, as reported in a summary."""
    return {
        "jain": jain_index(load, share),
        "gini": gini(load, share),
        "max_deviation": max_deviation(load, share),
    }
