"""The clairvoyant balance bound: never below an assignment that keeps the balance (brute
force), tight against the fractional optimum (SLSQP on the cone), and its parts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from solver.compile.speed import half_life_decay
from solver.sim.frontier import expected_decay, jain_bound, rotation
from solver.sim.metrics import pipeline_fairness
from solver.sim.response import RepPace
from solver.sim.scenario import ResponseSpec


def instance(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """worth (n, m), eligible (every lead has a rep), value (n,), share (m,)."""
    rng = np.random.default_rng(seed)
    value = rng.lognormal(7, 1, n)
    worth = value[:, None] * rng.uniform(0.2, 1.0, (n, m))
    eligible = rng.random((n, m)) < 0.7
    eligible[np.arange(n), rng.integers(0, m, n)] = True
    share = rng.uniform(0.5, 1.5, m)
    return worth, eligible, value, share / share.sum()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), m=st.integers(2, 3),
       jain=st.floats(0.5, 0.99))
def test_no_assignment_keeping_the_balance_beats_the_bound(seed: int, n: int, m: int, jain: float) -> None:
    worth, eligible, value, share = instance(seed, n, m)
    bound = jain_bound(worth, eligible, value, share, jain).worth
    best = -np.inf
    for owner in itertools.product(range(-1, m), repeat=n):  # -1: the lead left out
        placed = np.flatnonzero(np.array(owner) >= 0)
        chosen = np.array(owner)[placed]
        if not eligible[placed, chosen].all():
            continue
        pipeline = np.bincount(chosen, weights=value[placed], minlength=m)
        if pipeline_fairness(pipeline, share)[0] >= jain:
            best = max(best, float(worth[placed, chosen].sum()))
    assert best <= bound * (1 + 1e-9)


def fractional_optimum(worth: np.ndarray, eligible: np.ndarray, value: np.ndarray, share: np.ndarray,
                       jain: float) -> float:
    """The relaxation itself, solved directly: x on the eligible pairs, rows summing to at most 1,
    pipeline Jain >= jain (SLSQP; convex, so its optimum is the optimum)."""
    rows, cols = np.nonzero(eligible)
    n, m = eligible.shape

    def pipeline_per_share(x: np.ndarray) -> np.ndarray:
        return np.bincount(cols, weights=value[rows] * x, minlength=m) / share

    def balance(x: np.ndarray) -> float:
        y = pipeline_per_share(x)
        return float(y.sum() ** 2 - jain * m * (y @ y)) / float(value.sum() / share.mean()) ** 2

    scale = float(worth[rows, cols].sum())
    result = minimize(lambda x: -float(worth[rows, cols] @ x) / scale, np.ones(rows.size) / eligible.sum(1)[rows],
                      method="SLSQP", bounds=[(0, 1)] * rows.size,
                      constraints=[{"type": "ineq", "fun": lambda x: 1 - np.bincount(rows, weights=x, minlength=n)},
                                   {"type": "ineq", "fun": balance}],
                      options={"maxiter": 500, "ftol": 1e-12})
    assert result.success, result.message
    return -float(result.fun) * scale


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("jain", [0.8, 0.95, 0.99])
def test_the_bound_is_the_fractional_optimum(seed: int, jain: float) -> None:
    worth, eligible, value, share = instance(seed, 12, 4)
    eligible[:] = True  # every balance reachable: the relaxation is feasible at any Jain asked
    optimum = fractional_optimum(worth, eligible, value, share, jain)
    bound = jain_bound(worth, eligible, value, share, jain).worth
    assert optimum <= bound * (1 + 1e-6)
    assert bound <= optimum * (1 + 2e-3)  # tight: the dual prices found are (nearly) optimal


def test_asking_no_balance_gives_each_lead_its_best_rep() -> None:
    worth, eligible, value, share = instance(3, 30, 5)
    bound = jain_bound(worth, eligible, value, share, 1e-6).worth
    assert bound == pytest.approx(np.where(eligible, worth, -np.inf).max(axis=1).sum(), rel=1e-9)


def test_leads_no_rep_may_take_are_left_out_and_jain_is_checked() -> None:
    worth, eligible, value, share = instance(4, 10, 3)
    alone = jain_bound(worth, eligible, value, share, 0.9).worth
    eligible_more = np.vstack([eligible, np.zeros((1, 3), dtype=bool)])
    more = jain_bound(np.vstack([worth, np.ones((1, 3))]), eligible_more, np.append(value, 1e6),
                      share, 0.9).worth
    assert more == pytest.approx(alone)
    with pytest.raises(ValueError, match="jain"):
        jain_bound(worth, eligible, value, share, 1.5)
    assert jain_bound(worth, np.zeros_like(eligible), value, share, 0.9).worth == 0.0


def test_rotation_keeps_one_pointer_per_pool() -> None:
    pools = np.array([[1, 1, 0], [0, 0, 1], [1, 1, 0], [1, 1, 0], [0, 0, 0], [0, 1, 1], [0, 1, 1]], dtype=bool)
    assert rotation(pools).tolist() == [0, 2, 1, 0, -1, 1, 2]


def test_expected_decay_without_noise_is_the_decay_of_the_base() -> None:
    response = ResponseSpec(sigma=0.0, half_life_minutes=30.0, floor=0.15)
    pace = RepPace(base=np.array([0.0, 30.0, 90.0]), handling=np.zeros(3))
    assert expected_decay(response, pace) == pytest.approx(half_life_decay(pace.base, 30.0, 0.15))
    noisy = expected_decay(response.model_copy(update={"sigma": 0.7}), pace)
    assert noisy[0] == pytest.approx(1.0) and 0.15 < noisy[2] < noisy[1] < 1.0


def test_a_balance_the_pools_reach_only_by_leaving_leads_out_is_worth_nothing() -> None:
    # every lead may go to rep 0 only: any lead placed makes pipeline (V, 0, 0), Jain 1/3
    eligible = np.zeros((5, 3), dtype=bool)
    eligible[:, 0] = True
    value = np.full(5, 100.0)
    worth = np.full((5, 3), 50.0)
    share = np.full(3, 1 / 3)
    assert jain_bound(worth, eligible, value, share, 0.5).worth == pytest.approx(0.0, abs=1e-6)
    assert jain_bound(worth, eligible, value, share, 0.3).worth == pytest.approx(250.0)


def test_queue_free_worth_is_the_simulators_win_chance_per_pair() -> None:
    """The per-pair skills are looked up per distinct industry and product: the same numbers as
    `simulate.skill` lead by lead, blank labels (skill 1) included."""
    from solver.domain.model import Rep
    from solver.sim.arrivals import LeadStream
    from solver.sim.frontier import queue_free_worth
    from solver.sim.simulate import skill

    truth = [Rep(id="a", capacity=1, skills={"fin": 1.5, "crm": 0.8}), Rep(id="b", capacity=1, skills={"ret": 2.0})]
    n = 5
    stream = LeadStream(
        ids=np.array([f"L{i}" for i in range(n)], dtype=object), arrival_s=np.arange(n, dtype=float),
        territory=np.array([""] * n, dtype=object), industry=np.array(["fin", "ret", "", "fin", "x"], dtype=object),
        product=np.array(["crm", "", "crm", "erp", "crm"], dtype=object), segment=np.array([""] * n, dtype=object),
        account=np.array([""] * n, dtype=object), value=np.array([100.0, 200, 300, 400, 500]),
        score=np.array([0.5, 0.6, 0.9, 0.3, 0.8]), urgent=np.zeros(n, dtype=bool))
    response = ResponseSpec(sigma=0.0, half_life_minutes=30.0, floor=0.15)
    pace = RepPace(base=np.array([10.0, 40.0]), handling=np.zeros(2))
    decay = half_life_decay(pace.base, 30.0, 0.15)
    expected = np.array([[stream.value[i] * min(1.0, stream.score[i] * skill(rep, stream, i)) * decay[j]
                          for j, rep in enumerate(truth)] for i in range(n)])
    np.testing.assert_allclose(queue_free_worth(stream, truth, response, pace), expected)
    blind = queue_free_worth(stream, truth, response, pace, skills=False)
    np.testing.assert_allclose(blind, stream.value[:, None] * np.minimum(1, stream.score[:, None]) * decay)
