"""latency.py against another checkout of the code, interleaved: before and after in one run.

    git archive <commit> | tar -x -C /tmp/base
    python benchmarks/fast_path/paired.py --base /tmp/base [--reps 1000] [--leads 6000] [--seeds 0 1 2]
        [--rounds 1] [--policy '{"speed": {"enabled": false}}'] [--out FILE]

Each (round, seed) runs `latency.latency` once on the base code and once on this
checkout, each in a fresh process started in the code's root (so `solver` is its), the
order alternating from round to round, so both see the same machine. Prints the
load average and one JSON line per run; the p50/p99 figures are latency.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

RUN = """
import json, sys
from latency import latency
from solver.domain.model import Policy
policy = Policy.model_validate(json.loads(sys.argv[4]))
print(json.dumps(latency(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), lambda _: policy)))
"""


def once(root: Path, reps: int, leads: int, seed: int, policy: str) -> dict[str, float]:
    """latency.latency(reps, leads, seed) on the code at `root`, in a new process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(HERE)]))
    # in `root`: `python -c` puts the working directory first on the path
    done = subprocess.run([sys.executable, "-c", RUN, str(reps), str(leads), str(seed), policy],
                          env=env, cwd=root, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--base", required=True, type=Path)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--leads", type=int, default=6000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--policy", default="{}")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    runs = []
    print(f"load average at start {os.getloadavg()}", flush=True)
    for r in range(args.rounds):
        for seed in args.seeds:
            order = [("base", args.base), ("this", ROOT)]
            if (r + seed) % 2:
                order.reverse()
            for name, root in order:
                run = {"code": name, "round": r, "seed": seed, "policy": args.policy,
                       **once(root, args.reps, args.leads, seed, args.policy)}
                runs.append(run)
                print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in run.items()}),
                      flush=True)
    print(f"load average at end {os.getloadavg()}")
    if args.out:
        Path(args.out).write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    main()
