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

from calendar import monthrange
from collections.abc import Sequence
from datetime import datetime, time, timedelta

import numpy as np

from solver.compile.caps import CAP_KINDS, CapLimitsTable, CapRoom
from solver.domain.availability import parse_timezone
from solver.domain.model import Policy, Rep
from solver.online.store import LeadStore

# How far back the counts must reach for each cap: its longest period in any time zone
# (a local day starts up to 26 h before a UTC instant), so a store reads no more than needed.
_LOOKBACK = {"per_day": timedelta(hours=50), "rolling_24h": timedelta(hours=25),
             "per_week": timedelta(days=8, hours=2), "per_month": timedelta(days=32),
             "utilisation": timedelta(0)}


class RepCaps:
    """The caps of one team of reps under a policy (rebuilt with the team).

    Counted with numpy over the reps (each time zone's period starts once), so
    a decision with caps costs the store's read of the intake plus O(m + k).
    """

    def __init__(self, reps: Sequence[Rep], policy: Policy) -> None:
        caps = policy.caps
        self.active = caps.any
        self.index = {r.id: j for j, r in enumerate(reps)}
        self.reps = CapLimitsTable.of([caps.for_rep(r.id) for r in reps])
        zones: dict[str, list[int]] = {}
        for j, r in enumerate(reps):
            zones.setdefault(r.timezone, []).append(j)
        self.zones = [(parse_timezone(name), np.array(js, dtype=np.intp)) for name, js in zones.items()]
        self.team_ids = [team for team, limit in caps.teams.items() if limit.limited]
        self.teams = CapLimitsTable.of([caps.teams[t] for t in self.team_ids])
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
            teams = {t: (int(t_left[k]), CAP_KINDS[t_binding[k]] if t_binding[k] >= 0 else "")
                     for k, t in enumerate(self.team_ids)}
        return CapRoom(left, binding, teams)


