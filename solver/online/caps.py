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
import math
from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

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
    binding: tuple[str, ...]  # rep j's tightest cap ("per_day", ...; "" = none)
    teams: dict[str, tuple[int, str]]  # team id -> (more leads its members may take together, its cap)

    def full_teams(self) -> list[tuple[str, str]]:
        """(team, its tightest cap) of the teams whose caps leave no room."""
        return [(team, cap) for team, (left, cap) in self.teams.items() if left <= 0]

    def limits(self, free: np.ndarray) -> np.ndarray:
        """bool (m,): reps whose cap, not their capacity, leaves them less than `free`."""
        return self.rep < free


class RepCaps:
    """The caps of one team of reps under a policy (rebuilt with the team)."""

    def __init__(self, reps: Sequence[Rep], policy: Policy) -> None:
        caps = policy.caps
        self.active = caps.any
        self.ids = [r.id for r in reps]
        self.limits = [caps.for_rep(r.id) for r in reps]
        self.zones = [parse_timezone(r.timezone) for r in reps]
        self.team_limits = {team: limit for team, limit in caps.teams.items() if limit.limited}
        used = [*self.limits, *self.team_limits.values()]
        self.lookback = max((_LOOKBACK[kind] for limit in used for kind in _LOOKBACK
                             if getattr(limit, kind) is not None), default=timedelta(0))

    def room(self, store: LeadStore, now: datetime, capacity: np.ndarray, held: np.ndarray,
             members: dict[str, list[int]] | None = None) -> CapRoom | None:
        """Each rep's room under its caps at `now` (None: the policy has none). `capacity` and
        `held` (open leads) are per rep for utilisation; `members`: each team's rep indexes."""
        if not self.active:
            return None
        taken: dict[str, list[datetime]] = {}
        for rep_id, at in (store.intake(now - self.lookback) if self.lookback else ()):
            taken.setdefault(rep_id, []).append(at)
        counts = [_Counts.of(taken.get(rep_id, ()), now, zone) for rep_id, zone in zip(self.ids, self.zones,
                                                                                       strict=True)]
        rooms = [_left(limit, c, int(cap), int(h)) for limit, c, cap, h in zip(
            self.limits, counts, capacity, held, strict=True)]
        teams: dict[str, tuple[int, str]] = {}
        for team, limit in self.team_limits.items():
            together = _Counts.total(counts[j] for j in (members or {}).get(team, ()))
            teams[team] = _left(limit, together, UNLIMITED, 0)
        return CapRoom(np.array([r for r, _ in rooms], dtype=np.int64), tuple(b for _, b in rooms), teams)


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


@dataclass(frozen=True)
class _Counts:
    """One rep's assignments in each period that ends now (its own time zone for calendar ones)."""

    day: int = 0
    week: int = 0
    month: int = 0
    rolling: int = 0
    days_left: int = 1  # days of the month from today on, today included

    @classmethod
    def of(cls, times: Sequence[datetime], now: datetime, zone: tzinfo) -> _Counts:
        local = now.astimezone(zone)
        day = datetime.combine(local.date(), time.min, local.tzinfo)
        week = day - timedelta(days=local.weekday())
        month = day.replace(day=1)
        since = now - timedelta(hours=24)
        return cls(day=sum(t >= day for t in times), week=sum(t >= week for t in times),
                   month=sum(t >= month for t in times), rolling=sum(t > since for t in times),
                   days_left=monthrange(local.year, local.month)[1] - local.day + 1)

    @classmethod
    def total(cls, counts: Iterable[_Counts]) -> _Counts:
        """A team's counts: its members' together (each in its own time zone)."""
        items = list(counts)
        return cls(day=sum(c.day for c in items), week=sum(c.week for c in items),
                   month=sum(c.month for c in items), rolling=sum(c.rolling for c in items),
                   days_left=max((c.days_left for c in items), default=1))


def _left(limit: CapLimits, counts: _Counts, capacity: int, held: int) -> tuple[int, str]:
    """(the room `limit` leaves after `counts`, the name of the tightest cap; "" = no cap)."""
    rooms = {"per_day": None if limit.per_day is None else limit.per_day - counts.day,
             "per_week": None if limit.per_week is None else limit.per_week - counts.week,
             "per_month": None if limit.per_month is None else limit.per_month - counts.month,
             "rolling_24h": None if limit.rolling_24h is None else limit.rolling_24h - counts.rolling,
             "utilisation": None if limit.utilisation is None or capacity >= UNLIMITED
             else math.floor(capacity * limit.utilisation + 1e-9) - held}
    if limit.per_month is not None and limit.spread_month:
        # today's share of what the month had left this morning, rounded up
        left_this_morning = limit.per_month - (counts.month - counts.day)
        rooms["spread_month"] = math.ceil(max(left_this_morning, 0) / counts.days_left) - counts.day
    given = {name: left for name, left in rooms.items() if left is not None}
    if not given:
        return UNLIMITED, ""
    name = min(given, key=lambda k: given[k])
    return max(given[name], 0), name
