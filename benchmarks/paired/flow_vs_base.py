"""`flow` at 1,000 x 200 (compile + solve) in this checkout against another one, paired.

    python benchmarks/paired/flow_vs_base.py --base /tmp/base [--rounds 5] [--repeats 5]

A refactor must not slow the exact batch engine down. Each round runs a
fresh interpreter on each checkout, one after the other (so both see the same
machine load), and times `--repeats` compile + solve runs of the seeded
1,000 x 200 instance of benchmarks/flow; the figure is the median over rounds
of the ratio this/base of the per-round medians. The base checkout is any
git worktree of an earlier commit (`git worktree add /tmp/base <commit>`); its
modules are found under the flat layout or the layered one.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from worker import run_worker

# Runs inside each checkout: imports whatever layout that checkout has.
WORKER = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
from solver.bench.synthetic import make_instance
try:
    from solver.compile.problem import compile_problem
except ImportError:
    from solver.problem import compile_problem
from solver.policies import solve
inst = make_instance(1000, 200, tightness=0.9, density=0.3, seed=1)
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    solve(compile_problem(inst.reps, inst.leads, inst.policy), "flow")
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times)))
"""


def timed(checkout: Path, repeats: int) -> float:
    return float(run_worker(WORKER, checkout, repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[2]
    ratios, this_s, base_s = [], [], []
    for _ in range(args.rounds):
        base_s.append(timed(args.base.resolve(), args.repeats))
        this_s.append(timed(here, args.repeats))
        ratios.append(this_s[-1] / base_s[-1])
    print(json.dumps({"this_s": [round(x, 4) for x in this_s], "base_s": [round(x, 4) for x in base_s],
                      "ratio_median": round(statistics.median(ratios), 3),
                      "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}, indent=2))


if __name__ == "__main__":
    main()
