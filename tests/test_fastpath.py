"""DualPricer: the pricing window, its LP size cap, the re-solve schedule and the horizon scaling."""

import numpy as np

from solver.fastpath import DualPricer


def rows(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    eligible = rng.random((n, m)) < 0.5
    return eligible, np.where(eligible, rng.uniform(1, 10, (n, m)), 0.0)


def test_resolves_after_16_32_64_leads_then_every_max_interval():
    pricer = DualPricer(3, window=64, max_interval=100)
    eligible, profit = rows(1000, 3)
    due_at = []
    for i in range(1000):
        pricer.observe_one(eligible[i], profit[i])
        if pricer.due:
            due_at.append(pricer.seen)
            pricer.prepare(np.full(3, 50.0))
    assert due_at[:6] == [16, 32, 64, 128, 228, 328]


def test_window_keeps_the_newest_leads_and_caps_the_lp_size():
    pricer = DualPricer(4, window=8, max_entries=10)
    eligible = np.ones((20, 4), dtype=bool)
    profit = np.arange(20, dtype=float)[:, None] * np.ones((1, 4))
    pricer.observe(eligible, profit)
    job = pricer.prepare(np.full(4, 5.0))
    assert job.profit.shape == (2, 4)  # 10 entries = 2 full rows of 4 (at least one lead)
    assert sorted(job.profit[:, 0]) == [18.0, 19.0]  # the newest


def test_capacity_is_scaled_by_window_over_horizon_without_a_cap():
    pricer = DualPricer(2, window=100)
    eligible, profit = rows(100, 2)
    pricer.observe(eligible, profit)
    free = np.array([10.0, 30.0])
    assert np.allclose(pricer.prepare(free, horizon=400).capacity, free * 100 / 400)
    # Fewer leads to come than the window holds: the capacity is scaled up, not capped at `free`.
    assert np.allclose(pricer.prepare(free, horizon=50).capacity, free * 2)
    assert np.allclose(pricer.prepare(free).capacity, free * 100 / 40)  # default: as many as there is room


def test_scarce_rep_gets_a_price_that_keeps_its_room_for_its_best_leads():
    # Rep 0 is better for every lead but has room for a quarter of them: it is priced.
    pricer = DualPricer(2, window=64)
    rng = np.random.default_rng(1)
    base = rng.uniform(1, 10, 64)
    profit = np.stack([base * 2, base], axis=1)
    pricer.observe(np.ones((64, 2), dtype=bool), profit)
    prices = pricer.update(np.array([16.0, 64.0]), horizon=64)
    assert prices[0] > 0 and prices[1] == 0
    takes_rep0 = profit[:, 0] - prices[0] > profit[:, 1]
    assert 12 <= takes_rep0.sum() <= 17 and base[takes_rep0].min() >= np.median(base)


def test_router_forecast_keeps_a_floor_once_the_leads_seen_near_it():
    from datetime import UTC, datetime

    from solver.model import Lead, Policy, Rep
    from solver.router import FORECAST_FLOOR, Router

    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    router = Router([Rep(id="R0", capacity=1000), Rep(id="R1", capacity=1000)], Policy(),
                    clock=lambda: t0, pricing_horizon=100)
    for i in range(90):
        router.submit(Lead(id=f"L{i}", value=100.0 + i, urgent=True))
    router.pricer.next_update = 0  # due now
    job = router.pricing_job()
    free = router._free()
    assert np.allclose(job.capacity, free * 90 / (FORECAST_FLOOR * 90))  # not 90 / (100 - 90)
