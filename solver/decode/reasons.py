"""Why each lead has its rep, or none: reasons computed vectorized over a batch."""

from __future__ import annotations

import numpy as np

from solver.compile.problem import Problem

ASSIGNED = "assigned"
UNASSIGNED_STATUS = "unassigned"
# The start of the reason of a lead left unplaced because every seat with room is priced above it.
DEFERRED = "deferred"


def lead_reasons(problem: Problem, owner: np.ndarray, only_unassigned: bool = False) -> dict[int, str]:
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
            reasons[int(i)] = placed_reason(bool(f), int(b), int(c), basis(problem))
    rows = np.flatnonzero(owner < 0)
    if rows.size:
        free = problem.capacity - problem.used_capacity(owner)
        reasons.update(zip(rows.tolist(), unassigned_reasons(problem, rows, free), strict=True))
    return reasons


def basis(problem: Problem) -> str:
    """What placed leads' ranks are by: the profit the policy maximised."""
    return "expected value" if problem.price is None else "expected value less the seat's price"


def placed_reason(forced: bool, better: int, eligible: int, basis: str) -> str:
    """Why a placed lead has its rep, given how many eligible reps offered more profit."""
    if forced:
        return "account owner: the account's current owner keeps it"
    return f"eligible: rank {better + 1} of {eligible} eligible reps by {basis}"


def blocking_rule(problem: Problem, i: int, j: int | None = None) -> str | None:
    """The first hard rule that rejects rep j (or, with j None, every available rep) for lead i."""
    candidates = problem.available.copy() if j is None else np.eye(problem.m, dtype=bool)[j]
    for name in problem.options.hard_rules:
        dim = problem.dimensions[name]
        candidates &= dim.admits(np.array([i]))[0]
        if not candidates.any():
            label = dim.lead_label[i] or "(empty)"
            return f"{name} {label!r}"
    return None


def priced_out(problem: Problem, i: int, free: np.ndarray | None) -> np.ndarray:
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
