"""What a router's batch adds around the solve: the caps over time, persisted rotations, cap reasons.

`Router._solve_batch` compiles the buffer and the backlog against the team as
it stands (`table_now`, `compile_batch`): the rep table with today's availability and open loads,
capacity cut to what the caps over time leave, the round robins where the
ledger last left them, the accounts, and each capped team's room. After the
solve, a lead that found every eligible rep full says which caps
(`cap_reasons`), and the rotations go back to the ledger with the decisions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from solver.compile.caps import CapRoom, with_team_caps
from solver.compile.problem import Problem, compile_problem
from solver.compile.scoring import RepTable
from solver.decode.reasons import Reason, ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead, Policy
from solver.online import rotation
from solver.online.capacity import Team
from solver.online.explain import with_reason
from solver.online.store import LeadStore


def table_now(team: Team, store: LeadStore, now: datetime) -> tuple[RepTable, CapRoom | None, np.ndarray]:
    """The rep table a batch at `now` sees, what the caps leave, and each rep's room by capacity."""
    loads = store.loads(team.ids)
    room = team.cap_room(store, now, loads)
    table = team.table_at(now, loads, room)
    table = dataclasses.replace(table, rotation=rotation.load(store, team.ids))
    fair = team.policy.fairness
    if fair.measure == "pipeline" and fair.weight > 0:  # what each rep was given in the period
        table = dataclasses.replace(table, pipeline_value=team.pipeline(store, now))
    return table, room, team.free(loads)


def compile_batch(team: Team, policy: Policy, table: RepTable, room: CapRoom | None,
                  leads: Sequence[Lead]) -> Problem:
    """`leads` (new ones, then the backlog's) compiled against `table` (`table_now`), the accounts
    with them, each capped team within its caps' room."""
    return with_team_caps(compile_problem(table, leads, policy, team.accounts), room)


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
