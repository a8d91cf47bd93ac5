"""Time `flow` (compile + solve) against scipy's Hungarian algorithm, in one run.

    python benchmarks/flow/bench_flow.py [--repeats 7] [--out benchmarks/flow/results.json]

Instances (seeded, from solver.bench.synthetic): 1,000 leads x 200 reps and
10,000 x 1,000, tight capacity (0.9 of the batch), 30% eligibility. scipy's
`linear_sum_assignment` runs on the 1,000 x 200 instance with every rep's
free capacity expanded into unit slots (ineligible pairs priced out), which
is the textbook way to route with an assignment solver; both answers are
checked to reach the same expected value. Timings are medians of the
repeats; the ratio is computed from the same run, so it survives a noisy,
shared machine better than the absolute figures do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from solver.bench.synthetic import make_instance
from solver.policies import solve
from solver.problem import compile_problem


def time_flow(inst, repeats: int) -> tuple[float, float, float, np.ndarray]:
    compile_times, solve_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        problem = compile_problem(inst.reps, inst.leads, inst.policy)
        compiled = time.perf_counter()
        solution = solve(problem, "flow")
        compile_times.append(compiled - start)
        solve_times.append(time.perf_counter() - compiled)
    total = [c + s for c, s in zip(compile_times, solve_times, strict=True)]
    return statistics.median(total), statistics.median(compile_times), statistics.median(solve_times), \
        problem.total_profit(solution.owner)


def time_hungarian(inst, repeats: int) -> tuple[float, float]:
    from scipy.optimize import linear_sum_assignment

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        problem = compile_problem(inst.reps, inst.leads, inst.policy)
        slots = np.repeat(np.arange(problem.m), problem.capacity)  # one column per unit of capacity
        big = float(problem.profit.max()) * problem.n + 1.0  # an ineligible pair never beats placing one
        cost = np.where(problem.eligible[:, slots], -problem.profit[:, slots], big)
        rows, cols = linear_sum_assignment(cost)
        keep = problem.eligible[rows, slots[cols]]
        value = float(problem.profit[rows[keep], slots[cols[keep]]].sum())
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line)
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown"
    import os

    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()

    small = make_instance(1000, 200, tightness=0.9, density=0.3, seed=1)
    large = make_instance(10_000, 1000, tightness=0.9, density=0.3, seed=2)
    flow_small, compile_small, solve_small, value_flow = time_flow(small, args.repeats)
    hungarian_small, value_hungarian = time_hungarian(small, max(3, args.repeats // 2))
    flow_large, compile_large, solve_large, _ = time_flow(large, max(3, args.repeats // 2))
    import ortools

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "ortools": ortools.__version__,
        "command": "python benchmarks/flow/bench_flow.py --repeats %d" % args.repeats,
        "1000x200": {
            "flow_s": flow_small, "flow_compile_s": compile_small, "flow_solve_s": solve_small,
            "hungarian_s": hungarian_small, "speedup_vs_hungarian": hungarian_small / flow_small,
            "same_value": bool(np.isclose(value_flow, value_hungarian, rtol=1e-9)),
        },
        "10000x1000": {"flow_s": flow_large, "flow_compile_s": compile_large, "flow_solve_s": solve_large},
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
