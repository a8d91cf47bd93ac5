"""The GAP benchmark suite: the `cpsat` policy on OR-Library / Yagiura instances.

Protocol: every problem of every file is solved by `cpsat` under one time
limit and worker count; its value is compared with the best-known value from
``best_known.csv`` (gap % = |value - best| / best). With ``naive=True`` the
same run also solves each problem with the naive CP-SAT model (all pairs, no
hint, no engine, same limit and workers), so the two columns share machine
and load.

``leadsolver bench gap`` (solver/cli/bench.py) runs it; with ``--out`` it
rewrites that file after every problem (`run_gap`'s `on_row`), so an
interrupted run leaves a usable partial table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from solver.bench import machine
from solver.bench.gapfile import GapInstance, read_best_known, read_gap
from solver.domain.errors import InputError
from solver.domain.io import write_atomic
from solver.policies import gap_engine, solve

ENV_DATA = "LEADSOLVER_GAP_DATA"
ORLIB_DEFAULT = tuple(f"orlib/gap{k}.txt" for k in range(1, 13))


def data_dir() -> Path | None:
    """The GAP data folder: $LEADSOLVER_GAP_DATA, else shared/data/gap next to the repo."""
    if os.environ.get(ENV_DATA):
        return Path(os.environ[ENV_DATA])
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo.parent / "shared" / "data" / "gap", Path("../shared/data/gap")):
        if candidate.is_dir():
            return candidate
    return None


def default_instances() -> list[Path]:
    """All single-problem files plus OR-Library gap1-gap12."""
    root = data_dir()
    if root is None:
        raise InputError(f"no GAP data found; set {ENV_DATA} or pass --instances")
    singles = sorted((root / "single").glob("*"), key=lambda p: (p.name[0], len(p.name), p.name))
    return [*singles, *(root / rel for rel in ORLIB_DEFAULT if (root / rel).exists())]


def best_known_path(best_known: str | os.PathLike[str] | None) -> Path:
    """The best-known table a run reads: `best_known`, else best_known.csv in the data folder."""
    return Path(best_known) if best_known else (data_dir() or Path(".")) / "best_known.csv"


def naive_solve(instance: GapInstance, time_limit_s: float, workers: int) -> tuple[int | None, str]:
    """The baseline: one CP-SAT model on all pairs, no hint, no pruning."""
    sign = 1 if instance.sense == "min" else -1
    cost = sign * instance.cost.astype(np.float64)
    owner, _, proven = gap_engine.solve_subset(
        cost, instance.weight, instance.capacity, np.ones(cost.shape, dtype=bool), None,
        time_limit_s=time_limit_s, workers=workers)
    if owner is None:
        return None, "infeasible" if proven else "no_solution"
    return instance.value(owner), "optimal" if proven else "feasible"


def gap_pct(value: float | None, best: float | None) -> float | None:
    if value is None or best is None:
        return None
    return 100.0 * abs(value - best) / max(abs(best), 1e-9)


def run_instance(
    instance: GapInstance, best: int | None, *, time_limit_s: float, workers: int, naive: bool,
) -> dict[str, Any]:
    """One row: cpsat's value, bound, status and time, and the naive model's value.

    ``load_1min`` is the machine's 1-minute load average when the row started:
    on a shared machine it explains slow or noisy rows.
    """
    load = round(os.getloadavg()[0], 2)
    solution = solve(instance.problem, "cpsat")
    value = instance.value(solution.owner)
    bound = None if solution.bound is None else instance.value_of_profit(solution.bound)
    row: dict[str, Any] = {
        "instance": instance.name,
        "file": Path(instance.file).name,
        "problem": instance.index,
        "type": instance.kind,
        "sense": instance.sense,
        "m": instance.problem.m,
        "n": instance.problem.n,
        "value": value,
        "best_known": best,
        "gap_pct": gap_pct(value, best),
        "bound": None if bound is None else round(bound, 3),
        "status": str(solution.status),
        "termination": solution.stats.get("termination"),
        "time_s": round(solution.solve_time_s, 3),
        "load_1min": load,
    }
    if naive:
        naive_value, naive_status = naive_solve(instance, time_limit_s, workers)
        row |= {"naive_value": naive_value, "naive_gap_pct": gap_pct(naive_value, best),
                "naive_status": naive_status}
    return row


def run_gap(
    paths: Iterable[str | os.PathLike[str]], time_limit_s: float = 10.0, workers: int = 2,
    naive: bool = True, best_known: str | os.PathLike[str] | None = None,
    progress: bool = False, on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Solve every problem in `paths`; rows per instance and a summary (mean/max gap per type).

    `best_known` defaults to ``best_known.csv`` in the data folder (none there:
    no gaps); a `best_known` given that is missing or holds no usable row is an
    InputError. Instances without an entry get no gap. `on_row` gets the result so far (marked
    ``"complete": False`` in its meta) after every row, so a long run can
    write partial results that survive an interruption.
    """
    meta = machine_info(time_limit_s, workers) | {"complete": False}
    table_path = best_known_path(best_known)
    table = read_best_known(table_path) if best_known or table_path.exists() else {}
    rows = []
    for path in paths:
        for instance in read_gap(path, time_limit_s=time_limit_s, workers=workers):
            best = table.get((Path(path).name, instance.index, instance.sense))
            row = run_instance(instance, best, time_limit_s=time_limit_s, workers=workers,
                               naive=naive)
            rows.append(row)
            if on_row is not None:
                on_row({"meta": meta, "rows": rows, "summary": summarize(rows)})
            if progress:
                print(f"{row['instance']}: {row['value']} (best {best}, gap {_pct(row['gap_pct'])}"
                      f"{', naive ' + _pct(row['naive_gap_pct']) if naive else ''})",
                      file=sys.stderr, flush=True)
    meta |= {"complete": True, "load_avg_end": [round(v, 2) for v in os.getloadavg()]}
    return {"meta": meta, "rows": rows, "summary": summarize(rows)}


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    known = [v for v in values if v is not None]
    return {"count": len(values), "solved": len(known),
            "mean_gap_pct": round(statistics.fmean(known), 4) if known else None,
            "max_gap_pct": round(max(known), 4) if known else None}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and max gap per instance type, over C+D+E, and overall (cpsat and naive)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["type"], []).append(row)
    cde = [r for r in rows if r["type"] in ("c", "d", "e")]
    if cde:
        groups["cde"] = cde
    groups["all"] = list(rows)
    out = {}
    for name, members in groups.items():
        if not members:
            continue
        entry = _stats([r["gap_pct"] for r in members])
        if "naive_gap_pct" in members[0]:
            entry["naive"] = _stats([r["naive_gap_pct"] for r in members])
        out[name] = entry
    return out


def machine_info(time_limit_s: float, workers: int) -> dict[str, Any]:
    """What a recorded result must carry: machine, date, versions, settings."""
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": machine.cpu_model(),
            "cores": machine.cpu_count(), "python": platform.python_version(),
            "ortools": machine.package_version("ortools"), "time_limit_s": time_limit_s, "workers": workers,
            "load_avg_start": [round(v, 2) for v in os.getloadavg()]}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}%"


def _num(value: Any) -> str:
    return "-" if value is None else str(value)


def render_table(result: dict[str, Any]) -> str:
    """Markdown table of rows, then the summary."""
    rows = result["rows"]
    naive = bool(rows) and "naive_value" in rows[0]
    head = ["instance", "type", "m", "n", "value", "best known", "gap", "bound", "status", "time s",
            "load"]
    if naive:
        head += ["naive value", "naive gap"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["instance"], r["type"], r["m"], r["n"], _num(r["value"]), _num(r["best_known"]),
                 _pct(r["gap_pct"]), _num(r["bound"]), r["status"], f"{r['time_s']:.2f}",
                 _num(r.get("load_1min"))]
        if naive:
            cells += [_num(r["naive_value"]), _pct(r["naive_gap_pct"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "| group | instances | mean gap | max gap |"
              + (" naive mean | naive max |" if naive else ""),
              "|---|---|---|---|" + ("---|---|" if naive else "")]
    for name, s in result["summary"].items():
        line = (f"| {name.upper()} | {s['count']} | {_pct(s['mean_gap_pct'])} | "
                f"{_pct(s['max_gap_pct'])} |")
        if naive and "naive" in s:
            line += f" {_pct(s['naive']['mean_gap_pct'])} | {_pct(s['naive']['max_gap_pct'])} |"
        lines.append(line)
    return "\n".join(lines)


def render_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)


def render_markdown(result: dict[str, Any]) -> str:
    """results.md: a title, the run's meta as a list (machine, date, load), then the table."""
    meta = result["meta"]
    title = "# GAP benchmark: cpsat vs the naive CP-SAT model"
    if not meta.get("complete", True):
        title += f" (PARTIAL: {len(result['rows'])} problems so far)"
    head = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    return f"{title}\n\n{head}\n\n{render_table(result)}\n"


def write_results(result: dict[str, Any], directory: str | os.PathLike[str]) -> None:
    """Write results.json and results.md into `directory` (each replaced whole)."""
    directory = Path(directory)
    for name, text in (("results.json", render_json(result) + "\n"),
                       ("results.md", render_markdown(result))):
        write_atomic(directory / name, text)
