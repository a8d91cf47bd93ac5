"""Simulation throughput: leads simulated per minute, one core, a 100-rep team, flow policy.

    python benchmarks/simulate/throughput.py [--leads-per-week 60000] [--days 7]

One cell (one policy, one seed) runs in this process, so the figure is for one
core. Prints a JSON line; results.md records runs with machine and date.
`leads_per_cpu_minute` counts this process's CPU time only, so it holds when
other work shares the core (wall-clock `leads_per_minute` does not).
"""

from __future__ import annotations

import argparse
import json
import time

from solver.sim.scenario import Scenario, StreamSpec, TeamSpec
from solver.sim.simulate import Cell, run_cell


def scenario(leads_per_week: float, days: float) -> Scenario:
    reps = [{"id": f"R{j:03d}", "territories": [f"T{j % 10}", f"T{(j + 3) % 10}"], "capacity": 40,
             "skills": {("software", "retail", "finance")[j % 3]: 1.3}} for j in range(100)]
    return Scenario(
        name="throughput", horizon_days=days, team=TeamSpec(reps=reps),
        stream=StreamSpec(leads_per_week=leads_per_week,
                          territory={f"T{t}": 1 for t in range(10)},
                          industry={"software": 1, "retail": 1, "finance": 1},
                          urgent_share=0.05, repeat_rate=0.1),
        policy={"fairness": {"weight": 0.5}, "batch": {"max_size": 100, "max_wait_s": 300}},
        response={"work_days": 0.5},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads-per-week", type=float, default=60000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--policy", default="flow")
    args = parser.parse_args()
    s = scenario(args.leads_per_week, args.days)
    start, cpu_start = time.perf_counter(), time.process_time()
    out = run_cell(Cell(s, "base", args.policy, 0))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    leads = out.metrics["leads"]
    print(json.dumps({"policy": args.policy, "reps": 100, "leads": int(leads), "seconds": round(seconds, 2),
                      "leads_per_minute": round(leads / seconds * 60),
                      "cpu_seconds": round(cpu, 2), "leads_per_cpu_minute": round(leads / cpu * 60),
                      "assigned": int(out.metrics["assigned"])}))


if __name__ == "__main__":
    main()
