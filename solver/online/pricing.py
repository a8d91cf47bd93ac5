r"""Seat prices: the capacity duals of the LP over recent leads, and how the router uses them.

`DualPricer` learns per-rep prices (see its docstring); `SeatPricing` holds
the router's decisions about them: whether micro-batches are priced (a volume
forecast, `pricing.price_batches` and a value-maximising policy, as the policy
registry declares), whether the fast path defers leads below every price, and
the forecast's count-down when a pricing LP is prepared.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from solver.compile.problem import Problem, with_prices
from solver.domain.model import Policy
from solver.policies import policy_spec

# With a volume forecast (`policy.pricing.horizon_leads`), at least this share of the leads
# seen so far (at most of the forecast) is still expected: a forecast that runs out would
# otherwise drop the prices to 0 (plain greedy) while leads keep coming. The floor also keeps
# the prices up near the forecast's end, which defers leads that could have taken the last
# seats. Measured (benchmarks/fast_path): 0.1 keeps an exact forecast within ~0.2 pp of no
# floor and gains 1-2 pp on one 20% low.
FORECAST_FLOOR = 0.1


def _as_it_is(problem: Problem) -> Problem:
    return problem


class SeatPricing:
    """The router's prices: a `DualPricer` for its team and the policy's pricing choices."""

    def __init__(self, policy: Policy, m: int) -> None:
        self.policy = policy
        self.pricer = DualPricer(m)
        pricing = policy.pricing
        # Batches take the prices: a forecast, `price_batches`, and a value-maximising solver.
        self.batches = (pricing.horizon_leads is not None and pricing.price_batches
                        and policy_spec(policy.solver).priced)
        # The fast path defers leads below every price only where batches are priced too: the
        # backlog's retries are batch solves, and unpriced ones would place the lead at once.
        self.defers = self.batches and pricing.defer_below_price

    def prices(self) -> np.ndarray | None:
        """The current prices, or None while they are all 0 (the fast path skips them)."""
        return self.pricer.prices if self.pricer.priced else None

    def pricing_now(self) -> Callable[[Problem], Problem]:
        """A batch with the fast path's prices of now, where batches are priced (else as it is);
        the prices are copied, for a batch solved later (off the lock: new prices may be
        installed meanwhile).

        Each seat costs its rep's price, so a micro-batch, like the fast path,
        leaves scarce reps to the leads they are worth most to; with
        `defer_below_price` a lead takes no seat priced above its profit (it
        waits in the backlog). Leads whose account owner keeps them are exempt.
        Only with a volume forecast (`pricing.horizon_leads`): without one the
        prices assume every free seat is taken before any frees up, which is
        fine for steering an urgent lead but would hold seats back for nothing.
        """
        prices = self.prices()
        if prices is None or not self.batches:
            return _as_it_is
        return partial(with_prices, price=prices.copy(), defer=self.policy.pricing.defer_below_price)

    def job(self, free: np.ndarray, unplaced: int = 0) -> PricingJob | None:
        """When the prices are due: the pricing LP on a copy of its inputs, else None.

        `unplaced`: leads already seen that still need seats (a batch about to be solved).
        """
        if not self.pricer.due:
            return None
        horizon = self.policy.pricing.horizon_leads
        if horizon is not None:  # a forecast of the leads per capacity cycle, counted down
            # (backlog leads retried with a batch were counted when they first came: their
            # demand is missing from the horizon, a small effect as they are the cheaper leads)
            seen = self.pricer.seen - unplaced
            # past the forecast the floor stays at its last value: prices that kept rising with
            # every lead would defer more and more of them
            horizon = max(horizon - seen, FORECAST_FLOOR * min(seen, horizon), 1.0)
        return self.pricer.prepare(free, horizon)


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
        # Written now, not left to np.zeros: its pages are mapped lazily, and at 5,000 reps the
        # window is ~90 MB whose first writes (one urgent lead's row each) then fault page by page,
        # ~5 ms a submit (CPU p99 5 ms -> 0.24 ms with the pages touched here).
        self.eligible = np.empty((window, m), dtype=bool)
        self.eligible.fill(False)
        self.profit = np.empty((window, m))
        self.profit.fill(0.0)
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
        """The prices are due to be learned again (the schedule's next point is reached)."""
        return self.seen >= self.next_update

    def expedite(self) -> None:
        """Make the prices due now (the next `prepare` re-solves), whatever the schedule says."""
        self.next_update = self.seen

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
        """The LP's capacity duals: the new prices (None without SciPy or if the LP fails)."""
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
