"""The scheduled job against the batch command on the same files: `leadsolver run` vs `assign`.

    python benchmarks/run_job/bench_run.py [--leads 50000] [--reps 200] [--repeats 3]
                                           [--out benchmarks/run_job/results.json]

`run` does everything `assign` does (load, compile, solve, decode) and also
records every lead, decision and explanation in a fresh SQLite ledger in one
transaction; issue 12 asks that it stay within 2x of `assign` at 50,000 leads.
Both commands run as subprocesses (the whole cost a cron job pays, interpreter
start included) on the same synthetic files (`solver.bench.synthetic`, flow,
unit effort), alternating, so both see the same machine load; the figure is
the median of the paired ratios run/assign.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from solver.bench.synthetic import make_instance

CLI = [sys.executable, "-m", "solver.cli"]


def write_inputs(folder: Path, n_leads: int, n_reps: int) -> tuple[Path, Path]:
    inst = make_instance(n_leads, n_reps, tightness=0.9, seed=0)
    reps = folder / "reps.json"
    leads = folder / "leads.json"
    reps.write_text(json.dumps([r.model_dump(mode="json", exclude_defaults=True) for r in inst.reps]))
    leads.write_text(json.dumps([x.model_dump(mode="json", exclude_defaults=True) for x in inst.leads]))
    return reps, leads


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:4])} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reps, leads = write_inputs(folder, args.leads, args.reps)
        assign_s: list[float] = []
        run_s: list[float] = []
        for k in range(args.repeats):
            assign_s.append(timed([*CLI, "assign", "--reps", str(reps), "--leads", str(leads),
                                   "--format", "json", "--out", str(folder / f"assign{k}.json")]))
            run_s.append(timed([*CLI, "run", "--db", str(folder / f"ledger{k}.db"), "--reps", str(reps),
                                "--leads", str(leads), "--format", "json",
                                "--out", str(folder / f"run{k}.json")]))
            print(f"repeat {k}: assign {assign_s[-1]:.2f} s, run {run_s[-1]:.2f} s", file=sys.stderr)
    ratios = [r / a for r, a in zip(run_s, assign_s, strict=True)]
    record = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "leads": args.leads, "reps": args.reps, "repeats": args.repeats,
        "assign_s": [round(x, 3) for x in assign_s], "run_s": [round(x, 3) for x in run_s],
        "run_over_assign_median": round(statistics.median(ratios), 3),
    }
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
