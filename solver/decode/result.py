"""Decoding an owner vector into explained assignments and a summary.

Every lead comes out exactly once: assigned to a rep, or unassigned with the
reason (the hard rule that left it without a rep, full reps, ...). The JSON
shape (`Result.to_dict`) is the stable contract of `leadsolver assign --format json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from solver.compile import fairness
from solver.compile.problem import Problem
from solver.decode.explain import explain_lead
from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS, lead_reasons
from solver.policies.registry import Solution


@dataclass(frozen=True)
class Assignment:
    lead_id: str
    rep_id: str | None
    status: str  # assigned | unassigned
    reason: str
    expected_value: float
    policy: str


@dataclass
class Result:
    """Assignments plus a summary: the same content as the command's JSON."""

    assignments: list[Assignment]
    summary: dict[str, Any]
    problem: Problem = field(repr=False)
    solution: Solution = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"assignments": [asdict(a) for a in self.assignments], "summary": self.summary}

    def explain(self, lead_id: str, alternatives: int = 3) -> dict[str, Any]:
        """Why the lead went to its rep, and why the best alternatives did not get it."""
        try:
            i = self.problem.lead_ids.index(lead_id)
        except ValueError:
            raise KeyError(f"unknown lead id {lead_id!r}") from None
        return explain_lead(self.problem, self.solution.owner, i, alternatives)


def decode(
    problem: Problem, solution: Solution, policy: str, compile_time_s: float = 0.0, *,
    with_summary: bool = True,
) -> Result:
    """Turn a policy's owner vector into assignments with reasons and a summary.

    The online router passes `with_summary=False`: it needs only the
    assignments, and the summary (loads, fairness, reason counts) would be
    recomputed on every micro-batch for nothing.
    """
    owner = solution.owner
    violations = problem.violations(owner)
    if violations:  # a policy bug: refuse to report an infeasible answer as a result
        raise RuntimeError(f"policy {policy!r} broke a hard rule: {violations[0]}")
    placed = owner >= 0
    rows = np.arange(problem.n)
    chosen_value = np.where(placed, problem.value[rows, np.maximum(owner, 0)], 0.0)
    reasons = lead_reasons(problem, owner)
    assignments = [
        Assignment(
            lead_id=problem.lead_ids[i],
            rep_id=problem.rep_ids[owner[i]] if placed[i] else None,
            status=ASSIGNED if placed[i] else UNASSIGNED_STATUS,
            reason=reasons[i],
            expected_value=round(float(chosen_value[i]), 6),
            policy=policy,
        )
        for i in range(problem.n)
    ]
    summary = summarize(problem, solution, policy, compile_time_s, reasons) if with_summary else {}
    return Result(assignments, summary, problem, solution)


def summarize(
    problem: Problem, solution: Solution, policy: str, compile_time_s: float,
    reasons: dict[int, str] | None = None,
) -> dict[str, Any]:
    owner = solution.owner
    placed = owner >= 0
    loads = problem.loads(owner)
    batch_counts = np.bincount(owner[placed], minlength=problem.m)
    used = problem.used_capacity(owner)
    capacity_total = problem.capacity  # remaining capacity before this batch
    unassigned_reasons: dict[str, int] = {}
    if reasons is None:
        reasons = lead_reasons(problem, owner, only_unassigned=True)
    for i in np.flatnonzero(~placed):
        reason = reasons[int(i)]
        key = reason.split(":")[0]
        unassigned_reasons[key] = unassigned_reasons.get(key, 0) + 1
    return {
        "policy": policy,
        "status": str(solution.status),
        "counts": {
            "leads": problem.n,
            "assigned": int(placed.sum()),
            "unassigned": int((~placed).sum()),
            "unassigned_by_reason": unassigned_reasons,
        },
        "objective": _num(solution.objective),
        "bound": _num(solution.bound),
        "gap": _num(solution.gap),
        "expected_value": round(problem.total_value(owner), 6),
        "fairness_penalty": round(problem.fairness_penalty(owner), 6),
        "fairness": {k: round(v, 6) for k, v in fairness.metrics(loads, problem.share).items()},
        "rep_loads": [
            {
                "rep_id": problem.rep_ids[j],
                "assigned": int(batch_counts[j]),
                "effort": int(used[j]),
                "free_capacity_before": int(capacity_total[j]),
                "load": round(float(loads[j]), 6),
                "target": round(float(problem.targets[j]), 6),
            }
            for j in range(problem.m)
        ],
        "solve_time_s": round(solution.solve_time_s, 6),
        "compile_time_s": round(compile_time_s, 6),
        "stats": solution.stats,
    }


def _num(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)
