"""What speed to lead costs in time: flow with queue slots, and the urgent fast path, paired.

    python benchmarks/speed/cost.py [--rounds 5] [--fast-leads 3000] [--parts flow,fast]
                                    [--out benchmarks/speed/cost.json]

Flow: the seeded 1,000 x 200 instance of benchmarks/flow (capacity 0.9 of the
batch, 30% eligibility: every rep takes 2-6 leads of one batch, the worst case
for queue slots) and a 100-lead micro-batch against the same 200 reps (what a
short batch window gives), compile + solve, with the speed model off (the
static score: the time before speed to lead), on with one slot (each rep's
queue and shift priced, no positions within the batch), and on with exact
position slots (the default). Each round runs the variants back to back, so
they see the same machine load; the figure is the median of the per-round
ratios to "off".

Fast path: `Router.submit` of urgent leads at 1,000 reps (latency.py's stream
and warm-up), speed off and on alternating by repeat.

`--parts` runs only some parts (flow, fast); with `--out`, the parts not run keep
what the file held.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fast_path"))

from latency import latency

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.domain.model import Policy
from solver.policies import solve

VARIANTS = {"off": {"enabled": False}, "one slot": {"slots": 1}, "exact slots": {}}


def flow_times(n: int, m: int, rounds: int, repeats: int = 3) -> dict[str, object]:
    inst = make_instance(1000, m, tightness=0.9, density=0.3, seed=1)
    leads = inst.leads[:n]
    policies = {name: inst.policy.model_copy(update={"speed": inst.policy.speed.model_copy(update=kw)})
                for name, kw in VARIANTS.items()}
    per_round: dict[str, list[float]] = {name: [] for name in VARIANTS}
    stats: dict[str, object] = {}
    for _ in range(rounds):
        for name, policy in policies.items():
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                solution = solve(compile_problem(inst.reps, leads, policy), "flow")
                times.append(time.perf_counter() - start)
            per_round[name].append(statistics.median(times))
            stats[name] = {"status": str(solution.status), **solution.stats}
    ratios = {name: round(statistics.median(t / o for t, o in zip(per_round[name], per_round["off"],
                                                                   strict=True)), 2)
              for name in VARIANTS}
    medians = {k: round(statistics.median(v), 4) for k, v in per_round.items()}
    return {"leads": n, "reps": m, "median_s": medians, "ratio_to_off": ratios, "last_solve": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fast-leads", type=int, default=3000)
    parser.add_argument("--fast-repeats", type=int, default=3)
    parser.add_argument("--parts", default="flow,fast", help="comma-separated: flow, fast")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if not parts <= {"flow", "fast"}:
        parser.error(f"unknown parts: {sorted(parts - {'flow', 'fast'})}")
    measured: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    figures: dict[str, object] = {}
    if "flow" in parts:
        figures["flow"] = [flow_times(1000, 200, args.rounds), flow_times(100, 200, args.rounds)]
    if "fast" in parts:
        fast = []
        for k in range(args.fast_repeats):
            for name, policy in (("off", Policy(speed={"enabled": False})), ("on", Policy())):
                run = latency(1000, args.fast_leads, k, lambda _, p=policy: p)
                fast.append({"speed": name, "seed": k, **run})
        figures["fast_path"] = fast
    measured["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if parts == {"flow", "fast"}:
        result = {**measured, **figures}
    else:  # the parts run replace theirs in --out, each with when and how it was measured
        kept = json.loads(Path(args.out).read_text()) if args.out and Path(args.out).exists() else {}
        result = {**kept, **figures, **{f"{key}_measured": measured for key in figures}}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
