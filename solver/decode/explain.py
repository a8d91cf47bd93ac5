"""Explanations: why a lead went to its rep, and why the best alternatives did not get it."""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.compile.problem import Problem
from solver.decode.reasons import DEFERRED, basis, blocking_rule, placed_reason, priced_out, unassigned_reason


def explain_lead(problem: Problem, owner: np.ndarray, i: int, alternatives: int = 3) -> dict[str, Any]:
    """The chosen rep and the top alternatives by expected value, each with why it lost."""
    chosen = int(owner[i])
    free = problem.capacity - problem.used_capacity(owner)
    loads = problem.loads(owner)
    order = np.argsort(-problem.value[i], kind="stable")
    others = [int(j) for j in order[: alternatives + 1] if j != chosen][:alternatives]

    def describe(j: int) -> dict[str, Any]:
        out = {
            "rep_id": problem.rep_ids[j],
            "expected_value": round(float(problem.value[i, j]), 6),
            "profit": round(float(problem.profit[i, j]), 6),
            "load": round(float(loads[j]), 6),
            "target": round(float(problem.targets[j]), 6),
            "free_capacity": int(free[j]),
        }
        if problem.price is not None:  # profit is net of it
            out["price"] = round(float(problem.price[j]), 6)
        return out

    out: dict[str, Any] = {"lead_id": problem.lead_ids[i], "assigned_to": None, "alternatives": []}
    if chosen >= 0:
        out["assigned_to"] = describe(chosen)
        # This lead's row only: `lead_reasons` covers the whole batch, and the router
        # explains every lead of a batch (n x n x m work for n leads).
        elig = problem.eligible[i]
        better = int(((problem.profit[i] > problem.profit[i, chosen] + 1e-9) & elig).sum())
        out["why"] = ("account owner rule" if problem.forced[i] >= 0
                      else placed_reason(False, better, int(elig.sum()), basis(problem)))
    elif (problem.price is not None and priced_out(problem, i, free).any()
          and not (problem.eligible[i] & (free >= problem.effort[i])).any()):
        out["why"] = f"{DEFERRED}: worth less than the price of every eligible rep with room"
    else:
        out["why"] = unassigned_reason(problem, i, free)
    for j in others:
        alt = describe(j)
        alt["why_not"] = _why_not(problem, owner, i, j, free, loads)
        out["alternatives"].append(alt)
    return out


def _why_not(
    problem: Problem, owner: np.ndarray, i: int, j: int, free: np.ndarray, loads: np.ndarray
) -> str:
    chosen = int(owner[i])
    if problem.forced[i] >= 0:
        return "the lead's account is owned by another rep (owner rule)"
    if not problem.available[j]:
        return "rep unavailable"
    if not problem.eligible[i, j]:
        if problem.price is not None and priced_out(problem, i, None)[j]:
            return (f"priced out: worth less here than the seat's price {problem.price[j]:,.2f} "
                    "(its room is held for better-matched leads)")
        return f"blocked by the hard rule on {blocking_rule(problem, i, j)}"
    effort = problem.effort[i] if problem.effort.ndim == 1 else problem.effort[i, j]
    if free[j] < effort:
        return "at capacity: its room went to other leads of the batch"
    if chosen < 0:
        return "had room but the policy did not place the lead"
    if problem.profit[i, j] < problem.profit[i, chosen]:
        if problem.penalty_factor is not None and problem.penalty_factor[i, j] < 1:
            return "lower value after the soft-rule penalty"
        return "lower expected value"
    if problem.options.fairness_weight > 0 and loads[j] >= problem.targets[j]:
        return "fairness: at or above its fair share of the load"
    return "higher value here but the batch optimum used this rep's room elsewhere"
