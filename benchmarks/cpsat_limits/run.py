"""Does `cpsat` keep its time limit, and its warm start? (issue 12, items 1 and 2)

    PYTHONPATH=. python benchmarks/cpsat_limits/run.py [--repeats 3] [--limits 0.01,0.1,1,3]

Instances: 3,000 leads x 100 reps from `solver.bench.synthetic.make_instance`
(seed 0, 2% of leads under the owner rule, fairness weight 0.5), either with
account grouping (about 1,000 accounts of ~3 leads, unit effort) or with effort
1-3 and no grouping; the same builder as tests/policies/test_cpsat_promises.py.
Wall time is the whole `solve(problem, "cpsat")` call (warm start, model build,
CP-SAT, final comparison); compile is outside it. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

from solver.policies import solve
from solver.policies.cpsat import policy_objective, warm_start
from tests.policies.test_cpsat_promises import big_batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limits", default="0.01,0.1,1,3")
    args = parser.parse_args()
    print("| instance | limit (s) | wall max (s) | over limit (s) | placed | start placed | "
          "objective / start | status | engine |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in ("grouped", "effort"):
        for limit in map(float, args.limits.split(",")):
            problem = big_batch(kind, limit)
            start = warm_start(problem)
            assert start is not None
            walls, solution = [], None
            for _ in range(args.repeats):
                began = time.perf_counter()
                solution = solve(problem, "cpsat")
                walls.append(time.perf_counter() - began)
            assert solution is not None
            ratio = policy_objective(problem, solution.owner) / policy_objective(problem, start)
            print(f"| {kind} 3000x100 | {limit:g} | {max(walls):.3f} | {max(walls) - limit:+.3f} | "
                  f"{int((solution.owner >= 0).sum())} | {int((start >= 0).sum())} | {ratio:.4f} | "
                  f"{solution.status} | {solution.stats.get('engine')} |", flush=True)


if __name__ == "__main__":
    main()
