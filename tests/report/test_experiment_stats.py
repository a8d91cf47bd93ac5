"""The experiment statistics (issue 15): intervals, the CR1 sandwich, the always-valid test, sample size."""

import math

import numpy as np
import pytest

from solver.report.experiment_stats import (
    difference,
    mixture_half_width,
    mixture_lambda,
    sample_size,
    sequential,
)


def test_welch_difference_by_hand():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    b = np.array([0, 0, 0, 1, 1, 1, 1], dtype=bool)
    d = difference(y, b)
    se = math.sqrt(np.var([1, 0, 1], ddof=1) / 3 + np.var([1, 0, 0, 1], ddof=1) / 4)
    assert (d.control, d.challenger, d.diff, d.n_control, d.n_challenger) == pytest.approx((2 / 3, 0.5, -1 / 6, 3, 4))
    assert d.se == pytest.approx(se) and d.high - d.low == pytest.approx(2 * 1.959964 * se, rel=1e-5)
    assert d.clusters is None


def test_cr1_is_the_sandwich_of_the_two_group_regression():
    rng = np.random.default_rng(3)
    g = rng.integers(0, 12, 200)
    b = g % 2 == 1  # whole clusters in one arm
    y = rng.normal(size=200) + g * 0.1
    d = difference(y, b, g)
    x = np.column_stack([np.ones(200), b])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    e = y - x @ beta
    meat = sum(np.outer(x[g == k].T @ e[g == k], x[g == k].T @ e[g == k]) for k in range(12))
    bread = np.linalg.inv(x.T @ x)
    v = bread @ meat @ bread * 12 / 11 * 199 / 198
    assert d.diff == pytest.approx(beta[1]) and d.se == pytest.approx(math.sqrt(v[1, 1]))
    assert d.clusters == 12


def test_clustered_outcomes_widen_the_interval_and_keep_its_coverage():
    rng = np.random.default_rng(4)
    covered_cr1 = covered_naive = 0
    for _ in range(300):
        g = rng.integers(0, 60, 1500)
        arm = rng.random(60) < 0.5
        y = (rng.random(1500) < np.clip(0.3 + rng.normal(0, 0.15, 60)[g], 0, 1)).astype(float)
        covered_cr1 += difference(y, arm[g], g).low <= 0 <= difference(y, arm[g], g).high
        covered_naive += difference(y, arm[g]).low <= 0 <= difference(y, arm[g]).high
    assert covered_cr1 / 300 >= 0.92 and covered_naive / 300 < 0.85


def test_the_confidence_sequence_is_the_inverted_mixture_test():
    se, tau, alpha = 0.01, 0.02, 0.05
    half = mixture_half_width(se, tau, alpha)
    assert mixture_lambda(half, se, tau) == pytest.approx(1 / alpha)  # on the boundary, 1/Lambda = alpha
    assert mixture_lambda(0.0, se, tau) < 1  # no evidence: p stays 1
    assert half > 1.96 * se  # wider than one look's interval: it holds at every look


def daily_aa_rejects(effect: float, days: int, per_day: int, reps: int, seed: int) -> tuple[float, float]:
    """Rejection rate of the always-valid test with a look a day, and the last fixed interval's coverage."""
    rng = np.random.default_rng(seed)
    rejected = covered = 0
    for _ in range(reps):
        arm = rng.random(days * per_day) < 0.5
        y = (rng.random(days * per_day) < 0.2 + effect * arm).astype(float)
        looks = [(str(d), difference(y[: (d + 1) * per_day], arm[: (d + 1) * per_day])) for d in range(days)]
        rejected += sequential(looks, 0.03, 0.05)[-1].p_value <= 0.05
        covered += looks[-1][1].low <= effect <= looks[-1][1].high
    return rejected / reps, covered / reps


def test_daily_looks_at_an_aa_experiment_reject_at_most_alpha():
    rejected, covered = daily_aa_rejects(0.0, days=20, per_day=100, reps=200, seed=5)
    assert rejected <= 0.05 and covered >= 0.92


def test_the_sequential_sample_size_gives_the_stated_power():
    rng = np.random.default_rng(6)
    arm = rng.random(4000) < 0.5
    pilot = difference((rng.random(4000) < 0.2).astype(float), arm)
    size = sample_size(pilot, 0.03, 0.05, 0.8, 0.03)
    assert size.fixed_horizon < size.sequential and size.still_needed == size.sequential - 4000
    per_day = math.ceil(size.sequential / 20)
    power, _ = daily_aa_rejects(0.03, days=20, per_day=per_day, reps=150, seed=7)
    assert power >= 0.75


def test_a_look_with_too_few_clusters_per_arm_is_not_tested():
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(8), 50)  # four clusters an arm: the sandwich is not to be trusted yet
    y = (g % 2 == 1).astype(float) + rng.normal(0, 0.01, 400)  # a huge difference
    d = difference(y, g % 2 == 1, g)
    assert d.units_per_arm == 4 and d.low > 0.9
    [look] = sequential([("day 1", d)], 0.05, 0.05)
    assert look.p_value == 1.0 and look.low == -math.inf
