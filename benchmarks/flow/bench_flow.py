"""Time `flow` (compile + solve) against scipy's Hungarian algorithm, in one run.

    python benchmarks/flow/bench_flow.py [--repeats 7] [--out benchmarks/flow/results.json]

Instances (seeded, from solver.bench.synthetic): 1,000 leads x 200 reps and
10,000 x 1,000, tight capacity (0.9 of the batch), 30% eligibility. scipy's
`linear_sum_assignment` runs on the 1,000 x 200 instance with every rep's
free capacity expanded into unit slots (ineligible pairs priced out), which
is the textbook way to route with an assignment solver; both answers are
checked to reach the same expected value. Flow and Hungarian runs
alternate, so both see the same machine load; the speed-up is reported as the
median of the paired ratios and as the ratio of the best times, which survive
a noisy, shared machine better than the absolute figures do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.policies import solve


def run_flow(inst) -> tuple[float, float, float]:
    """(compile seconds, solve seconds, profit) of one flow run, compile included."""
    start = time.perf_counter()
    problem = compile_problem(inst.reps, inst.leads, inst.policy)
    compiled = time.perf_counter()
    solution = solve(problem, "flow")
    return compiled - start, time.perf_counter() - compiled, problem.total_profit(solution.owner)


def run_hungarian(inst) -> tuple[float, float]:
    """(seconds, profit) of scipy's Hungarian on capacity slots, compile included."""
    from scipy.optimize import linear_sum_assignment

    start = time.perf_counter()
    problem = compile_problem(inst.reps, inst.leads, inst.policy)
    slots = np.repeat(np.arange(problem.m), problem.capacity)  # one column per unit of capacity
    big = float(problem.profit.max()) * problem.n + 1.0  # an ineligible pair never beats placing one
    cost = np.where(problem.eligible[:, slots], -problem.profit[:, slots], big)
    rows, cols = linear_sum_assignment(cost)
    keep = problem.eligible[rows, slots[cols]]
    value = float(problem.profit[rows[keep], slots[cols[keep]]].sum())
    return time.perf_counter() - start, value


def compare(inst, repeats: int) -> dict[str, float | bool]:
    """Interleave flow and Hungarian runs so both see the same machine load."""
    flow_runs, hungarian_runs, ratios = [], [], []
    for _ in range(repeats):
        flow_runs.append(run_flow(inst))
        hungarian_runs.append(run_hungarian(inst))
        ratios.append(hungarian_runs[-1][0] / (flow_runs[-1][0] + flow_runs[-1][1]))
    flow_total = [c + s for c, s, _ in flow_runs]
    return {
        "flow_s_median": statistics.median(flow_total),
        "flow_s_min": min(flow_total),
        "flow_compile_s_median": statistics.median(c for c, _, _ in flow_runs),
        "flow_solve_s_median": statistics.median(s for _, s, _ in flow_runs),
        "hungarian_s_median": statistics.median(t for t, _ in hungarian_runs),
        "hungarian_s_min": min(t for t, _ in hungarian_runs),
        "speedup_median_of_paired_ratios": statistics.median(ratios),
        "speedup_of_minimums": min(t for t, _ in hungarian_runs) / min(flow_total),
        "same_value": bool(np.isclose(flow_runs[0][2], hungarian_runs[0][1], rtol=1e-9)),
    }


def time_flow_only(inst, repeats: int) -> dict[str, float]:
    runs = [run_flow(inst) for _ in range(repeats)]
    total = [c + s for c, s, _ in runs]
    return {"flow_s_median": statistics.median(total), "flow_s_min": min(total),
            "flow_compile_s_median": statistics.median(c for c, _, _ in runs),
            "flow_solve_s_median": statistics.median(s for _, s, _ in runs)}


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line)
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()

    small = make_instance(1000, 200, tightness=0.9, density=0.3, seed=1)
    large = make_instance(10_000, 1000, tightness=0.9, density=0.3, seed=2)
    import ortools

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_1min": os.getloadavg()[0],
        "ortools": ortools.__version__,
        "command": f"python benchmarks/flow/bench_flow.py --repeats {args.repeats}",
        "1000x200": compare(small, args.repeats),
        "10000x1000": time_flow_only(large, max(3, args.repeats // 3)),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
