"""Caps over time, counted from the ledger: how many more leads each rep (and team) may take now.

`policy.caps` (`solver.domain.caps`) limits intake per calendar day, week and
month in the rep's own time zone, per rolling 24 hours, as a daily share of a
monthly maximum (`spread_month`), and open leads as a share of capacity
(`utilisation`). `RepCaps.room` counts each rep's assignments from the store
(`LeadStore.intake`: first decisions, backlog placements and reassignments to
the rep, released or not), so every process on one ledger counts the same, and
turns what is left into effort units the decisions see as capacity: the
batch's rep table (its `capacity`), the fast path's free vector, and each
capped team's room in the compiled Problem (`with_team_caps`). Caps count
leads; with unit effort (the default) a lead is one unit.
"""

from __future__ import annotations

import dataclasses
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np

from solver.compile.problem import Problem
from solver.domain.availability import parse_timezone
from solver.domain.caps import CapLimits
from solver.domain.model import Policy, Rep
from solver.online.store import LeadStore

UNLIMITED = 1 << 40  # the room of a rep without caps: more than any capacity
# How far back the counts must reach for each cap: its longest period in any time zone
# (a local day starts up to 26 h before a UTC instant), so a store reads no more than needed.
_LOOKBACK = {"per_day": timedelta(hours=50), "rolling_24h": timedelta(hours=25),
             "per_week": timedelta(days=8, hours=2), "per_month": timedelta(days=32),
             "utilisation": timedelta(0)}


@dataclass(frozen=True)
class CapRoom:
    """What the caps leave each rep (and capped team) at one moment."""

    rep: np.ndarray  # int (m,): more leads rep j may take now (UNLIMITED: no cap)
    kind: np.ndarray  # int (m,): rep j's tightest cap, an index into _KINDS (-1: none)
    teams: dict[str, tuple[int, str]]  # team id -> (more leads its members may take together, its cap)

    def binding(self, j: int) -> str:
        """Rep j's tightest cap ("per_day", ...; "" = none)."""
        return _KINDS[self.kind[j]] if self.kind[j] >= 0 else ""

    def full_teams(self) -> list[tuple[str, str]]:
        """(team, its tightest cap) of the teams whose caps leave no room."""
        return [(team, cap) for team, (left, cap) in self.teams.items() if left <= 0]

    def limits(self, free: np.ndarray) -> np.ndarray:
        """bool (m,): reps whose cap, not their capacity, leaves them less than `free`."""
        return self.rep < free


class RepCaps:
    """The caps of one team of reps under a policy (rebuilt with the team).

    Counted with numpy over the reps (each time zone's period starts once), so
    a decision with caps costs the store's read of the intake plus O(m + k).
    """

    def __init__(self, reps: Sequence[Rep], policy: Policy) -> None:
        caps = policy.caps
        self.active = caps.any
        self.index = {r.id: j for j, r in enumerate(reps)}
        self.reps = _Limits.of([caps.for_rep(r.id) for r in reps])
        zones: dict[str, list[int]] = {}
        for j, r in enumerate(reps):
            zones.setdefault(r.timezone, []).append(j)
        self.zones = [(parse_timezone(name), np.array(js, dtype=np.intp)) for name, js in zones.items()]
        self.team_ids = [team for team, limit in caps.teams.items() if limit.limited]
        self.teams = _Limits.of([caps.teams[t] for t in self.team_ids])
        used = [*(caps.for_rep(r.id) for r in reps), *(caps.teams[t] for t in self.team_ids)]
        self.lookback = max((_LOOKBACK[kind] for limit in used for kind in _LOOKBACK
                             if getattr(limit, kind) is not None), default=timedelta(0))

    def room(self, store: LeadStore, now: datetime, capacity: np.ndarray, held: np.ndarray,
             members: dict[str, list[int]] | None = None) -> CapRoom | None:
        """Each rep's room under its caps at `now` (None: the policy has none). `capacity` and
        `held` (open leads) are per rep for utilisation; `members`: each team's rep indexes."""
        if not self.active:
            return None
        m = len(self.index)
        taken = store.intake(now - self.lookback) if self.lookback else []
        index = self.index
        rep = np.fromiter((index.get(rep_id, m) for rep_id, _ in taken), dtype=np.intp, count=len(taken))
        at = np.fromiter((t.timestamp() for _, t in taken), dtype=np.float64, count=len(taken))
        at, rep = at[rep < m], rep[rep < m]  # reps no longer in the team
        starts = np.zeros((3, m))  # the rep's day, week and month began (epoch seconds)
        days_left = np.ones(m)
        for zone, js in self.zones:
            local = now.astimezone(zone)
            day = datetime.combine(local.date(), time.min, local.tzinfo)
            starts[:, js] = np.array([day.timestamp(), (day - timedelta(days=local.weekday())).timestamp(),
                                      day.replace(day=1).timestamp()])[:, None]
            days_left[js] = monthrange(local.year, local.month)[1] - local.day + 1
        counts = np.stack([np.bincount(rep, weights=at >= starts[k, rep], minlength=m) for k in range(3)]
                          + [np.bincount(rep, weights=at > now.timestamp() - 86400, minlength=m)])
        left, binding = self.reps.left(counts, days_left, capacity.astype(np.float64), held)
        teams: dict[str, tuple[int, str]] = {}
        if self.team_ids:
            together = np.stack([counts[:, (members or {}).get(t, [])].sum(axis=1) for t in self.team_ids],
                                axis=1)
            n = len(self.team_ids)
            # a team has no capacity to take a share of (its members' utilisation caps apply)
            t_left, t_binding = self.teams.left(together, np.full(n, days_left.max(initial=1)),
                                                np.full(n, np.inf), np.zeros(n))
            teams = {t: (int(t_left[k]), _KINDS[t_binding[k]] if t_binding[k] >= 0 else "")
                     for k, t in enumerate(self.team_ids)}
        return CapRoom(left, binding, teams)


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


_KINDS = ("per_day", "per_week", "per_month", "rolling_24h", "spread_month", "utilisation")


@dataclass(frozen=True)
class _Limits:
    """Each rep's (or team's) limits as arrays: inf where a kind is not set."""

    per: np.ndarray  # float (4, k): per_day, per_week, per_month, rolling_24h
    spread: np.ndarray  # bool (k,): per_month spread over the month's days
    utilisation: np.ndarray  # float (k,): share of capacity; inf = none

    @classmethod
    def of(cls, limits: Sequence[CapLimits]) -> _Limits:
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
        rooms = np.full((len(_KINDS), self.per.shape[1]), np.inf)
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
