"""Experiment study (issue 15): does the experiment report keep its promises on simulated traffic?

Three parts, each many seeds of the shifts scenario (24 reps, ~1,400 leads a
week) routed by least loaded through the real router with an experiment, the
dispositions recorded in its ledger and the report read by the code of
`leadsolver experiment report` (`solver.sim.experiment`):

- A/A by lead: the same policy in both arms (the challenger only restates the
  seed). With a look every day, how often does the always-valid p-value fall
  to 5%? (And how often would a fixed 95% interval exclude 0 at some look:
  the peeking the sequential test is there to prevent.)
- A/A by switchback block (4 h): the same with whole blocks randomized and the
  cluster-robust interval.
- A/B with a known lift: the challenger's leads win with probability
  min(1, p + lift), lift = min_effect = 0.05, over 24 days (past the
  report's sequential sample size for 80% power). How often is it detected,
  against the power the report states for each run's size, and how often does
  the report's 95% interval (and its confidence sequence) cover the true lift?

    python benchmarks/experiments/study.py --reps 200 --workers 2

writes benchmarks/experiments/results.json and prints the figures recorded in
benchmarks/experiments/results.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from statistics import NormalDist
from typing import Any

from solver.report.experiment_stats import mixture_half_width
from solver.sim.experiment import run_experiment
from solver.sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "shifts.yaml"
SOLVER = "least_loaded"
Z95 = 1.959964

PARTS: dict[str, dict[str, Any]] = {
    "aa_lead": {"days": 14, "lift": 0.0,
                "experiment": {"name": "aa", "challenger": {"seed": 0}, "min_effect": 0.05}},
    # 84 blocks of 4 h a run; 100 seeds by default (--reps-switchback)
    "aa_switchback": {"days": 14, "lift": 0.0,
                      "experiment": {"name": "aa-switchback", "challenger": {"seed": 0}, "unit": "switchback",
                                     "block_hours": 4, "min_effect": 0.05}},
    "ab_lead": {"days": 24, "lift": 0.05,
                "experiment": {"name": "ab", "challenger": {"seed": 0}, "min_effect": 0.05}},
}


def one(task: tuple[str, int]) -> dict[str, Any]:
    """One seed of one part: the figures the study counts."""
    part, seed = task
    spec = PARTS[part]
    scenario = with_overrides(load_scenario(SCENARIO), {"horizon_days": spec["days"]})
    # the seed's arms differ from seed to seed: the experiment's seed follows the simulation's
    experiment = spec["experiment"] | {"seed": seed}
    run = run_experiment(scenario, SOLVER, seed, experiment, lift=spec["lift"])
    report = run.report
    d, seq = report["difference"], report["sequential"]
    # the power the report states for this run's size: P(estimate clears the sequence's half-width)
    exp = report["experiment"]
    stated = None
    if d["se"]:
        half = mixture_half_width(d["se"], exp["min_effect"], exp["alpha"])
        stated = NormalDist().cdf((exp["min_effect"] - half) / d["se"])
    peeked = any(look["se"] and abs(look["diff"]) > Z95 * look["se"] for look in report["looks"])
    return {
        "part": part, "seed": seed, "true_lift": run.true_lift,
        "resolved": d["n_control"] + d["n_challenger"],
        "clusters": d["clusters"], "diff": d["diff"], "low": d["low"], "high": d["high"],
        "p_value": seq["p_value"], "cs_low": seq["low"], "cs_high": seq["high"], "looks": seq["looks"],
        "significant": seq["significant"], "peeking_rejects": peeked,
        "needed": report["sample_size"]["sequential"] if report["sample_size"] else None,
        "stated_power": stated,
    }


def summarize(rows: list[dict[str, Any]], part: str) -> dict[str, Any]:
    mine = [r for r in rows if r["part"] == part]
    n = len(mine)
    truth = sum(r["true_lift"] for r in mine) / n
    covered = sum(r["low"] <= truth <= r["high"] for r in mine)
    cs_covered = sum((r["cs_low"] if r["cs_low"] is not None else -math.inf) <= truth
                     <= (r["cs_high"] if r["cs_high"] is not None else math.inf) for r in mine)
    rejected = sum(r["significant"] for r in mine)
    sizes = [r["needed"] for r in mine if r["needed"]]
    return {
        "runs": n, "true_lift": round(truth, 5), "rejection_rate": rejected / n,
        "rejection_se": math.sqrt(max(rejected / n * (1 - rejected / n), 1e-12) / n),
        "peeking_rejection_rate": sum(r["peeking_rejects"] for r in mine) / n,
        "interval_coverage": covered / n, "sequence_coverage": cs_covered / n,
        "mean_resolved": sum(r["resolved"] for r in mine) / n,
        "mean_stated_power": sum(r["stated_power"] or 0.0 for r in mine) / n,
        "median_sequential_sample_size": sorted(sizes)[len(sizes) // 2] if sizes else None,
        "mean_looks": sum(r["looks"] for r in mine) / n,
        "mean_clusters": (sum(r["clusters"] for r in mine) / n) if mine[0]["clusters"] else None,
    }


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits, so the recorded rows stay small."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="seeds per part")
    parser.add_argument("--reps-switchback", type=int, default=100, help="seeds of the switchback part")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    tasks = [(part, seed) for part in args.parts.split(",")
             for seed in range(args.reps_switchback if part == "aa_switchback" else args.reps)]
    started = time.perf_counter()
    if args.workers > 1:
        with Pool(args.workers) as pool:
            rows = pool.map(one, tasks, chunksize=4)
    else:
        rows = [one(t) for t in tasks]
    summary = {part: summarize(rows, part) for part in args.parts.split(",")}
    out = {"scenario": "shifts", "solver": SOLVER, "parts": PARTS, "summary": summary,
           "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    Path(args.out).write_text(json.dumps(_rounded(out), separators=(",", ":")) + "\n")
    json.dump({"summary": summary, "seconds": out["seconds"]}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
