"""DualPricer: the pricing window, its LP size cap, the re-solve schedule and the horizon scaling."""

import resource

import numpy as np

from solver.online.pricing import DualPricer


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

    from solver.domain.model import Lead, Policy, Rep
    from solver.online.router import FORECAST_FLOOR, Router

    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    router = Router([Rep(id="R0", capacity=1000), Rep(id="R1", capacity=1000)],
                    Policy(pricing={"horizon_leads": 100}), clock=lambda: t0)
    for i in range(95):
        router.submit(Lead(id=f"L{i}", value=100.0 + i, urgent=True))
    router.pricer.expedite()  # due now
    job = router.pricing_job()
    free = router.free_capacity
    assert FORECAST_FLOOR * 95 > 100 - 95
    assert np.allclose(job.capacity, free * 95 / (FORECAST_FLOOR * 95))  # not 95 / (100 - 95)
    for i in range(95, 400):  # far past the forecast: the floor stops growing with the leads seen
        router.submit(Lead(id=f"L{i}", value=100.0, urgent=True))
    router.pricer.expedite()
    job = router.pricing_job()
    w = len(job.profit)
    assert np.allclose(job.capacity, router.free_capacity * w / (FORECAST_FLOOR * 100))


# -- deferral: a lead worth less than every seat's price takes none -------------------------------


def test_choose_rep_with_defer_admits_only_reps_whose_price_the_lead_covers():
    from solver.online.fastpath import LeadRow, choose_rep

    row = LeadRow(eligible=np.array([True, True, True]), value=np.array([3.0, 4.0, 9.0]),
                  profit=np.array([3.0, 4.0, 9.0]), forced=-1)
    free = np.array([1, 1, 0])  # the rep the lead is worth most to is full
    prices = np.array([5.0, 3.5, 0.0])
    assert choose_rep(row, 1, free, prices) == 1  # best reduced profit, though negative for rep 0
    assert choose_rep(row, 1, free, prices, defer=True) == 1  # 4.0 >= 3.5
    assert choose_rep(row, 1, free, np.array([5.0, 4.5, 0.0]), defer=True) == -1
    assert choose_rep(row, 1, free, None, defer=True) == 1  # unpriced: nothing is deferred
    owned = LeadRow(row.eligible, row.value, row.profit, forced=0)
    assert choose_rep(owned, 1, free, np.array([5.0, 4.5, 0.0]), defer=True) == 0  # the owner keeps it


def test_router_defers_an_urgent_lead_below_every_price_and_places_it_when_prices_fall():
    from datetime import UTC, datetime

    from solver.decode.reasons import DEFERRED
    from solver.domain.model import Lead, Policy, Rep
    from solver.online.router import Router

    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    team = [Rep(id="R0", capacity=5), Rep(id="R1", capacity=5)]
    # static worth (speed off): the prices below are set against the leads' own values
    router = Router(team, Policy(pricing={"horizon_leads": 1000}, speed={"enabled": False}), clock=lambda: t0)
    router.install_prices(np.array([150.0, 120.0]))
    big = router.submit(Lead(id="big", value=500.0, urgent=True))
    small = router.submit(Lead(id="small", value=100.0, urgent=True))
    assert big.rep_id == "R1"  # the same value to both: the cheaper seat
    assert small.status == "unassigned" and small.reason.startswith(DEFERRED)
    assert "R1, 100.00 < price 120.00" in small.reason and router.backlog == ["small"]
    assert router.tick(reprice=False) == []  # retried at the old prices: still kept out
    router.install_prices(np.array([150.0, 90.0]))  # the capacity is less scarce now
    (placed,) = router.tick(reprice=False)
    assert (placed.lead_id, placed.rep_id) == ("small", "R1") and router.backlog == []

    for pricing in ({"horizon_leads": 1000, "defer_below_price": False}, {}):  # off, or no forecast
        eager = Router(team, Policy(pricing=pricing), clock=lambda: t0)
        eager.install_prices(np.array([150.0, 120.0]))
        assert eager.submit(Lead(id="small", value=100.0, urgent=True)).rep_id == "R1"


def test_no_deferral_where_batches_are_unpriced_since_the_backlog_retry_would_undo_it():
    from datetime import UTC, datetime

    from solver.domain.model import Lead, Policy, Rep
    from solver.online.router import Router

    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    team = [Rep(id="R0", capacity=5), Rep(id="R1", capacity=5)]
    for update in ({"solver": "round_robin"}, {"pricing": {"horizon_leads": 1000, "price_batches": False}}):
        policy = Policy(**{"pricing": {"horizon_leads": 1000}, **update})
        router = Router(team, policy, clock=lambda: t0)
        router.install_prices(np.array([150.0, 120.0]))
        assert router.submit(Lead(id="small", value=100.0, urgent=True)).rep_id == "R1"


def test_the_price_window_is_in_memory_before_the_first_urgent_lead():
    """Issue 12 item 11: at 5,000 reps the 2,048 x m window is ~90 MB; left to np.zeros, its pages
    arrive one fault at a time as urgent leads first write them (~5 ms submits)."""
    pricer = DualPricer(5000)
    row_eligible, row_profit = np.ones(5000, dtype=bool), np.ones(5000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(pricer.window):
        pricer.observe_one(row_eligible, row_profit)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 100  # untouched: over 1,000 here (huge pages), ~22,000 with 4 KB pages
