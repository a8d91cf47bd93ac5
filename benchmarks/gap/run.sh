#!/bin/sh
# Reproduce benchmarks/gap/results.{md,json}: every single-file GAP instance
# (types A-E, Chu-Beasley and Yagiura), cpsat vs the naive CP-SAT model in the
# same run, 10 s and 2 workers each. Takes ~20 minutes. Run from the repo root.
# Equivalent CLI: leadsolver bench gap --instances ../shared/data/gap/single/<each> --format json
set -e
DATA=${LEADSOLVER_GAP_DATA:-../shared/data/gap}
python - "$DATA" <<'PY'
import json, sys
from pathlib import Path
from solver.bench.gap import render_table, run_gap
data = Path(sys.argv[1])
paths = sorted((data / "single").glob("*"), key=lambda p: (p.name[0], len(p.name), p.name))
result = run_gap(paths, time_limit_s=10, workers=2, naive=True, progress=True)
result["meta"]["command"] = "sh benchmarks/gap/run.sh"
Path("benchmarks/gap/results.json").write_text(json.dumps(result, indent=2) + "\n")
head = "\n".join(f"- {k}: {v}" for k, v in result["meta"].items())
Path("benchmarks/gap/results.md").write_text(
    f"# GAP benchmark: cpsat vs naive CP-SAT model\n\n{head}\n\n{render_table(result)}\n")
PY
