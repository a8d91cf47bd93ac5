"""What the slowest urgent submits have in common: latency.py's stream, each submit labelled.

    python benchmarks/fast_path/tail.py [--reps 1000] [--leads 6000] [--repeats 3] [--steps]

For every timed submit (latency.py's: a quarter of the stream warms up, `tick()`
untimed between submits) it records wall and CPU time and what happened: the
tick before it re-solved the pricing LP, the scorer met a new label combination,
the thread was switched out (`getrusage`: voluntary or involuntary context
switches), it page-faulted. It prints, per run, how many of the submits at or
above p99 carry each label against how many submits do overall. `--steps` also
times the urgent path's steps (each wrapped: adds ~0.2 us a step) and prints
their medians in the fast half and in the slow 1%.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from solver.bench.synthetic import make_instance
from solver.domain.model import Policy
from solver.online import capacity, memory_store, pricing, single
from solver.online.fastpath import LeadScorer
from solver.online.router import Router

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STEPS = [(memory_store.MemoryStore, "accept"), (memory_store.MemoryStore, "loads"), (capacity.Team, "free"),
         (capacity.Team, "speed_now"), (LeadScorer, "row"), (single, "choose_rep"),
         (pricing.DualPricer, "observe_one"), (single, "fast_reason"), (single, "Assignment"),
         (capacity.Team, "sla_due"), (memory_store.MemoryStore, "decide")]


def timed_steps(spent: dict[str, float]) -> None:
    """Wrap each of STEPS so that its time adds up in `spent` (seconds by step name)."""
    clock = time.perf_counter

    def timed(f: Any, name: str) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            start = clock()
            try:
                return f(*args, **kw)
            finally:
                spent[name] = spent.get(name, 0.0) + clock() - start
        return wrapper

    for owner, name in STEPS:
        setattr(owner, name, timed(getattr(owner, name), name))


def run(n_reps: int, n_leads: int, seed: int, spent: dict[str, float]) -> dict[str, Any]:
    inst = make_instance(n_leads, n_reps, tightness=3.0, seed=seed)
    leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
    router = Router(inst.reps, Policy(), clock=lambda: T0)
    warm = n_leads // 4
    for x in leads[:warm]:
        router.submit(x)
        router.tick()
    scorer = router.team.scorer
    wall, cpu, after_lp, new_labels, switched, faulted, steps = [], [], [], [], [], [], []
    repriced = False
    for x in leads[warm:]:
        spent.clear()
        known = len(scorer._by_labels) + len(scorer._by_skills)
        before = resource.getrusage(resource.RUSAGE_THREAD)
        start, start_cpu = time.perf_counter(), time.thread_time()
        router.submit(x)
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_THREAD)
        after_lp.append(repriced)
        new_labels.append(len(scorer._by_labels) + len(scorer._by_skills) != known)
        switched.append(after.ru_nvcsw + after.ru_nivcsw > before.ru_nvcsw + before.ru_nivcsw)
        faulted.append(after.ru_minflt + after.ru_majflt > before.ru_minflt + before.ru_majflt)
        steps.append(dict(spent))
        due = router.pricer.next_update
        router.tick()
        repriced = router.pricer.next_update != due
    us = np.array(wall) * 1e6
    slow = us >= np.percentile(us, 99)
    out: dict[str, Any] = {"seed": seed, "p50_us": round(float(np.percentile(us, 50)), 1),
                           "p99_us": round(float(np.percentile(us, 99)), 1),
                           "cpu_p99_us": round(float(np.percentile(np.array(cpu) * 1e6, 99)), 1),
                           "slow": int(slow.sum())}
    for name, flags in (("after_lp", after_lp), ("new_labels", new_labels), ("switched", switched),
                        ("faulted", faulted)):
        f = np.array(flags)
        out[name] = f"{int(f[slow].sum())} of the slow, {int(f.sum())} of {f.size}"
    if steps[0]:
        fast = us <= np.percentile(us, 50)
        out["steps_us (fast half, slow 1%)"] = {
            name: (round(float(np.median([s[name] for s, f in zip(steps, fast, strict=True) if f])) * 1e6, 1),
                   round(float(np.median([s[name] for s, f in zip(steps, slow, strict=True) if f])) * 1e6, 1))
            for _, name in STEPS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--leads", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", action="store_true")
    args = parser.parse_args()
    spent: dict[str, float] = {}
    if args.steps:
        timed_steps(spent)
    print(f"load average {os.getloadavg()}")
    for seed in range(args.repeats):
        print(run(args.reps, args.leads, seed, spent))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
