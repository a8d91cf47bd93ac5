"""The urgent fast path's latency when routing rules, teams and a fallback decide a lead's row.

    python benchmarks/fast_path/rules.py --reps 1000 [--leads 3000] [--repeats 2] [--out FILE]

A policy with routing rules (or accounts, a fallback, or team caps) makes the
urgent path compile the lead as a one-lead batch (`compile_problem`'s rule step,
`solver.online.single.routed_row`) instead of `LeadScorer`'s direct row, so
rules apply to urgent leads exactly as to batches. This measures what that
costs, beside `latency.py`'s figure for a policy without them (the scorer),
with the same stream and warm-up: two teams, three rules (an admission by
value, an exclusion by industry, a soft preference by segment) and a
no-rule-match fallback to a review queue.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from latency import emit

from solver.bench.synthetic import make_instance
from solver.domain.model import Policy
from solver.online.router import Router

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def rules_policy(rep_ids: list[str]) -> Policy:
    half = len(rep_ids) // 2
    return Policy.model_validate({
        "teams": [{"id": "enterprise", "members": rep_ids[:half]},
                  {"id": "inside", "members": rep_ids[half:]}],
        "routing_rules": [
            {"name": "big to enterprise", "when": "value >= 30000",
             "then": {"admit": {"team": "enterprise"}}},
            {"name": "no finance for inside", "when": {"industry": "finance"},
             "then": {"exclude": {"team": "inside"}}},
            {"name": "MM to inside", "when": {"segment": "MM"}, "then": {"prefer": {"team": "inside"}},
             "weight": 0.2},
        ],
        "fallback": {"no_rule_match": {"queue": "review"}, "queues": ["review"]},
    })


def latency(n_reps: int, n_leads: int, seed: int) -> dict[str, float]:
    inst = make_instance(n_leads, n_reps, tightness=3.0, seed=seed)
    leads = [x.model_copy(update={"urgent": True}) for x in inst.leads]
    router = Router(inst.reps, rules_policy([r.id for r in inst.reps]), clock=lambda: T0)
    warm = n_leads // 4
    for x in leads[:warm]:
        router.submit(x)
        router.tick()
    times, cpu = [], []
    for x in leads[warm:]:
        start, start_cpu = time.perf_counter(), time.thread_time()
        router.submit(x)
        cpu.append(time.thread_time() - start_cpu)
        times.append(time.perf_counter() - start)
        router.tick()
    us, cpu_us = np.array(times) * 1e6, np.array(cpu) * 1e6
    return {"reps": n_reps, "timed_submits": len(times), "p50_us": float(np.percentile(us, 50)),
            "p99_us": float(np.percentile(us, 99)), "max_us": float(us.max()),
            "cpu_p50_us": float(np.percentile(cpu_us, 50)), "cpu_p99_us": float(np.percentile(cpu_us, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, nargs="+", default=[1000])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "runs": [latency(m, args.leads, seed=k) for m in args.reps for k in range(args.repeats)],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
