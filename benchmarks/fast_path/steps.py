"""Two steps of the urgent path at 1,000 reps, each against its slower form, in the same run.

    python benchmarks/fast_path/steps.py

- `LeadScorer.row`: with its cache of what a lead's labels decide (hard rules,
  soft-rule discount, skills) warm, against the cache emptied before every
  lead (each row computed from the labels, as before the cache).
- `fairness.marginal_cost`: every target positive (no mask, the usual case)
  against one zero target (the masked form, which every call took before).

Figures: microseconds per call, the minimum over repeats of a pass over the
stream's leads (the minimum is what the code costs without the machine's
interruptions).
"""

from __future__ import annotations

import time
import timeit
from datetime import UTC, datetime

import numpy as np

from solver.bench.synthetic import make_instance
from solver.compile.fairness import marginal_cost
from solver.domain.model import Policy
from solver.online.router import Router

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def best_us(call, per: int, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times) / per * 1e6


def main() -> None:
    inst = make_instance(3000, 1000, tightness=3.0, seed=0)
    leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
    router = Router(inst.reps, Policy(), clock=lambda: T0)
    team = router.team
    scorer = team.scorer
    available = team.calendar.available(T0)
    speed = team.speed_now(T0, router.store.loads(team.ids))
    sample = leads[:2000]

    def warm() -> None:
        for lead in sample:
            scorer.row(lead, available, speed)

    def cold() -> None:
        for lead in sample:
            scorer._by_labels.clear()
            scorer._by_skills.clear()
            scorer.row(lead, available, speed)

    warm()
    combinations = len(scorer._by_labels) + len(scorer._by_skills)
    warm_us = best_us(warm, len(sample))
    print(f"LeadScorer.row: cache warm {warm_us:.1f} us, cold {best_us(cold, len(sample)):.1f} us "
          f"({combinations} label combinations in {len(sample)} leads)")
    rng = np.random.default_rng(0)
    load, target = rng.random(1000) * 5, rng.random(1000) * 5 + 0.1
    masked = target.copy()
    masked[0] = 0.0
    n = 3000
    positive = min(timeit.repeat(lambda: marginal_cost(load, target, 1.0, 1.0, 100.0), number=n, repeat=9))
    zero = min(timeit.repeat(lambda: marginal_cost(load, masked, 1.0, 1.0, 100.0), number=n, repeat=9))
    print(f"marginal_cost: targets positive {positive / n * 1e6:.1f} us, one zero target (masked) "
          f"{zero / n * 1e6:.1f} us")


if __name__ == "__main__":
    main()
