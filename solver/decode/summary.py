"""The summary of a batch: counts, objective and bound, fairness and per-rep loads.

`Summary.to_dict` is the ``summary`` object of ``leadsolver assign --format
json``, a stable contract: fields may be added, never renamed or removed
(tests/cli pins its keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

import numpy as np

from solver.compile import fairness
from solver.compile.problem import Problem
from solver.decode.reasons import lead_reasons
from solver.policies.registry import Solution, Status


@dataclass(frozen=True)
class Counts:
    """How many leads the batch had, placed and left, and why they were left."""

    leads: int
    assigned: int
    unassigned: int
    unassigned_by_reason: dict[str, int]  # the reason's head (text before ':') -> leads


@dataclass(frozen=True)
class FairnessMetrics:
    """Load against quota share over all reps (`solver.compile.fairness`), rounded to 1e-6."""

    jain: float  # Jain's index: 1 = perfectly proportional
    gini: float
    max_deviation: float


@dataclass(frozen=True)
class RepLoad:
    """One rep's part of the batch."""

    rep_id: str
    assigned: int  # leads of this batch
    effort: int  # capacity units they use
    free_capacity_before: int
    load: float  # fairness load after the batch, history included
    target: float  # its quota share of the total load


@dataclass(frozen=True)
class Summary:
    """What a batch came to; `to_dict` is its JSON form."""

    policy: str
    status: Status  # what the owner vector is known to be worth (optimal, feasible, heuristic)
    counts: Counts
    objective: float | None
    bound: float | None
    gap: float | None
    expected_value: float
    fairness_penalty: float
    fairness: FairnessMetrics
    rep_loads: tuple[RepLoad, ...]
    solve_time_s: float
    compile_time_s: float
    stats: Mapping[str, float | int | str]  # the engine's own statistics, free-form

    def to_dict(self) -> dict[str, Any]:
        """The ``summary`` of the assign command's JSON (keys in this order)."""
        return {
            "policy": self.policy,
            "status": str(self.status),
            "counts": asdict(self.counts),
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "expected_value": self.expected_value,
            "fairness_penalty": self.fairness_penalty,
            "fairness": asdict(self.fairness),
            "rep_loads": [asdict(r) for r in self.rep_loads],
            "solve_time_s": self.solve_time_s,
            "compile_time_s": self.compile_time_s,
            # Enum values (a termination status) as their plain text.
            "stats": {k: v.value if isinstance(v, Enum) else v for k, v in self.stats.items()},
        }

    def __getitem__(self, key: str) -> Any:
        """``summary["counts"]``: read like the JSON dict it was before it had a type."""
        return self.to_dict()[key]


def summarize(
    problem: Problem, solution: Solution, policy: str, compile_time_s: float,
    reasons: Mapping[int, str] | None = None,
) -> Summary:
    """The summary of `solution` on `problem`; `reasons` (per lead) when already computed."""
    owner = solution.owner
    placed = owner >= 0
    loads = problem.loads(owner)
    batch_counts = np.bincount(owner[placed], minlength=problem.m)
    used = problem.used_capacity(owner)
    capacity_before = problem.capacity  # remaining capacity before this batch
    if reasons is None:
        reasons = lead_reasons(problem, owner, only_unassigned=True)
    unassigned_reasons: dict[str, int] = {}
    for i in np.flatnonzero(~placed):
        key = reasons[int(i)].split(":")[0]
        unassigned_reasons[key] = unassigned_reasons.get(key, 0) + 1
    metrics = {k: round(v, 6) for k, v in fairness.metrics(loads, problem.share).items()}
    return Summary(
        policy=policy,
        status=solution.status,
        counts=Counts(problem.n, int(placed.sum()), int((~placed).sum()), unassigned_reasons),
        objective=_num(solution.objective),
        bound=_num(solution.bound),
        gap=_num(solution.gap),
        expected_value=round(problem.total_value(owner), 6),
        fairness_penalty=round(problem.fairness_penalty(owner), 6),
        fairness=FairnessMetrics(**metrics),
        rep_loads=tuple(
            RepLoad(
                rep_id=problem.rep_ids[j],
                assigned=int(batch_counts[j]),
                effort=int(used[j]),
                free_capacity_before=int(capacity_before[j]),
                load=round(float(loads[j]), 6),
                target=round(float(problem.targets[j]), 6),
            )
            for j in range(problem.m)
        ),
        solve_time_s=round(solution.solve_time_s, 6),
        compile_time_s=round(compile_time_s, 6),
        stats=solution.stats,
    )


def _num(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)
