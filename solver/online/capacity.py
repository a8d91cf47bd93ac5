"""The team as the router sees it at a moment: availability, free capacity, fairness, SLA clocks.

The reps are compiled once into a `RepTable`; what changes with time comes
from elsewhere: availability from the reps' calendars, the load each rep
holds from the store (`RepLoads`, count and effort of its open leads). Each
decision passes a copy of the table with today's availability, open loads
and catch-up-capped quota weights (`dataclasses.replace`), so
compile_problem's rules apply unchanged. Capacity counts effort units;
loads count leads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from solver.compile import fairness
from solver.compile.caps import CapRoom
from solver.compile.routing import with_rules
from solver.compile.scoring import RepTable, compile_reps
from solver.compile.speed import AlwaysOnTerms, SpeedTerms, rep_work, timed_terms
from solver.domain.availability import RepCalendar
from solver.domain.model import Account, Lead, Policy, Rep
from solver.online.caps import RepCaps
from solver.online.fastpath import FairnessTerms, LeadScorer
from solver.online.store import LeadStore, RepLoads

# A rep away for the whole catch-up window still keeps this share of its quota
# weight, so the fairness term does not shut it out on its first day back.
MIN_AVAILABLE_SHARE = 0.1


class Team:
    """One team compiled for routing: its table, calendars and scorer (rebuilt on a team change)."""

    def __init__(self, reps: Sequence[Rep], policy: Policy, catchup_window: timedelta,
                 accounts: Sequence[Account] | None = None) -> None:
        self.reps = list(reps)
        self.accounts = list(accounts) if accounts else None
        self.caps = RepCaps(self.reps, policy)
        # The urgent path scores a lead by `LeadScorer` (microseconds) unless the routing rules,
        # accounts, fallbacks or team caps decide its row: then by compile_problem, as a batch.
        fallback = policy.fallback
        self.routed = bool(policy.has_routing_rules or self.accounts or fallback.no_rule_match
                           or fallback.owner_inactive or policy.caps.teams)
        self.policy = policy
        self.catchup_window = catchup_window
        self.table: RepTable = compile_reps(self.reps)
        if policy.has_routing_rules:  # the rules' rep side, compiled once (not once per batch)
            self.table = with_rules(self.table, policy)
        teams = self.table.rules.teams if self.table.rules is not None else None
        # each team's members (rep indexes): the caps count a team's intake over them
        self.members = {} if teams is None else {
            team: np.flatnonzero(row).tolist() for team, row in zip(teams.ids, teams.membership, strict=True)}
        self.ids = self.table.ids
        self.index = {rep_id: j for j, rep_id in enumerate(self.ids)}
        self.calendar = RepCalendar(self.reps)
        self.scorer = LeadScorer(self.table, policy)
        self._has_leave = any(r.ooo for r in self.reps)
        # The SLA's first-touch time, and the reps whose SLA clock runs at any hour (no working
        # hours; leave does not stop it): their due time is `now` plus it (`sla_due`, on every
        # urgent decision). The policy and the schedules are fixed for the team's life.
        self._sla = timedelta(hours=policy.sla.first_touch_hours)
        self._sla_anytime = [s.hours is None for s in self.calendar.schedules]
        # capacity less the reps' own open leads, once: `free` is on every urgent lead's path
        self._room = self.table.capacity - self.table.open_leads
        self._fractions: tuple[date, np.ndarray] | None = None
        # Speed to lead: each rep's response and handling minutes, the policy's where it has none
        # (filled once: the urgent path reads them for every lead).
        self.speed = policy.speed if policy.speed.enabled else None
        none = np.full(self.table.m, np.nan)
        self._response, self._handling = rep_work(
            none if self.table.response_minutes is None else self.table.response_minutes,
            none if self.table.handling_minutes is None else self.table.handling_minutes,
            np.zeros(self.table.m), policy.speed)
        self._always_on = AlwaysOnTerms(self._response, self._handling, policy.speed)
        self._own_untouched = self.table.untouched is not None and bool(self.table.untouched.any())

    def free(self, loads: RepLoads) -> np.ndarray:
        """Effort units each rep can still take, given the `loads` it holds (aligned to `ids`)."""
        return self._room - loads.effort

    def held(self, loads: RepLoads) -> np.ndarray:
        """Open leads per rep: its own `open_leads` plus those it holds in the store."""
        return self.table.open_leads + loads.count

    def cap_room(self, store: LeadStore, now: datetime, loads: RepLoads) -> CapRoom | None:
        """What the caps over time leave each rep (and team) now; None without caps."""
        if not self.caps.active:  # on every urgent lead's path: nothing to compute
            return None
        return self.caps.room(store, now, self.table.capacity, self.held(loads), self.members)

    def table_at(self, now: datetime, loads: RepLoads, room: CapRoom | None = None) -> RepTable:
        """The rep table as of `now`: availability, open load, catch-up-capped weights, and
        capacity cut to what the caps over time leave (`room`)."""
        open_leads = self.table.open_leads + loads.effort
        capacity = self.table.capacity
        if room is not None:
            capacity = np.minimum(capacity, open_leads + room.rep)
        return self.with_speed(dataclasses.replace(
            self.table,
            available=self.calendar.available(now),
            capacity=capacity,
            open_leads=open_leads,
            quota_weight=self.weights(now),
        ), now, loads)

    def with_speed(self, table: RepTable, now: datetime, loads: RepLoads) -> RepTable:
        """`table` with its speed fields as of `now` (`RepTable.untouched`, `shifts`): the reps'
        own untouched leads plus those they hold in the store, and their shifts."""
        if self.speed is None:
            return table
        return dataclasses.replace(table, untouched=self.untouched(loads), shifts=self.shifts(now))

    def untouched(self, loads: RepLoads) -> np.ndarray:
        """Untouched leads per rep: its own (the reps file's) plus those it holds in the store."""
        own = self.table.untouched
        return loads.untouched if own is None or not self._own_untouched else own + loads.untouched

    def shifts(self, now: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return self.calendar.shifts(now) if self.calendar.timed else None

    def speed_now(self, now: datetime, loads: RepLoads) -> SpeedTerms | None:
        """Each rep's worth factor for a lead decided now (the urgent path's; batches compile it)."""
        if self.speed is None:
            return None
        untouched = self.untouched(loads)
        if not self.calendar.timed:  # nothing depends on the clock: patched per changed rep
            return self._always_on.terms(untouched)
        return timed_terms(self._response + untouched * self._handling, self._handling,
                           self.shifts(now), self.speed)

    def weights(self, now: datetime) -> np.ndarray:
        """Quota weights scaled by the share of the catch-up window each rep was not on leave."""
        if not self._has_leave:
            return self.table.quota_weight
        today = now.astimezone(UTC).date()
        if self._fractions is None or self._fractions[0] != today:
            self._fractions = (today, self.calendar.available_fractions(now, self.catchup_window))
        return self.table.quota_weight * np.maximum(self._fractions[1], MIN_AVAILABLE_SHARE)

    def fairness_terms(
        self, available: np.ndarray, now: datetime, loads: RepLoads, store: LeadStore, lead: Lead
    ) -> FairnessTerms | None:
        """The fast path's marginal fairness cost of `lead`; None without fairness.

        Open leads are counted (also for `measure: value`, whose batches value them at the
        batch's mean lead); `measure: pipeline` reads the value each rep was given in the
        period from the store, as batches do (`solver.online.batch.table_now`).
        """
        fair = self.policy.fairness
        if fair.weight == 0:
            return None
        share = fairness.shares(self.weights(now), available)
        if fair.measure == "pipeline":
            load = self.pipeline(store, now)
            return FairnessTerms(load, fairness.targets(share, load, lead.value), fair.weight,
                                 added=lead.value, unit=1.0)
        load = self.held(loads).astype(np.float64)
        return FairnessTerms(load, fairness.targets(share, load, 1.0), fair.weight)

    def pipeline(self, store: LeadStore, now: datetime) -> np.ndarray:
        """float (m,): value each rep was given in the fairness period (the reps file's own, plus
        the store's)."""
        given = store.pipeline_value(self.ids, now - timedelta(days=self.policy.fairness.period_days))
        own = self.table.pipeline_value
        return given if own is None else own + given

    def sla_due(self, j: int, now: datetime) -> datetime:
        """When rep j must first touch a lead it gets at `now`: the SLA in its working hours."""
        if self._sla_anytime[j]:  # `Schedule.add_working_time` without working hours, minus two calls
            return now + self._sla
        return self.calendar.schedules[j].add_working_time(now, self._sla)
