"""Benchmark of the router's urgent fast path: latency with 1,000 reps, quality on random-order streams.

    python benchmarks/fast_path/run.py [--quick] [--out benchmarks/fast_path/results.json]

Latency: `Router.submit` of urgent leads (no ledger) with 1,000 reps, prices
already learned; p50/p99 over the timed submissions after a warm-up (see
`latency.py`, which measures it alone for any team size and any checkout).

Quality: each stream is a synthetic instance (`solver.bench.synthetic`) in a
random order. Every lead goes through the fast path alone (all urgent, with
`tick()` between submissions as the service would call it, which is where the
prices are re-learned); plain greedy (the `greedy` policy, unpriced, same
order) is run in the same process; both are reported as ratios of expected
value to the offline optimum (`flow` on the whole stream). Capacity is never
released, so the streams test rationing.

Fast-path variants (all through `Router`, `policy.pricing`): `default` (no
volume forecast: the horizon is the free capacity), `forecast` (`horizon_leads`
= N, the stream's length, as in the random-order model), `forecast_nodefer`
(the same with `defer_below_price: false`: every lead takes a seat if one is
free), `forecast_0.8` / `forecast_1.25` (a forecast 20% low / 25% high).

Each variant reports `..._ratio`: the value the fast path gave at `submit`
(deferred leads count 0: the fast path alone); `..._router_ratio`: plus the
deferred leads the router placed later from its backlog (retried when prices
change, and by a final `flush` at the end of the stream); `..._deferred`: how
many leads the fast path deferred.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime

import numpy as np
from latency import emit, latency  # this folder's script: the same figures alone, --reps

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.decode.reasons import DEFERRED
from solver.domain.model import Policy, Pricing
from solver.online.router import Router
from solver.policies import solve
from solver.policies.greedy import solve_greedy

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def quality(n_leads: int, n_reps: int, tightness: float, seed: int) -> dict[str, float]:
    inst = make_instance(n_leads, n_reps, tightness=tightness, density=0.3, skill_spread=0.3, seed=seed)
    order = np.random.default_rng(seed + 1000).permutation(n_leads)
    stream = [inst.leads[i].model_copy(update={"urgent": True}) for i in order]
    problem = compile_problem(inst.reps, stream, Policy())
    optimum = problem.total_value(solve(problem, "flow").owner)
    greedy = problem.total_value(solve_greedy(problem).owner)
    out = {"leads": n_leads, "reps": n_reps, "tightness": tightness, "seed": seed,
           "greedy_ratio": greedy / optimum}
    variants = (("default", None, True), ("forecast", n_leads, True), ("forecast_nodefer", n_leads, False),
                ("forecast_0.8", 0.8 * n_leads, True), ("forecast_1.25", 1.25 * n_leads, True))
    for label, horizon, defer in variants:
        policy = Policy(pricing=Pricing(horizon_leads=horizon, defer_below_price=defer))
        router = Router(inst.reps, policy, clock=lambda: T0)
        at_submit, later, deferred = 0.0, 0.0, 0
        for x in stream:
            a = router.submit(x)
            at_submit += a.expected_value
            deferred += a.reason.startswith(DEFERRED)
            later += sum(b.expected_value for b in router.tick())
        later += sum(b.expected_value for b in router.flush())
        out[f"fast_path_{label}_ratio"] = at_submit / optimum
        out[f"fast_path_{label}_router_ratio"] = (at_submit + later) / optimum
        out[f"fast_path_{label}_deferred"] = deferred
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer, smaller streams")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    seeds = (1,) if args.quick else (1, 2, 3)
    n = 1000 if args.quick else 3000
    started = time.time()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/fast_path/run.py" + (" --quick" if args.quick else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "latency": latency(1000, 2000 if args.quick else 6000, seed=0),
        "quality": [quality(n, 100, t, s) for t in (1.0, 1.2, 1.5) for s in seeds],
    }
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_s"] = round(time.time() - started, 1)
    emit(result, args.out)


if __name__ == "__main__":
    main()
