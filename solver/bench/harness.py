"""The benchmark harness: every instance through every policy, measured the same way.

A *cell* is one instance and one seed. The cell builds the instance, compiles
it once, runs the references (`solver.bench.oracle`) and then every policy on
the same compiled problem in the same process, so the time ratios it reports
(policy / Hungarian, cpsat / naive CP-SAT) hold on a noisy, shared machine
even when absolute times do not. Each assignment is checked by the independent
rule checker (`solver.bench.checks`), never by the policy code's own checks.

Cells run on the simulator's executor (`solver.sim.sweep.run_cells`: a local
process pool or Dask), one row per (instance, seed, policy) coming back; the
rows are then aggregated per (instance, policy) over seeds: the median, and
the min..max range, which for k seeds covers the true median with probability
1 - 2^(1-k) (94% for 5 seeds) whatever the distribution.
"""

from __future__ import annotations

import platform
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from solver.bench import machine, oracle
from solver.bench.checks import check_assignment
from solver.bench.synthetic import Instance
from solver.compile import fairness
from solver.compile.problem import Problem, compile_problem
from solver.policies import Solution, Status, policy_names, policy_spec, solve
from solver.sim.sweep import run_cells

# References are skipped above these sizes: the LP grows with the eligible pairs,
# the Hungarian slot matrix with leads x slots, the naive CP-SAT model with pairs.
MAX_LP_PAIRS = 400_000
MAX_CPSAT_PAIRS = 20_000


def _exact_tolerance(label: str) -> float | None:
    """The relative tolerance of the row's optimality claim for the profit objective (None: none).

    A fairness-weighted variant (`NAME@W`) optimises another objective: it claims none.
    """
    return policy_spec(label).exact_tolerance if label in policy_names() else None


class InstanceSource(Protocol):
    """Anything that names an instance and builds it for a seed (see `synthetic.InstanceSpec`)."""

    @property
    def name(self) -> str: ...

    def build(self, seed: int) -> Instance: ...


@dataclass(frozen=True)
class Cell:
    """One instance and one seed, run through every policy."""

    suite: str
    source: InstanceSource
    seed: int
    policies: tuple[str, ...]
    time_limit_s: float = 10.0
    repeats: int = 3  # solves per policy, for the time percentiles
    references: bool = True


def parse_variant(label: str) -> tuple[str, float | None]:
    """`flow@0.5` -> ("flow", 0.5): a policy run with that fairness weight; `flow` -> ("flow", None)."""
    name, sep, weight = label.partition("@")
    return name, (float(weight) if sep else None)


def run_cell(cell: Cell) -> dict[str, list[dict[str, Any]]]:
    """Run one cell: {"rows": one per policy, "references": one per reference solver}.

    A policy label `NAME@W` runs NAME with fairness weight W (the instance's own
    weight otherwise), so a table can show what balance costs in value. Its
    ratios are still to the instance's reference, and it is never held to the
    LP optimum (its objective includes the fairness penalty).
    """
    instance = cell.source.build(cell.seed)
    policy = instance.policy.model_copy(
        update={"seed": cell.seed, "time_limit_s": cell.time_limit_s, "workers": 1}
    )
    problem = compile_problem(instance.reps, instance.leads, policy)
    refs = _references(problem, cell) if cell.references else []
    base = {"suite": cell.suite, "instance": cell.source.name, "seed": cell.seed,
            "n_leads": problem.n, "n_reps": problem.m}
    rows = []
    for label in cell.policies:
        name, weight = parse_variant(label)
        if name == "flow" and not problem.unit_effort:
            continue  # flow is defined for unit effort only; cpsat covers the rest
        variant_policy, variant_problem = policy, problem
        if weight is not None:
            variant_policy = policy.model_copy(
                update={"fairness": policy.fairness.model_copy(update={"weight": weight})})
            variant_problem = compile_problem(instance.reps, instance.leads, variant_policy)
        solutions, times = _solve_repeated(variant_problem, name, cell.repeats)
        row = _metrics(instance, variant_policy, variant_problem, name, solutions[0], times)
        row["policy"] = label
        row["fairness_weight"] = variant_policy.fairness.weight
        rows.append(base | row)
    _add_ratios(rows, refs, problem)
    return {"rows": rows, "references": [base | ref for ref in refs]}


def _solve_repeated(problem: Problem, name: str, repeats: int) -> tuple[list[Solution], list[float]]:
    solutions = [solve(problem, name) for _ in range(max(1, repeats))]
    return solutions, [s.solve_time_s for s in solutions]


def _references(problem: Problem, cell: Cell) -> list[dict[str, Any]]:
    """LP optimum, Hungarian (unit effort) and naive CP-SAT (when cpsat runs), as far as sizes allow."""
    if problem.options.fairness_weight != 0:
        return []
    pairs = int(problem.eligible.sum())
    refs = []
    if pairs <= MAX_LP_PAIRS:
        refs.append(oracle.lp_optimum(problem))
        if problem.unit_effort and (h := oracle.hungarian(problem)) is not None:
            refs.append(h)
    if "cpsat" in cell.policies and pairs <= MAX_CPSAT_PAIRS:
        refs.append(oracle.naive_cpsat(problem, time_limit_s=cell.time_limit_s))
    return [
        {"method": r.method, "placed": r.placed, "profit": r.profit, "time_s": r.time_s, "exact": r.exact}
        for r in refs
    ]


def _metrics(
    instance: Instance, policy: Any, problem: Problem, name: str, solution: Solution, times: list[float]
) -> dict[str, Any]:
    owner = solution.owner
    owners = [problem.rep_ids[j] if j >= 0 else None for j in owner.tolist()]
    violations = check_assignment(instance.reps, instance.leads, policy, owners)
    median_time = float(np.median(times))
    return {
        "policy": name,
        "status": str(solution.status),
        "placed": int((owner >= 0).sum()),
        "expected_value": problem.total_value(owner),
        "profit": problem.total_profit(owner),
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        **fairness.metrics(problem.loads(owner), problem.share),
        "violations": len(violations),
        "violation_example": violations[0] if violations else "",
        "time_s": median_time,
        "time_samples": times,
        "throughput_leads_per_s": problem.n / median_time if median_time > 0 else None,
    }


def _add_ratios(rows: list[dict[str, Any]], refs: list[dict[str, Any]], problem: Problem) -> None:
    """Quality relative to the best reference known for the cell, and time relative to references.

    The reference is the LP optimum when it was solved, else an exact policy's
    proven optimum, else the best bound a policy reported, else the best value found.
    """
    lp = next((r for r in refs if r["method"] == "lp"), None)
    if lp is not None:
        ref_method, ref_placed, ref_profit = ("lp" if lp["exact"] else "lp_bound"), lp["placed"], lp["profit"]
    else:
        ref_method, ref_placed, ref_profit = _best_known(rows, problem)
    times = {r["method"]: r["time_s"] for r in refs}
    for row in rows:
        row["ref_method"] = ref_method
        row["ref_placed"] = ref_placed
        row["ref_profit"] = ref_profit
        row["placed_ratio"] = row["placed"] / ref_placed if ref_placed else 1.0
        row["value_ratio"] = row["profit"] / ref_profit if ref_profit else 1.0
        row["time_vs_hungarian"] = row["time_s"] / times["hungarian"] if "hungarian" in times else None
        row["time_vs_naive_cpsat"] = (
            row["time_s"] / times["naive_cpsat"] if "naive_cpsat" in times else None
        )


def _best_known(rows: list[dict[str, Any]], problem: Problem) -> tuple[str, float, float]:
    if problem.options.fairness_weight == 0:
        exact = [r for r in rows
                 if _exact_tolerance(r["policy"]) is not None and r["status"] == Status.OPTIMAL]
        if exact:
            return f"{exact[0]['policy']}_optimum", exact[0]["placed"], exact[0]["profit"]
        bounds = [r["bound"] for r in rows if r["bound"] is not None]
        if bounds:
            return "best_bound", max(r["placed"] for r in rows), max(bounds)
    best = max(rows, key=lambda r: (r["placed"], r["profit"]), default=None)
    if best is None:
        return "none", 0, 0.0
    return "best_found", best["placed"], best["profit"]


# -- running a grid --------------------------------------------------------------------------------


def run_grid(
    cells: Sequence[Cell],
    *,
    scheduler: str | None = None,
    workers: int | None = 1,
    progress: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Run every cell on the simulator's executor; all rows and references, in cell order."""
    results = run_cells(run_cell, list(cells), scheduler=scheduler, workers=workers, progress=progress)
    return {
        "rows": [row for res in results for row in res["rows"]],
        "references": [ref for res in results for ref in res["references"]],
    }


# -- aggregation -----------------------------------------------------------------------------------

AGGREGATED = ("placed", "placed_ratio", "expected_value", "value_ratio", "jain", "gini",
              "max_deviation", "throughput_leads_per_s", "time_vs_hungarian", "time_vs_naive_cpsat")


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (suite, instance, policy): medians and min..max over seeds, time percentiles."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["suite"], row["instance"], row["policy"])].append(row)
    out = []
    for (suite, instance, policy), group in groups.items():
        times = np.concatenate([r["time_samples"] for r in group])
        agg: dict[str, Any] = {
            "suite": suite, "instance": instance, "policy": policy,
            "n_leads": group[0]["n_leads"], "n_reps": group[0]["n_reps"],
            "seeds": len(group), "ref_method": group[0]["ref_method"],
            "violations": int(sum(r["violations"] for r in group)),
            "time_p50_s": float(np.percentile(times, 50)),
            "time_p99_s": float(np.percentile(times, 99)),
        }
        for key in AGGREGATED:
            agg.update(_median_range(key, [r.get(key) for r in group]))
        out.append(agg)
    return out


def by_policy(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per policy over every instance and seed: the headline table."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["policy"]].append(row)
    out = []
    for policy, group in sorted(groups.items()):
        times = np.concatenate([r["time_samples"] for r in group])
        agg = {"policy": policy, "runs": len(group),
               "violations": int(sum(r["violations"] for r in group)),
               "time_p50_s": float(np.percentile(times, 50)), "time_p99_s": float(np.percentile(times, 99))}
        for key in ("placed_ratio", "value_ratio", "jain", "gini", "max_deviation"):
            agg.update(_median_range(key, [r.get(key) for r in group]))
        out.append(agg)
    return out


def _median_range(key: str, values: list[Any]) -> dict[str, float | None]:
    present = np.array([v for v in values if v is not None], dtype=float)
    if present.size == 0:
        return {key: None, f"{key}_lo": None, f"{key}_hi": None}
    return {key: float(np.median(present)), f"{key}_lo": float(present.min()),
            f"{key}_hi": float(present.max())}


# Fairness-weighted variants run by default next to the registered policies:
# the value-versus-balance comparison against the baselines needs them.
FAIR_VARIANTS = ("flow@1",)


def default_policies() -> tuple[str, ...]:
    """Every registered policy, exact engines first, then the fairness-weighted variants."""
    names = policy_names()
    return (*sorted(names, key=lambda p: (not policy_spec(p).exact, p)), *FAIR_VARIANTS)


def build_report(record: dict[str, Any], result: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Everything a report shows: provenance, raw rows, references and both aggregations."""
    return {"record": record, "rows": result["rows"], "references": result["references"],
            "by_policy": by_policy(result["rows"]), "by_instance": aggregate(result["rows"])}


def failures(rows: Sequence[dict[str, Any]]) -> list[str]:
    """What must never happen: a broken hard rule, or an exact policy off the LP optimum.

    An exact policy that reports `optimal` on an instance whose LP optimum is
    exact (unit effort, fairness weight 0) must match it in leads placed and,
    within the tolerance its registry entry declares (`PolicySpec.exact_tolerance`),
    in profit; the transportation LP is integral, so any larger gap is a bug.
    """
    out = [f"{r['policy']} broke {r['violations']} hard rule(s) on {r['instance']} seed {r['seed']}: "
           f"{r['violation_example']}" for r in rows if r["violations"]]
    for r in rows:
        rtol = _exact_tolerance(r["policy"])
        exact_claim = rtol is not None and r.get("fairness_weight", 0) == 0
        if exact_claim and rtol is not None and r["ref_method"] == "lp" and r["status"] == Status.OPTIMAL:
            off_value = abs(r["profit"] - r["ref_profit"]) > rtol * max(abs(r["ref_profit"]), 1.0)
            if r["placed"] != r["ref_placed"] or off_value:
                out.append(f"{r['policy']} is not LP-optimal on {r['instance']} seed {r['seed']}: "
                           f"placed {r['placed']} vs {r['ref_placed']}, profit {r['profit']!r} vs "
                           f"{r['ref_profit']!r}")
    return out


# -- the record of a run ---------------------------------------------------------------------------


def run_record(suite: str, command: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Version, machine, date and command of a run: what a reader needs to trust and repeat it."""
    import solver

    return {
        "suite": suite,
        "command": command,
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": solver.__version__,
        "git_commit": machine.git_commit(),
        "machine": {
            "cpu": machine.cpu_model(),
            "cores": machine.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "ortools": machine.package_version("ortools"),
            "note": "shared machine: other jobs ran concurrently; compare times only as in-run ratios",
        },
        "settings": settings,
    }
