"""Paired studies: arms (a policy plus overrides of the scenario) run on the same seeds.

Each arm runs every seed; every seed gives every arm the same arrivals,
response noise and outcome draws, so an arm's difference from a reference arm
is paired by seed (mean and % with 95% intervals, `solver.sim.metrics`).

- `compare_policies`: the scenario's policies (baselines on arrival, optimizers
  with the batch window), each against round robin and least loaded;
- `decomposition`: the optimizer with one part switched off at a time (the
  router's speed model, its skills, fairness, the batch window), each against
  the full optimizer: what each part is worth;
- `batch_window_curve` and `recommend_window`: expected revenue against the
  batch window, paired against assigning on arrival (window 0);
- `misestimation`: the optimizer when its response and handling minutes are
  the truth times 0.5, 1, 2, against the baselines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver.report.results import StudyArm, StudyComparison, StudyResult
from solver.sim.metrics import compare, interval, paired_interval
from solver.sim.scenario import BASELINE_POLICIES, Scenario, variant_of, with_overrides
from solver.sim.simulate import Cell, run_cell
from solver.sim.sweep import run_cells

WINDOWS_S = (0, 30, 60, 120, 300, 600, 1800)
ESTIMATE_FACTORS = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Arm:
    """One arm: a label, the policy it runs, and dotted-key overrides of the scenario."""

    label: str
    policy: str
    overrides: dict[str, Any] = field(default_factory=dict)
    variant: str = "base"


def run_arms(scenario: Scenario, arms: Sequence[Arm], seeds: int, references: Sequence[str], *,
             study: str = "", scheduler: Any = None, workers: int | None = None,
             progress: bool = True) -> StudyResult:
    """Run every arm on seeds 0..seeds-1 and compare each other arm with each reference arm (by label)."""
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels):
        raise ValueError("arm labels must be unique")
    unknown = [r for r in references if r not in labels]
    if unknown:
        raise ValueError(f"reference {unknown[0]!r} is not an arm")
    cells = [Cell(scenario, arm.variant, arm.policy, seed, overrides=tuple(sorted(arm.overrides.items())),
                  label=arm.label) for arm in arms for seed in range(seeds)]
    outputs = run_cells(run_cell, cells, scheduler=scheduler, workers=workers, progress=progress)
    by_arm: dict[str, dict[int, dict[str, float]]] = {label: {} for label in labels}
    for cell, out in zip(cells, outputs, strict=True):
        by_arm[cell.label][cell.seed] = out.metrics
    names = list(outputs[0].metrics) if outputs else []
    out_arms: list[StudyArm] = []
    for arm in arms:
        runs = by_arm[arm.label]
        per_seed = {k: [runs[s][k] for s in sorted(runs)] for k in names}
        out_arms.append({"label": arm.label, "policy": arm.policy, "variant": arm.variant,
                         "overrides": dict(arm.overrides),
                         "metrics": {k: interval(v) for k, v in per_seed.items()},
                         "per_seed": per_seed})
    comparisons: list[StudyComparison] = []
    for arm in arms:
        if arm.label in references:
            continue  # references are what the others are measured against, not contenders
        for ref in references:
                pair = compare(by_arm[arm.label], by_arm[ref], names)
                comparisons.append({"arm": arm.label, "reference": ref, **pair})
    return {"study": study, "scenario": scenario.name, "seeds": seeds, "arms": out_arms,
            "comparisons": comparisons}


def policy_arms(scenario: Scenario, variant: str = "base") -> list[Arm]:
    return [Arm(p, p, variant=variant) for p in scenario.policies]


def compare_policies(scenario: Scenario, seeds: int, variant: str = "base", **kw: Any) -> StudyResult:
    """The scenario's policies, each against round robin and least loaded (those the scenario runs)."""
    refs = [p for p in scenario.references if p in scenario.policies]
    return run_arms(scenario, policy_arms(scenario, variant), seeds, refs, study="policies", **kw)


# The parts of the optimizer, each switched off on its own (dotted-key overrides of the scenario).
PARTS: dict[str, dict[str, Any]] = {
    "speed off": {"policy.speed.enabled": False},
    "skills off": {"team.router_skills": False},
    "fairness off": {"policy.fairness.weight": 0.0},
    "batch window 0": {"policy.batch.max_wait_s": 0.0},
}


def decomposition_arms(policy: str = "flow", parts: Sequence[str] = tuple(PARTS),
                       variant: str = "base") -> list[Arm]:
    return [Arm("full", policy, variant=variant),
            *(Arm(p, policy, PARTS[p], variant) for p in parts)]


def decomposition(scenario: Scenario, seeds: int, policy: str = "flow",
                  parts: Sequence[str] = tuple(PARTS), variant: str = "base", **kw: Any) -> StudyResult:
    """The optimizer with each part off in turn, paired against the full optimizer.

    full - (part off) is what the part is worth; a negative figure is a part that costs.
    A part whose switch changes nothing (the batch window of a scenario that has none) is left out.
    """
    base = variant_of(scenario, variant)
    parts = [p for p in parts if with_overrides(base, PARTS[p]) != base]
    return run_arms(scenario, decomposition_arms(policy, parts, variant), seeds, ["full"],
                    study="decomposition", **kw)


def window_label(seconds: float) -> str:
    return f"window {seconds:g}s"


def batch_window_curve(scenario: Scenario, seeds: int, policy: str = "flow",
                       windows: Sequence[float] = WINDOWS_S, variant: str = "base",
                       **kw: Any) -> StudyResult:
    """The optimizer at each batch window (seconds), paired against the first window (0: on arrival)."""
    arms = [Arm(window_label(w), policy, {"policy.batch.max_wait_s": float(w)}, variant)
            for w in windows]
    return run_arms(scenario, arms, seeds, [arms[0].label], study="batch window", **kw)


def recommend_window(curve: StudyResult, metric: str = "expected_revenue") -> dict[str, Any]:
    """The window to ship: the shortest one not significantly below the best (paired 95% CI).

    The best is the window with the highest mean `metric`; a window ties with it
    when the interval of its per-seed difference from the best reaches 0.
    """
    arms = curve["arms"]
    windows = [float(a["overrides"]["policy.batch.max_wait_s"]) for a in arms]  # type: ignore[arg-type]
    best = int(np.argmax([a["metrics"][metric]["mean"] for a in arms]))
    ties = []
    for k, arm in enumerate(arms):
        diff = paired_interval(arm["per_seed"][metric], arms[best]["per_seed"][metric])
        if k == best or diff["high"] >= 0:
            ties.append(k)
    pick = min(ties, key=lambda k: windows[k])
    return {"metric": metric, "best_window_s": windows[best], "recommended_window_s": windows[pick],
            "tied_windows_s": [windows[k] for k in ties]}


def misestimation(scenario: Scenario, seeds: int, policy: str = "flow",
                  factors: Sequence[float] = ESTIMATE_FACTORS, variant: str = "base",
                  **kw: Any) -> StudyResult:
    """The optimizer believing reps `factor` x as slow as they are, against the baselines it runs."""
    baselines = [p for p in scenario.policies if p in BASELINE_POLICIES]
    arms = [Arm(p, p, variant=variant) for p in baselines]
    arms += [Arm(f"{policy} x{f:g}", policy, {"response.estimate_factor": float(f)}, variant)
             for f in factors]
    return run_arms(scenario, arms, seeds, baselines, study="misestimation", **kw)


def fairness_tradeoff(scenario: Scenario, seeds: int, weights: Sequence[float], policy: str = "flow",
                      variant: str = "base", measures: Sequence[str | None] = (None,),
                      **kw: Any) -> StudyResult:
    """The optimizer at other fairness weights, against the baselines the scenario runs.

    Shows what the fairness term costs in revenue and buys in pipeline balance. Each weight
    runs under each of `measures` (None: the scenario's own; "pipeline": the value each rep
    was given over the period, what the pipeline Jain index reports), so two measures can be
    compared on the same revenue-against-balance frontier.
    """
    baselines = [p for p in scenario.policies if p in BASELINE_POLICIES]
    arms = [Arm(p, p, variant=variant) for p in baselines]
    for measure in measures:
        chosen = {} if measure is None else {"policy.fairness.measure": measure}
        arms += [Arm(f"{policy} {measure or 'fairness'} {w:g}", policy,
                     {"policy.fairness.weight": float(w), **chosen}, variant) for w in weights]
    return run_arms(scenario, arms, seeds, baselines, study="fairness", **kw)
