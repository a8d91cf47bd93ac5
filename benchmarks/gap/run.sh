#!/bin/sh
# Reproduce benchmarks/gap/results.{md,json}: every single-file GAP instance
# (types A-E, Chu-Beasley and Yagiura), cpsat vs the naive CP-SAT model in the
# same run, 10 s and 2 workers each. Takes ~20 minutes. Run from the repo root.
# Both files are rewritten after every instance (marked PARTIAL until the end),
# so an interrupted run still leaves a usable table.
# One instance through the CLI: leadsolver bench gap --instances ../shared/data/gap/single/c10400
# A subset elsewhere, without the naive model (half the time):
#   GAP_OUT=/tmp/sub GAP_NAIVE=0 sh benchmarks/gap/run.sh d20100 e20100
set -e
DATA=${LEADSOLVER_GAP_DATA:-../shared/data/gap}
OUT=${GAP_OUT:-benchmarks/gap}
NAIVE=${GAP_NAIVE:-1}
mkdir -p "$OUT"
python - "$DATA" "$OUT" "$NAIVE" "$@" <<'PY'
import sys
from pathlib import Path
from solver.bench.gap import run_gap, write_results
data, out, naive, only = Path(sys.argv[1]), sys.argv[2], sys.argv[3] != "0", set(sys.argv[4:])
paths = sorted((data / "single").glob("*"), key=lambda p: (p.name[0], len(p.name), p.name))
paths = [p for p in paths if not only or p.name in only]
command = ("" if naive else "GAP_NAIVE=0 ") + "sh benchmarks/gap/run.sh" + "".join(f" {name}" for name in sys.argv[4:])

def save(result):
    result["meta"]["command"] = command
    write_results(result, out)

save(run_gap(paths, time_limit_s=10, workers=2, naive=naive, progress=True, on_row=save))
PY
