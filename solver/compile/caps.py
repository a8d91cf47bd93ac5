"""Caps over time as arithmetic on arrays: what limits leave each rep and team, given the counts.

`policy.caps` (`solver.domain.caps`) bounds intake per day, week, month and
rolling 24 h, a month spread over its days, and open leads as a share of
capacity. This module turns limits and counts of decisions into room (more
leads each rep or capped team may take) and applies it to a compiled batch.
Who counts is the caller's: the online router counts the lead store
(`solver.online.caps`); a one-off batch (`assign`, no ledger) counts nothing,
so its caps bound the batch itself (`batch_room`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.compile.problem import Problem
from solver.compile.scoring import RepTable
from solver.domain.caps import CapLimits
from solver.domain.model import Policy

UNLIMITED = 1 << 40  # the room of a rep without caps: more than any capacity


@dataclass(frozen=True)
class CapRoom:
    """What the caps leave each rep (and capped team) at one moment."""

    rep: np.ndarray  # int (m,): more leads rep j may take now (UNLIMITED: no cap)
    kind: np.ndarray  # int (m,): rep j's tightest cap, an index into _KINDS (-1: none)
    teams: dict[str, tuple[int, str]]  # team id -> (more leads its members may take together, its cap)

    def binding(self, j: int) -> str:
        """Rep j's tightest cap ("per_day", ...; "" = none)."""
        return CAP_KINDS[self.kind[j]] if self.kind[j] >= 0 else ""

    def full_teams(self) -> list[tuple[str, str]]:
        """(team, its tightest cap) of the teams whose caps leave no room."""
        return [(team, cap) for team, (left, cap) in self.teams.items() if left <= 0]

    def limits(self, free: np.ndarray) -> np.ndarray:
        """bool (m,): reps whose cap, not their capacity, leaves them less than `free`."""
        return self.rep < free


def with_team_caps(problem: Problem, room: CapRoom | None) -> Problem:
    """`problem` whose capped teams (`policy.caps.teams`) have at most their caps' room left."""
    if room is None or not room.teams or problem.team_membership is None:
        return problem
    capacity = (np.full(len(problem.team_ids), -1, dtype=np.int64) if problem.team_capacity is None
                else problem.team_capacity.copy())
    for t, team in enumerate(problem.team_ids):
        if team in room.teams:
            left = max(room.teams[team][0], 0)
            capacity[t] = left if capacity[t] < 0 else min(int(capacity[t]), left)
    return dataclasses.replace(problem, team_capacity=capacity)


CAP_KINDS = ("per_day", "per_week", "per_month", "rolling_24h", "spread_month", "utilisation")


@dataclass(frozen=True)
class CapLimitsTable:
    """Each rep's (or team's) limits as arrays: inf where a kind is not set."""

    per: np.ndarray  # float (4, k): per_day, per_week, per_month, rolling_24h
    spread: np.ndarray  # bool (k,): per_month spread over the month's days
    utilisation: np.ndarray  # float (k,): share of capacity; inf = none

    @classmethod
    def of(cls, limits: Sequence[CapLimits]) -> CapLimitsTable:
        def col(name: str) -> np.ndarray:
            return np.array([np.inf if getattr(c, name) is None else float(getattr(c, name)) for c in limits])

        return cls(np.stack([col(n) for n in ("per_day", "per_week", "per_month", "rolling_24h")])
                   if limits else np.zeros((4, 0)),
                   np.array([c.spread_month and c.per_month is not None for c in limits], dtype=bool),
                   col("utilisation") if limits else np.zeros(0))

    def left(self, counts: np.ndarray, days_left: np.ndarray, capacity: np.ndarray,
             held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(int (k,): the room left after `counts` (day, week, month, rolling rows), UNLIMITED where
        no cap is set; int (k,): the tightest cap's index in `_KINDS` each, -1 where none)."""
        rooms = np.full((len(CAP_KINDS), self.per.shape[1]), np.inf)
        rooms[:4] = self.per - counts
        # today's share of what the month had left this morning, rounded up
        morning = np.maximum(self.per[2] - (counts[2] - counts[0]), 0)
        with np.errstate(invalid="ignore"):
            rooms[4] = np.where(self.spread, np.ceil(morning / days_left) - counts[0], np.inf)
            rooms[5] = np.where(np.isfinite(self.utilisation) & np.isfinite(capacity),
                                np.floor(capacity * self.utilisation + 1e-9) - held, np.inf)
        tightest = np.argmin(rooms, axis=0)
        best = rooms[tightest, np.arange(rooms.shape[1])]
        limited = np.isfinite(best)
        room = np.where(limited, np.maximum(np.nan_to_num(best, posinf=0), 0), UNLIMITED).astype(np.int64)
        return room, np.where(limited, tightest, -1)


def batch_room(table: RepTable, policy: Policy) -> CapRoom | None:
    """The caps' room for one batch with no history (None: the policy has no caps).

    Every per-period cap bounds the batch as the period's whole intake; utilisation
    bounds open leads against capacity; a month spread cannot be dated without a
    clock, so it counts as the month's cap. Teams: their per-period caps bound the
    members' new leads together.
    """
    caps = policy.caps
    if not caps.any:
        return None
    m = table.m
    reps = CapLimitsTable.of([caps.for_rep(rep_id) for rep_id in table.ids])
    left, binding = reps.left(np.zeros((4, m)), np.ones(m), table.capacity.astype(np.float64),
                              table.open_leads.astype(np.float64))
    team_ids = [team for team, limit in caps.teams.items() if limit.limited]
    teams: dict[str, tuple[int, str]] = {}
    if team_ids:
        n = len(team_ids)
        t_left, t_binding = CapLimitsTable.of([caps.teams[t] for t in team_ids]).left(
            np.zeros((4, n)), np.ones(n), np.full(n, np.inf), np.zeros(n))
        teams = {t: (int(t_left[k]), CAP_KINDS[t_binding[k]] if t_binding[k] >= 0 else "")
                 for k, t in enumerate(team_ids)}
    return CapRoom(left, binding, teams)


def capped_table(table: RepTable, room: CapRoom | None) -> RepTable:
    """The rep table whose capacity leaves each rep at most its caps' room of new leads."""
    if room is None:
        return table
    capacity = np.minimum(table.capacity, table.open_leads + np.minimum(room.rep, table.capacity))
    return dataclasses.replace(table, capacity=capacity.astype(table.capacity.dtype))
