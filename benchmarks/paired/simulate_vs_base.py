"""Simulation throughput (leads per CPU-second) in this checkout against another one, paired.

    python benchmarks/paired/simulate_vs_base.py --base /tmp/base [--rounds 3] [--days 2]

The cell of benchmarks/simulate/throughput.py (100 reps, flow, one seed) in a
fresh interpreter per checkout, alternating; CPU time of the process (not wall
time, which other work on a shared machine inflates). The figure is the median
over rounds of the ratio this/base of leads per CPU-second.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from worker import run_worker

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/benchmarks/simulate")
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
import throughput
try:
    from solver.sim.simulate import Cell, run_cell
except ImportError:
    from solver.simulate import Cell, run_cell
scenario = throughput.scenario(60000, float(sys.argv[2]))
start = time.process_time()
out = run_cell(Cell(scenario, "base", "flow", 0))
cpu = time.process_time() - start
print(json.dumps({"leads": out.metrics["leads"], "cpu_s": cpu}))
"""


def rate(checkout: Path, days: float) -> float:
    run = run_worker(WORKER, checkout, days)
    return run["leads"] / run["cpu_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=float, default=2.0)
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[2]
    this, base = [], []
    for _ in range(args.rounds):
        base.append(rate(args.base.resolve(), args.days))
        this.append(rate(here, args.days))
    ratios = [t / b for t, b in zip(this, base, strict=True)]
    print(json.dumps({"this_leads_per_cpu_min": [round(60 * x) for x in this],
                      "base_leads_per_cpu_min": [round(60 * x) for x in base],
                      "ratio_median": round(statistics.median(ratios), 3),
                      "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}, indent=2))


if __name__ == "__main__":
    main()
