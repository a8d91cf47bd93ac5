"""The urgent fast path's latency with a daily cap: the caps are counted from the store per decision.

    cd benchmarks/fast_path && python caps.py [--ledger FILE]   # memory store without --ledger

1,000 reps, 3,000 urgent leads (a quarter warm-up), `caps: {default: {per_day: 3}}`:
each urgent decision reads the day's assignments (`LeadStore.intake`) and counts
them per rep in numpy (`solver.online.caps.RepCaps`).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np

from solver.bench.synthetic import make_instance
from solver.domain.model import Policy
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ledger", default=None, help="A new SQLite ledger file (synchronous NORMAL).")
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--leads", type=int, default=3000)
    args = parser.parse_args()
    inst = make_instance(args.leads, args.reps, tightness=3.0, seed=0)
    leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
    store = SqliteStore(args.ledger, synchronous="NORMAL") if args.ledger else None
    router = Router(inst.reps, Policy.model_validate({"caps": {"default": {"per_day": 3}}}), store,
                    clock=lambda: T0)
    warm = len(leads) // 4
    for x in leads[:warm]:
        router.submit(x)
        router.tick()
    times = []
    for x in leads[warm:]:
        start = time.perf_counter()
        router.submit(x)
        times.append(time.perf_counter() - start)
        router.tick()
    us = np.array(times) * 1e6
    where = args.ledger or "memory"
    print(f"caps per_day, {where}: p50 {np.percentile(us, 50):.1f} us, p99 {np.percentile(us, 99):.1f} us")


if __name__ == "__main__":
    main()
