"""CP-SAT with queue places against CP-SAT blind to them, on batches only CP-SAT takes.

    python benchmarks/speed/cpsat_queues.py [--seeds 5] [--time-limit 10]
                                            [--out benchmarks/speed/cpsat_queues.json]

Effort 1-3 per lead (flow cannot take the batch), speed on with its default position slots:
a rep's k-th lead of the batch waits behind the k-1 before it. "blind" is the same batch
solved with one slot (every lead priced at its rep's next place: CP-SAT before it modelled
the places), its answer then valued with every lead at its place; "places" is the cpsat policy
as shipped. Per size, paired by seed: leads placed (the first level of the objective) and the
batch's worth (the second) with 95% intervals, how many answers each proved optimal, and the
median time. Both get the same time limit and one worker each (deterministic given the seed,
and the machine's two cores are not shared between them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.policies import Status, solve
from solver.sim.metrics import paired_interval, paired_percent

SIZES = ((60, 10), (100, 20), (300, 36))


def one(n: int, m: int, seed: int, limit: float) -> dict[str, dict[str, float | int | str]]:
    inst = make_instance(n, m, tightness=0.9, density=0.3, effort_max=3, seed=seed)
    policy = inst.policy.model_copy(update={"time_limit_s": limit, "workers": 1, "seed": seed})
    problem = compile_problem(inst.reps, inst.leads, policy)
    assert problem.queues
    blind_policy = policy.model_copy(update={"speed": policy.speed.model_copy(update={"slots": 1})})
    runs: dict[str, dict[str, float | int | str]] = {}
    blind = compile_problem(inst.reps, inst.leads, blind_policy)
    for name, compiled in (("blind", blind), ("places", problem)):
        start = time.perf_counter()
        solution = solve(compiled, "cpsat")
        runs[name] = {"seconds": time.perf_counter() - start, "placed": int((solution.owner >= 0).sum()),
                      "worth": problem.objective(solution.owner),  # every lead at its place
                      "optimal": int(solution.status is Status.OPTIMAL and name == "places"),
                      "engine": str(solution.stats.get("engine", ""))}
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "time_limit_s": args.time_limit, "seeds": args.seeds, "sizes": [],
    }
    for n, m in SIZES:
        runs = [one(n, m, seed, args.time_limit) for seed in range(args.seeds)]
        side = {name: {key: [r[name][key] for r in runs] for key in ("placed", "worth", "seconds", "optimal")}
                for name in ("blind", "places")}
        row = {
            "leads": n, "reps": m,
            "placed_difference": paired_interval(side["places"]["placed"], side["blind"]["placed"]),
            "worth_percent": paired_percent(side["places"]["worth"], side["blind"]["worth"]),
            "proved_optimal": sum(side["places"]["optimal"]),
            "median_seconds": {name: round(statistics.median(side[name]["seconds"]), 2) for name in side},
            "engines": sorted({r["places"]["engine"] for r in runs}),
        }
        print(json.dumps(row), flush=True)
        result["sizes"].append(row)  # type: ignore[attr-defined]
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
