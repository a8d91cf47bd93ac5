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
from solver.domain.model import Lead, Policy
from solver.online import rotation
from solver.online.capacity import Team
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
    # leads come one by one from a CRM: an attribute none of them has is blank, not a typo
    return with_team_caps(compile_problem(table, leads, policy, team.accounts, missing_blank=True), room)
