"""Which caps over time stopped a batch's leads, so reasons and explanations name the cap
(`cap: ... (per_day)`) and not capacity, online and in `leadsolver assign` alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from solver.compile.caps import CapRoom
from solver.compile.problem import Problem
from solver.decode.reasons import Reason, ReasonCode
from solver.decode.result import Assignment, with_reason


def binding_caps(room: CapRoom | None, free: np.ndarray) -> list[str] | None:
    """Per rep, the cap that leaves it less room than its capacity (`free`: its room by capacity
    alone), "" where capacity binds; None without caps. What an explanation's "why not" names."""
    if room is None:
        return None
    capped = room.limits(free)
    return [room.binding(j) if capped[j] else "" for j in range(capped.size)]


def cap_reasons(answers: Sequence[Assignment], problem: Problem, room: CapRoom | None,
                free: np.ndarray, owner: np.ndarray) -> list[Assignment]:
    """The answers, those of leads whose eligible reps were full because of a cap saying which
    (`free`: each rep's room by capacity alone; `owner`: the batch's answer)."""
    if room is None:
        return list(answers)
    capped = room.limits(free)
    used = problem.used_capacity(owner)
    members = dict(zip(problem.team_ids, problem.team_membership if problem.team_membership is not None
                       else [], strict=False))
    full_teams = [(team, cap) for team, (left, cap) in room.teams.items()
                  if team in members and left - used[members[team]].sum() <= 0]
    out = []
    for i, a in enumerate(answers):
        if a.reason_code in (ReasonCode.CAPACITY, ReasonCode.TEAM_CAP):
            reason = cap_reached(problem.eligible[i], capped, room, full_teams, problem.team_ids,
                                 problem.team_membership)
            if reason is not None:
                a = with_reason(a, reason)
        out.append(a)
    return out


def cap_reached(eligible: np.ndarray, capped: np.ndarray, room: CapRoom, full_teams: list[tuple[str, str]],
                team_ids: Sequence[str], membership: np.ndarray | None) -> Reason | None:
    """CAP_REACHED naming the caps that stopped eligible reps (None: only capacity did)."""
    names = sorted({room.binding(int(j)) for j in np.flatnonzero(eligible & capped)})
    if membership is not None:
        names += [f"team {team} {cap}" for team, cap in full_teams
                  if team in team_ids and (membership[list(team_ids).index(team)] & eligible).any()]
    if not names:
        return None
    return ReasonCode.CAP_REACHED.reason(eligible=int(eligible.sum()), caps=", ".join(names))
