"""Exploration of fast-path pricing variants on compiled streams (no Router; same rule).

    python benchmarks/fast_path/explore.py [--seeds 1 2 3] [--tightness 1.0 1.2 1.5]

Each variant simulates the fast path's rule (argmax profit - price over eligible reps
with room, every lead placed if it can be) on a random-order stream, re-solving the
pricing LP (`solver.online.pricing._capacity_duals`) on a schedule; printed as ratios to
the offline optimum (`flow`). Used to choose DualPricer's defaults; not a test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.domain.model import Policy
from solver.online.pricing import _capacity_duals
from solver.policies import solve


def simulate(problem, *, window=None, first=16, growth=2.0, max_interval=256, horizon="free",
             eps=0.0, cap_scale=True, n_true=None, balance=False, smooth=0.0, defer=False, floor=0.0,
             clairvoyant=False):
    n, m = problem.eligible.shape
    free = problem.capacity.astype(float).copy()
    prices = np.zeros(m)
    if clairvoyant:  # the duals of the whole stream's LP, never re-learned
        prices = _capacity_duals(problem.profit, problem.eligible, free)
        first = n + 1
    cap0 = free.copy()
    value = 0.0
    nxt = first
    for i in range(n):
        cand = problem.eligible[i] & (free >= 1)
        if defer:  # the primal-dual admission rule: only seats whose price the lead covers
            cand &= problem.profit[i] >= prices
        if cand.any():
            score = problem.profit[i] - prices
            if balance:
                used = 1 - free / np.maximum(cap0, 1)
                score = problem.profit[i] * (1 - np.exp(used - 1)) / (1 - np.exp(-1))
            j = int(np.argmax(np.where(cand, score, -np.inf)))
            free[j] -= 1
            value += problem.value[i, j]
        seen = i + 1
        if seen >= nxt and seen < n:
            nxt = seen + min(max(int(seen * (growth - 1)), first), max_interval)
            lo = 0 if window is None else max(0, seen - window)
            w = seen - lo
            if horizon == "free":
                remaining = free.sum()
            elif horizon == "known":
                remaining = max(n_true - seen, floor * seen)
            elif isinstance(horizon, str) and horizon.startswith("hedge"):  # floor at c x seen, cap at free
                factor, c = map(float, horizon[5:].split(","))
                remaining = min(free.sum(), max(factor * n_true - seen, c * seen))
            elif isinstance(horizon, str):  # a forecast of the stream's length, off by a factor
                remaining = max(float(horizon[1:]) * n_true - seen, 1)
            else:
                remaining = horizon(seen, free)
            if remaining <= 0:
                continue
            scale = w / remaining
            if cap_scale:
                scale = min(1.0, scale)
            if eps == "sqrt":
                eps = min(0.5, (m / w) ** 0.5 * 0.1)
            capacity = free * scale * (1 - eps)
            duals = _capacity_duals(problem.profit[lo:seen], problem.eligible[lo:seen], capacity)
            if duals is not None:
                prices = smooth * prices + (1 - smooth) * duals if smooth and prices.any() else duals
                balance = False
    return value


VARIANTS = {
    "old(512,64,x2,free,cap)": dict(window=512, first=64, max_interval=4096, horizon="free"),
    "old-known": dict(window=512, first=64, max_interval=4096, horizon="known"),
    "full,16,free": dict(horizon="free"),
    "full,16,known": dict(horizon="known"),
    "full,16,known,nocap": dict(horizon="known", cap_scale=False),
    "full,16,free,nocap": dict(horizon="free", cap_scale=False),
    "old-known-nocap": dict(window=512, first=64, max_interval=4096, horizon="known", cap_scale=False),
    "w2048,known,nocap": dict(window=2048, horizon="known", cap_scale=False),
    "full,x1.25,known,nocap": dict(horizon="known", cap_scale=False, growth=1.25, max_interval=10**9),
    "full,16,known,nocap,sqrt-eps": dict(horizon="known", cap_scale=False, eps="sqrt"),
    "balance": dict(balance=True, first=10**9),
    # the candidate defaults: 2048-lead window, re-solved after 16, 32, ... leads, then every 1024
    "new,free": dict(window=2048, max_interval=1024, horizon="free", cap_scale=False),
    "new,known": dict(window=2048, max_interval=1024, horizon="known", cap_scale=False),
    "new,0.8N": dict(window=2048, max_interval=1024, horizon="x0.8", cap_scale=False),
    "new,1.25N": dict(window=2048, max_interval=1024, horizon="x1.25", cap_scale=False),
    "w2048,i128,known": dict(window=2048, max_interval=128, horizon="known", cap_scale=False),
    "w2048,i64,known": dict(window=2048, max_interval=64, horizon="known", cap_scale=False),
    "w2048,i256,known,first64": dict(window=2048, first=64, horizon="known", cap_scale=False),
    "w2048,i128,known,first4": dict(window=2048, first=4, max_interval=128, horizon="known", cap_scale=False),
    "w2048,i128,free,first4": dict(window=2048, first=4, max_interval=128, horizon="free", cap_scale=False),
    "w2048,known,smooth0.5": dict(window=2048, horizon="known", cap_scale=False, smooth=0.5),
    "w2048,known,smooth0.3": dict(window=2048, horizon="known", cap_scale=False, smooth=0.3),
    **{f"hedge{f},{c}": dict(window=2048, horizon=f"hedge{f},{c}", cap_scale=False)
       for f in (0.8, 1.0, 1.25) for c in (0.0, 0.25, 0.5)},
    # deferral (primal-dual admission) with the kept window and schedule, by forecast floor
    "defer,known": dict(window=2048, horizon="known", cap_scale=False, defer=True),
    "defer,known,floor0.1": dict(window=2048, horizon="known", cap_scale=False, defer=True, floor=0.1),
    "defer,known,floor0.25": dict(window=2048, horizon="known", cap_scale=False, defer=True, floor=0.25),
    "defer,free": dict(window=2048, horizon="free", cap_scale=False, defer=True),
    "clairvoyant": dict(clairvoyant=True),
    "clairvoyant,defer": dict(clairvoyant=True, defer=True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--tightness", type=float, nargs="+", default=[1.0, 1.2, 1.5])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    names = args.only or list(VARIANTS)
    for t in args.tightness:
        for s in args.seeds:
            inst = make_instance(args.n, args.reps, tightness=t, density=0.3, skill_spread=0.3, seed=s)
            order = np.random.default_rng(s + 1000).permutation(args.n)
            problem = compile_problem(inst.reps, [inst.leads[i] for i in order], Policy())
            opt = problem.total_value(solve(problem, "flow").owner)
            row = [f"t={t} s={s}"]
            for name in names:
                start = time.time()
                v = simulate(problem, n_true=args.n, **VARIANTS[name])
                row.append(f"{name}={v / opt:.4f}({time.time() - start:.0f}s)")
            print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
