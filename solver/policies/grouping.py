"""Account grouping for owner vectors: check it, and repair a vector that breaks it.

`Problem.violations` checks eligibility, the owner rule and capacity, not
grouping, so a policy that groups accounts checks its answers here. The rule
is the one `cpsat_model.CpSatModel._account_grouping` states: the placed
leads of one group share one rep (leads may stay unassigned individually);
a group whose forced leads name one owner goes to that owner; when forced
leads of one group name different owners, the owner rule wins and only the
group's free leads must share a rep.

`repair` turns any owner vector (greedy's, flow's: they ignore grouping) into
one that respects it and places what it can: the warm start of the cpsat
model must be feasible, or CP-SAT drops the hint and the policy has nothing
safe to fall back on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.compile.problem import UNASSIGNED, Problem
from solver.policies.registry import free_capacity, team_fits


@dataclass(frozen=True)
class Group:
    """The leads of one account group that must share a rep, and the rep it must be, if fixed."""

    members: np.ndarray  # lead indices (free leads, plus forced ones when they agree)
    fixed: int  # the one owner its forced leads name, or UNASSIGNED


def groups(problem: Problem) -> list[Group]:
    """The groups grouping constrains (none when `account_grouping` is off)."""
    if not problem.options.account_grouping:
        return []
    out = []
    for g in np.unique(problem.group[problem.group >= 0]):
        members = np.flatnonzero(problem.group == g)
        owners = np.unique(problem.forced[members][problem.forced[members] >= 0])
        if len(owners) > 1:  # the owner rule splits the group: only free leads share a rep
            out.append(Group(members[problem.forced[members] < 0], UNASSIGNED))
        else:
            out.append(Group(members, int(owners[0]) if len(owners) else UNASSIGNED))
    return out


def split_groups(problem: Problem, owner: np.ndarray) -> list[str]:
    """One message per group whose placed leads have more than one rep (or not its fixed one)."""
    problems = []
    for group in groups(problem):
        reps = set(owner[group.members][owner[group.members] >= 0].tolist())
        if len(reps) > 1 or (group.fixed >= 0 and reps - {group.fixed}):
            first = problem.lead_ids[int(group.members[0])]
            problems.append(f"account group of lead {first} split over {len(reps)} reps")
    return problems


def repair(problem: Problem, owner: np.ndarray) -> np.ndarray:
    """A grouping-feasible owner vector close to `owner` (which must pass `violations`).

    Per group, the rep keeping the most profit of its placed leads stays (the
    fixed owner if there is one) and the group's other leads move to it where
    they are eligible and fit, else stay unassigned. Then every lead still
    unassigned is placed on its most profitable eligible rep with room (its
    group's rep, if the group has one), best leads first.
    """
    owner = owner.copy()
    listed = groups(problem)
    if not listed:
        return owner
    free = free_capacity(problem, owner).astype(np.int64)
    teams, team_free = problem.capped_teams, problem.team_free(owner)
    free_lead = problem.forced < 0
    rep_of = np.full(problem.n, UNASSIGNED, dtype=np.int64)  # the rep each grouped lead must take
    in_group = np.zeros(problem.n, dtype=bool)
    for group in listed:
        movable = group.members[free_lead[group.members]]
        target = group.fixed
        if target < 0:
            placed = movable[owner[movable] >= 0]
            if placed.size:
                gain = np.bincount(owner[placed], weights=problem.profit[placed, owner[placed]],
                                   minlength=problem.m)
                used = np.bincount(owner[placed], minlength=problem.m) > 0
                target = int(np.flatnonzero(used)[np.argmax(gain[used])])
        for i in movable[(owner[movable] >= 0) & (owner[movable] != target)]:
            free[owner[i]] += _effort(problem, int(i), int(owner[i]))
            team_free += teams[:, owner[i]] * _effort(problem, int(i), int(owner[i]))
            owner[i] = UNASSIGNED
        in_group[movable] = True
        rep_of[movable] = target
    order = np.flatnonzero((owner < 0) & free_lead & problem.eligible.any(axis=1))
    order = order[np.argsort(-problem.profit[order].max(axis=1), kind="stable")]
    for i in map(int, order):
        candidates = problem.eligible[i] & (free >= _efforts(problem, i))
        candidates &= team_fits(teams, team_free, _efforts(problem, i))
        if in_group[i] and rep_of[i] >= 0:
            candidates &= np.arange(problem.m) == rep_of[i]
        if not candidates.any():
            continue
        j = int(np.flatnonzero(candidates)[np.argmax(problem.profit[i, candidates])])
        owner[i] = j
        free[j] -= _effort(problem, i, j)
        team_free -= teams[:, j] * _effort(problem, i, j)
        if in_group[i]:
            rep_of[in_group & (problem.group == problem.group[i]) & free_lead] = j
    return owner


def group_greedy(problem: Problem) -> np.ndarray:
    """A grouping-feasible owner vector built group by group (each lead alone is a group).

    Groups go best total value first; each takes the rep that can hold the
    most of its leads (then the most profit), its leads in order of value.
    Repairing an owner vector that ignored grouping strands the leads of every
    split account (sample, 170 accounts: 189 of 300 placed); this places 280+.
    """
    owner = problem.forced.copy()
    free = free_capacity(problem, owner).astype(np.int64)
    teams, team_free = problem.capped_teams, problem.team_free(owner)
    free_lead = owner < 0
    best = np.where(problem.eligible, problem.profit, -np.inf).max(axis=1, initial=-np.inf)
    units = [(g.members[free_lead[g.members]], g.fixed) for g in groups(problem)]
    grouped = np.zeros(problem.n, dtype=bool)
    for members, _ in units:
        grouped[members] = True
    units += [(np.array([i]), UNASSIGNED) for i in np.flatnonzero(free_lead & ~grouped)]
    units = [(members[np.argsort(-best[members], kind="stable")], fixed)
             for members, fixed in units if members.size]
    value = [float(np.maximum(best[members], 0).sum()) for members, _ in units]
    for k in np.argsort(-np.asarray(value), kind="stable"):
        members, fixed = units[k]
        allowed = np.arange(problem.m) == fixed if fixed >= 0 else np.ones(problem.m, dtype=bool)
        room, count, gain = free.copy(), np.zeros(problem.m), np.zeros(problem.m)
        for i in map(int, members):
            effort = _efforts(problem, i)
            # A rep's team room is shared: counted as if each rep took the group alone.
            fits = allowed & problem.eligible[i] & (room >= effort)
            fits &= team_fits(teams, team_free, effort) if teams.size else fits
            room[fits] -= effort[fits]
            count[fits] += 1
            gain[fits] += problem.profit[i, fits]
        if not count.any():
            continue
        j = int(np.lexsort((-np.arange(problem.m), gain, count))[-1])  # most leads, then profit
        for i in map(int, members):
            effort_j = _effort(problem, i, j)
            if (problem.eligible[i, j] and free[j] >= effort_j
                    and bool((team_free[teams[:, j]] >= effort_j).all())):
                owner[i] = j
                free[j] -= effort_j
                team_free -= teams[:, j] * effort_j
    return owner


def _effort(problem: Problem, i: int, j: int) -> int:
    return int(problem.effort[i, j] if problem.effort.ndim == 2 else problem.effort[i])


def _efforts(problem: Problem, i: int) -> np.ndarray:
    """Lead i's effort on every rep (broadcast when it does not depend on the rep)."""
    return np.broadcast_to(problem.effort[i], (problem.m,))
