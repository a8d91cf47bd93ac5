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
from solver.policies.base import Solution

ASSIGNED = "assigned"
UNASSIGNED_STATUS = "unassigned"
# The start of the reason of a lead left unplaced because every seat with room is priced above it.
DEFERRED = "deferred"


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
    reasons = _reasons(problem, owner)
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
        reasons = _reasons(problem, owner, only_unassigned=True)
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


def _reasons(problem: Problem, owner: np.ndarray, only_unassigned: bool = False) -> dict[int, str]:
    """Reason per lead; computed vectorized, per-rule work only for unassigned leads."""
    reasons: dict[int, str] = {}
    placed = np.flatnonzero(owner >= 0)
    if not only_unassigned:
        forced = problem.forced[placed] >= 0
        chosen = problem.profit[placed, owner[placed]]
        elig = problem.eligible[placed]
        better = ((problem.profit[placed] > chosen[:, None] + 1e-9) & elig).sum(axis=1)
        count = elig.sum(axis=1)
        for i, f, b, c in zip(placed, forced, better, count, strict=True):
            reasons[int(i)] = _placed_reason(bool(f), int(b), int(c), _basis(problem))
    rows = np.flatnonzero(owner < 0)
    if rows.size:
        free = problem.capacity - problem.used_capacity(owner)
        reasons.update(zip(rows.tolist(), unassigned_reasons(problem, rows, free), strict=True))
    return reasons


def _basis(problem: Problem) -> str:
    """What placed leads' ranks are by: the profit the policy maximised."""
    return "expected value" if problem.price is None else "expected value less the seat's price"


def _placed_reason(forced: bool, better: int, eligible: int, basis: str) -> str:
    """Why a placed lead has its rep, given how many eligible reps offered more profit."""
    if forced:
        return "account owner: the account's current owner keeps it"
    return f"eligible: rank {better + 1} of {eligible} eligible reps by {basis}"


def _blocking_rule(problem: Problem, i: int, j: int | None = None) -> str | None:
    """The first hard rule that rejects rep j (or, with j None, every available rep) for lead i."""
    candidates = problem.available.copy() if j is None else np.eye(problem.m, dtype=bool)[j]
    for name in problem.options.hard_rules:
        dim = problem.dimensions[name]
        candidates &= dim.admits(np.array([i]))[0]
        if not candidates.any():
            label = dim.lead_label[i] or "(empty)"
            return f"{name} {label!r}"
    return None


def _priced_out(problem: Problem, i: int, free: np.ndarray | None) -> np.ndarray:
    """bool (m,): available reps the hard rules admit for lead i that its price mask left out
    (with `free`: only those with room for it)."""
    admitted = problem.available & ~problem.eligible[i]
    for name in problem.options.hard_rules:
        admitted &= problem.dimensions[name].admits(np.array([i]))[0]
    if free is not None:
        effort = problem.effort[i]  # a scalar, or (m,) when effort depends on the rep
        admitted &= free >= effort
    return admitted


def unassigned_reasons(problem: Problem, rows: np.ndarray, free: np.ndarray) -> list[str]:
    """Why each of these unassigned leads got no rep (given each rep's `free` capacity after
    the batch), vectorized over the leads.

    In order: nobody available; the first hard rule that leaves no available
    rep; every eligible rep at capacity; else the policy's choice.
    """
    if not problem.available.any():
        return ["no rep available: every rep is unavailable"] * rows.size
    reasons: list[str | None] = [None] * rows.size
    candidates = np.broadcast_to(problem.available, (rows.size, problem.m)).copy()
    for name in problem.options.hard_rules:
        dim = problem.dimensions[name]
        candidates &= dim.admits(rows)
        for k in np.flatnonzero(~candidates.any(axis=1)):
            if reasons[k] is None:
                label = dim.lead_label[rows[k]] or "(empty)"
                reasons[k] = f"no eligible rep: no available rep matches {name} {label!r}"
    eligible = problem.eligible[rows]
    effort = problem.effort[rows]
    room = free[None, :] >= (effort[:, None] if effort.ndim == 1 else effort)
    n_eligible = eligible.sum(axis=1)
    full = ~(eligible & room).any(axis=1)
    out = []
    for k, reason in enumerate(reasons):
        if reason is None:
            if n_eligible[k] == 0:
                reason = "no eligible rep: no available rep passes the hard rules"
            elif full[k]:
                reason = f"capacity: all {n_eligible[k]} eligible reps are at capacity"
            else:
                reason = "not placed: the policy left it for reps with room (grouping or ordering)"
        out.append(reason)
    return out


def unassigned_reason(problem: Problem, i: int, free: np.ndarray) -> str:
    return unassigned_reasons(problem, np.array([i]), free)[0]


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
        # This lead's row only: `_reasons` covers the whole batch, and the router
        # explains every lead of a batch (n x n x m work for n leads).
        elig = problem.eligible[i]
        better = int(((problem.profit[i] > problem.profit[i, chosen] + 1e-9) & elig).sum())
        out["why"] = ("account owner rule" if problem.forced[i] >= 0
                      else _placed_reason(False, better, int(elig.sum()), _basis(problem)))
    elif (problem.price is not None and _priced_out(problem, i, free).any()
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
        if problem.price is not None and _priced_out(problem, i, None)[j]:
            return (f"priced out: worth less here than the seat's price {problem.price[j]:,.2f} "
                    "(its room is held for better-matched leads)")
        return f"blocked by the hard rule on {_blocking_rule(problem, i, j)}"
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
