"""The urgent fast path's latency: `Router.submit` of urgent leads (memory store), prices learned.

    python benchmarks/fast_path/latency.py --reps 1000 5000 [--leads 6000] [--repeats 3] [--out FILE]
    python /tmp/run_base.py benchmarks/fast_path/latency.py ...   # the same against another checkout

A quarter of each stream warms the router up (its prices learned, `tick()`
after each submit as the service calls it); p50/p99 are over the rest, in
wall-clock and CPU time (`time.thread_time`: what the router costs, without
the waits of a machine shared with other work). Each repeat is a fresh
router on another seed. The imports fall back to the flat layout of the code
before the lead store's rebuild, so one script measures both (paired runs).
`run.py` reports the same figures at 1,000 reps with its quality results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from solver.bench.synthetic import make_instance

try:
    from solver.domain.model import Policy
    from solver.online.router import Router
except ImportError:  # the layout before the rebuild (a base checkout)
    from solver.model import Policy  # type: ignore[no-redef]
    from solver.router import Router  # type: ignore[no-redef]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def latency(n_reps: int, n_leads: int, seed: int,
            policy_of: Callable[[list[str]], Policy] = lambda _: Policy()) -> dict[str, float]:
    """p50/p99 of urgent submits on a fresh router (`policy_of(rep ids)` its policy)."""
    inst = make_instance(n_leads, n_reps, tightness=3.0, seed=seed)
    leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
    router = Router(inst.reps, policy_of([r.id for r in inst.reps]), clock=lambda: T0)
    warm = n_leads // 4
    for x in leads[:warm]:  # learn prices before timing
        router.submit(x)
        router.tick()
    times, cpu = [], []
    for x in leads[warm:]:
        start, start_cpu = time.perf_counter(), time.thread_time()
        router.submit(x)
        cpu.append(time.thread_time() - start_cpu)
        times.append(time.perf_counter() - start)
        router.tick()  # not timed: the service calls it between requests
    us, cpu_us = np.array(times) * 1e6, np.array(cpu) * 1e6
    return {"reps": n_reps, "timed_submits": len(times), "p50_us": float(np.percentile(us, 50)),
            "p99_us": float(np.percentile(us, 99)), "max_us": float(us.max()),
            "cpu_p50_us": float(np.percentile(cpu_us, 50)), "cpu_p99_us": float(np.percentile(cpu_us, 99)),
            "prices_nonzero": int((router.pricer.prices > 0).sum())}


def main(policy_of: Callable[[list[str]], Policy] = lambda _: Policy(), *, leads: int = 6000,
         repeats: int = 3) -> None:
    """The command line: `--reps`, `--leads`, `--repeats`, `--out` (rules.py reuses it)."""
    parser = argparse.ArgumentParser(description=(sys.modules["__main__"].__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, nargs="+", default=[1000])
    parser.add_argument("--leads", type=int, default=leads)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    import solver

    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": os.path.dirname(os.path.dirname(solver.__file__)),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "runs": [latency(m, args.leads, k, policy_of) for m in args.reps for k in range(args.repeats)],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    emit(result, args.out)


def emit(result: dict[str, Any], out: str | None) -> None:
    """Print the result as JSON, and write it to `out` too when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
