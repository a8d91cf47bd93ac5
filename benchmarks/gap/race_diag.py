"""Per-instance diagnostic of the small-model race (gap_engine.portfolio).

Runs `cpsat` on named single-file instances at 10 s, 2 workers, with the race
check patched, and prints value, gap to best known, status and the race stats
(free pairs per job at each tenth of the limit up to the check; switched or not).

usage (repo root): python benchmarks/gap/race_diag.py FREE_PER_JOB CHECK name...
  FREE_PER_JOB=inf never switches (the race as before commit 5412d1d).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from solver.bench.gap import data_dir
from solver.bench.gapfile import read_best_known, read_gap
from solver.policies import gap_engine, solve

gap_engine.RACE_FREE_PER_JOB, gap_engine.RACE_CHECK = float(sys.argv[1]), float(sys.argv[2])
data = data_dir()
best = read_best_known(data / "best_known.csv")
for name in sys.argv[3:]:
    inst = read_gap(data / "single" / name, time_limit_s=10, workers=2)[0]
    sol = solve(inst.problem, "cpsat")
    value, known = inst.value(sol.owner), best[(name, inst.index, inst.sense)]
    stats = {k: v for k, v in sol.stats.items() if k.startswith(("race", "lns", "engine"))}
    print(json.dumps({"name": name, "value": value, "best": known,
                      "gap%": round(100 * abs(value - known) / known, 3),
                      "status": str(sol.status), "t": round(sol.solve_time_s, 2), **stats}),
          flush=True)
