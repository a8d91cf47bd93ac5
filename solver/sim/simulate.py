"""Discrete-event simulation of a scenario, driving the real `Router` on a simulated clock.

One run = (scenario variant, policy, seed). Events, in time order:

- arrival: the lead is submitted; an urgent lead is assigned at once (fast
  path), a normal one waits in the router's micro-batch;
- tick: the batch's deadline (`policy.batch.max_wait_s` after its first lead);
- touch: the owner's first response, sampled from the response model in the
  owner's working time (`solver.sim.response`: the rep's own pace and the
  untouched leads it holds); the outcome is drawn from the win probability then;
- release: the lead is worked (won or lost) and frees its owner's capacity;
- stale check: the ops job moving untouched leads past the SLA (every
  `response.stale_check_minutes`);
- sample: hourly snapshot of each rep's open leads (utilization, load plots).

Random draws come from the seed alone, one per lead and purpose, never from
the policy: every policy of a seed sees the same arrivals, response noise and
outcome draws (common random numbers), so paired differences isolate routing.

A baseline policy (what CRMs ship: round robin, least loaded, ...) assigns each
lead on arrival (batch window 0, `Scenario.batch_wait_s`); an optimizer waits
for the scenario's batch window. A cell may carry dotted-key overrides of the
scenario (`Cell.overrides`, e.g. the router's speed model off) for studies.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from solver.compile import fairness
from solver.compile.problem import compile_problem
from solver.compile.speed import half_life_decay
from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.availability import Schedule
from solver.domain.model import Lead, Policy, Rep
from solver.online.router import Router
from solver.report.glossary import clip
from solver.report.results import (
    Interval,
    LoadSeries,
    RepTable,
    RunSummary,
    SimulationResult,
    SweepPoint,
)
from solver.sim.arrivals import LeadStream
from solver.sim.metrics import (
    REP_METRICS,
    RESPONSE_BINS,
    RunRecord,
    aggregate,
    interval,
    rep_metrics,
    response_histogram,
    run_metrics,
)
from solver.sim.response import RepPace, median_minutes, rep_pace, router_reps
from solver.sim.scenario import ResponseSpec, Scenario, rep_quotas, variant_names, variant_of, with_overrides
from solver.sim.stream import make_stream, team_reps, truth_reps
from solver.sim.sweep import run_cells

TOUCH, RELEASE, TICK, STALE, SAMPLE = range(5)
HOUR_S = 3600.0
DAY_S = 86400.0
# Independent response-noise draws per lead: the first owner and up to two reassignments.
RESPONSE_DRAWS = 3


@dataclass(frozen=True)
class Cell:
    """One simulation: a variant of a scenario, a policy, a seed (and an optional fairness weight)."""

    scenario: Scenario  # the base scenario (variants are applied inside the worker)
    variant: str
    policy: str
    seed: int
    fairness_weight: float | None = None  # None = the scenario policy's own weight
    # Dotted-key overrides of the variant (`with_overrides`), e.g. (("policy.speed.enabled", False),)
    overrides: tuple[tuple[str, Any], ...] = ()
    label: str = ""  # a study's name for the arm the cell belongs to


@dataclass
class RunOutput:
    """What a cell returns: its key, metrics, response histogram and hourly loads."""

    variant: str
    policy: str
    seed: int
    fairness_weight: float | None
    metrics: dict[str, float]
    response_hist: list[int]
    load_samples: np.ndarray  # float (T, m): open leads per rep, hourly
    rep_ids: tuple[str, ...]
    per_rep: dict[str, list[float]]  # `REP_METRICS` name -> value per rep (order of rep_ids)
    territories: tuple[str, ...]  # per rep, its territories joined (the per-rep table shows them)

    def to_dict(self) -> RunSummary:
        return {"variant": self.variant, "policy": self.policy, "seed": self.seed,
                "fairness_weight": self.fairness_weight, "metrics": self.metrics}


def run_cell(cell: Cell) -> RunOutput:
    """Simulate one cell (top-level so process pools and Dask workers can pickle it)."""
    scenario = with_overrides(variant_of(cell.scenario, cell.variant), dict(cell.overrides))
    team = team_reps(scenario)
    policy = run_policy(scenario, cell.policy, cell.seed, cell.fairness_weight)
    stream = make_stream(scenario, cell.seed)
    truth = truth_reps(scenario, team)
    pace = rep_pace(scenario.response, team)
    reps = router_reps(scenario, team, pace)
    sim = Simulation(scenario, reps, policy, stream, cell.seed, truth, pace)
    sim.eligible = structural_pools(scenario, team, stream)
    record = sim.run()
    return RunOutput(cell.variant, cell.policy, cell.seed, cell.fairness_weight,
                     run_metrics(record), response_histogram(record.response_min),
                     record.load_samples, tuple(r.id for r in reps), rep_metrics(record),
                     tuple(", ".join(r.territories) for r in reps))


def run_policy(scenario: Scenario, name: str, seed: int, fairness_weight: float | None = None) -> Policy:
    """The scenario's policy run as `name`: a baseline on arrival, an optimizer with the batch window."""
    batch = scenario.policy.batch.model_copy(update={"max_wait_s": scenario.batch_wait_s(name)})
    policy = scenario.policy.model_copy(update={"solver": name, "seed": seed, "batch": batch})
    if fairness_weight is not None:
        fair = policy.fairness.model_copy(update={"weight": fairness_weight})
        policy = policy.model_copy(update={"fairness": fair})
    return policy


def structural_pools(scenario: Scenario, reps: Sequence[Rep], stream: LeadStream) -> np.ndarray:
    """bool (n, m): the reps the hard rules admit for each lead, before any router decides.

    The account-owner rule is left out (owners are made by earlier routing
    decisions, not by the territory map) and so are working hours: a pool is
    who may ever take the lead. Splitting each pool's leads by quota share
    gives the pipeline imbalance the rules alone cause (`run_metrics`).
    """
    rules = scenario.policy.rules.model_copy(update={"account_owner": "off"})
    speed = scenario.policy.speed.model_copy(update={"enabled": False})
    policy = scenario.policy.model_copy(update={"rules": rules, "speed": speed})
    leads = [Lead(id=stream.ids[i], created_at=scenario.start, territory=stream.territory[i],
                  industry=stream.industry[i], product=stream.product[i], segment=stream.segment[i],
                  account_id=stream.account[i], value=float(stream.value[i]),
                  score=float(stream.score[i])) for i in range(stream.n)]
    if not leads:
        return np.zeros((0, len(reps)), dtype=bool)
    static = [r.model_copy(update={"working_hours": "", "ooo": ()}) for r in reps]
    return np.asarray(compile_problem(static, leads, policy).eligible, dtype=bool)


class Simulation:
    """One run's state: the router, the event queue and per-lead records."""

    def __init__(self, scenario: Scenario, reps: Sequence[Rep], policy: Policy, stream: LeadStream,
                 seed: int, truth: Sequence[Rep], pace: RepPace | None = None) -> None:
        self.scenario, self.stream, self.policy = scenario, stream, policy
        self.response = scenario.response
        self.start = scenario.start
        self.now_s = 0.0
        self.router = Router(reps, policy, clock=self._clock)
        self.rep_ids = tuple(r.id for r in reps)
        self.rep_index = {rep_id: j for j, rep_id in enumerate(self.rep_ids)}
        self.schedules = [Schedule(r) for r in reps]
        truth_by_id = {r.id: r for r in truth}
        self.truth = [truth_by_id.get(r.id, r) for r in reps]
        self.capacity = np.array([r.capacity for r in reps])
        self.pace = pace if pace is not None else rep_pace(self.response, truth)
        self.untouched = np.zeros(len(reps), dtype=np.int64)  # per rep: assigned, not yet touched
        self.quota = np.array(rep_quotas(scenario, list(reps)))
        # Fair shares as the router's problem defines them (quota weight over available reps).
        self.share = fairness.shares(np.array([r.quota_weight for r in reps], dtype=float),
                                     np.array([r.available for r in reps], dtype=bool))

        n = stream.n
        self.lead_index = {lead_id: i for i, lead_id in enumerate(stream.ids)}
        rng = np.random.default_rng([seed, 2])
        self.z_response = rng.standard_normal((n, RESPONSE_DRAWS))
        self.u_win = rng.random(n)
        self.z_work = rng.standard_normal(n)

        self.owner = np.full(n, -1, dtype=np.int64)
        self.version = np.zeros(n, dtype=np.int64)
        self.ev = np.zeros(n)
        self.response_min = np.full(n, np.nan)
        self.p_win = np.zeros(n)
        self.won = np.zeros(n, dtype=bool)
        self.reassigned = np.zeros(n, dtype=np.int64)
        self.touched = np.zeros(n, dtype=bool)
        self.forced = np.zeros(n, dtype=bool)  # first placed by the account-owner rule
        self.first_assigned_s = np.full(n, np.nan)  # when the lead first got a rep
        self.queued_at_assign = np.full(n, -1, dtype=np.int64)  # the queue the last owner had
        # bool (n, m): each lead's pool under the hard rules (None: not computed, no structural part)
        self.eligible: np.ndarray | None = None
        self.account_owner: dict[str, str] = {}
        self.awaiting = 0  # assigned leads not yet touched
        self.loads: list[np.ndarray] = []
        self.events: list[tuple[float, int, int, int, int]] = []
        self.seq = 0

    # -- clock and queue -------------------------------------------------

    def _clock(self) -> datetime:
        return self.at(self.now_s)

    def at(self, t: float) -> datetime:
        return self.start + timedelta(seconds=t)

    def push(self, t: float, kind: int, lead: int = -1, version: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, lead, version))

    # -- the run ---------------------------------------------------------

    def run(self) -> RunRecord:
        horizon = self.scenario.horizon_days * DAY_S
        stale_every = self.response.stale_check_minutes * 60.0
        self.push(stale_every, STALE)
        self.push(0.0, SAMPLE)
        max_wait = self.policy.batch.max_wait_s
        stream = self.stream
        for i in range(stream.n):
            t = float(stream.arrival_s[i])
            self.advance(t)
            assignment = self.router.submit(self.lead(i, t), now=self.at(t))
            if assignment is not None:
                self.on_assigned([assignment], t)
            elif self.router.pending == 1:  # a new batch opened: its deadline
                self.push(t + max_wait, TICK)
            self.on_assigned(self.router.tick(now=self.at(t)), t)
        self.advance(horizon)
        self.on_assigned(self.router.flush(now=self.at(horizon)), horizon)
        self.advance(np.inf)
        return self.record()

    def advance(self, until: float) -> None:
        """Process every event due at or before `until`."""
        horizon = self.scenario.horizon_days * DAY_S
        while self.events and self.events[0][0] <= until:
            t, _, kind, i, version = heapq.heappop(self.events)
            self.now_s = t
            now = self.at(t)
            if kind == TOUCH and version == self.version[i]:
                self.on_touch(i, t, now)
            elif kind == RELEASE and version == self.version[i]:
                self.router.release(self.stream.ids[i], now=now)
            elif kind == TICK:
                self.on_assigned(self.router.tick(now=now), t)
                if self.router.pending:
                    self.push(t + self.policy.batch.max_wait_s, TICK)
            elif kind == STALE:
                self.on_assigned(self.router.reassign_stale(now=now), t)
                if t < horizon or self.awaiting:
                    self.push(t + self.response.stale_check_minutes * 60.0, STALE)
            elif kind == SAMPLE and t < horizon:
                loads = self.router.loads()
                self.loads.append(np.array([loads.get(r, 0) for r in self.rep_ids], dtype=float))
                self.push(t + HOUR_S, SAMPLE)
        self.now_s = max(self.now_s, until) if np.isfinite(until) else self.now_s

    def lead(self, i: int, t: float) -> Lead:
        """Row i of the stream as a `Lead`, owned by its account's current owner."""
        s = self.stream
        return Lead(
            id=s.ids[i], created_at=self.at(t), territory=s.territory[i], industry=s.industry[i],
            product=s.product[i], segment=s.segment[i], account_id=s.account[i],
            value=float(s.value[i]), score=float(s.score[i]), urgent=bool(s.urgent[i]),
            owner_id=self.account_owner.get(s.account[i], ""),
        )

    # -- reactions -------------------------------------------------------

    def on_assigned(self, assignments: Sequence[Assignment], t: float) -> None:
        """Record owners and schedule each new owner's first response."""
        if not assignments:
            return
        loads = self.router.loads()
        for a in assignments:
            i = self.lead_index[a.lead_id]
            if a.rep_id is None:
                continue  # unassigned stays unassigned; a failed move keeps the old owner
            j = self.rep_index[a.rep_id]
            if self.owner[i] >= 0:
                self.reassigned[i] += 1
                if not self.touched[i]:
                    self.untouched[self.owner[i]] -= 1
            else:
                self.awaiting += 1
                self.forced[i] = a.reason_code is ReasonCode.ACCOUNT_OWNER
                self.first_assigned_s[i] = t
            queued = (int(self.untouched[j]) if self.response.untouched_queue
                      else loads.get(a.rep_id, 0))
            self.untouched[j] += 1
            self.owner[i] = j
            self.version[i] += 1
            self.ev[i] = a.expected_value
            self.queued_at_assign[i] = queued
            self.account_owner[self.stream.account[i]] = a.rep_id
            self.push(self.response_at(i, j, t, queued), TOUCH, i, int(self.version[i]))

    def response_at(self, i: int, j: int, t: float, queued: int) -> float:
        """When rep j first answers lead i given at t with `queued` leads ahead (untouched, or open).

        Lognormal around the rep's ``base + handling x queued`` minutes, counted in
        the rep's working time from t.
        """
        z = self.z_response[i, min(int(self.reassigned[i]), RESPONSE_DRAWS - 1)]
        minutes = median_minutes(self.pace, j, queued) * float(np.exp(self.response.sigma * z))
        at = self.schedules[j].add_working_time(self.at(t), timedelta(minutes=minutes))
        return (at - self.start).total_seconds()

    def on_touch(self, i: int, t: float, now: datetime) -> None:
        """First response: the SLA clock stops, the outcome is drawn, the work is scheduled."""
        self.router.touch(self.stream.ids[i], now=now)
        self.awaiting -= 1
        j = int(self.owner[i])
        self.touched[i] = True
        self.untouched[j] -= 1
        minutes = (t - self.stream.arrival_s[i]) / 60.0
        self.response_min[i] = minutes
        self.p_win[i] = win_probability(
            float(self.stream.score[i]), skill(self.truth[j], self.stream, i), minutes, self.response
        )
        self.won[i] = self.u_win[i] < self.p_win[i]
        r = self.response
        self.push(t + r.work_days * DAY_S * float(np.exp(r.work_sigma * self.z_work[i])), RELEASE, i,
                  int(self.version[i]))

    def record(self) -> RunRecord:
        loads = np.array(self.loads) if self.loads else np.zeros((0, len(self.rep_ids)))
        return RunRecord(
            value=self.stream.value, expected_value=self.ev, owner=self.owner,
            response_min=self.response_min, p_win=self.p_win, won=self.won,
            reassigned=self.reassigned, capacity=self.capacity, quota=self.quota, share=self.share,
            load_samples=loads, sla_minutes=self.response.sla_minutes, forced=self.forced,
            eligible=self.eligible,
        )


def skill(rep: Rep, stream: LeadStream, i: int) -> float:
    """The rep's multiplier for lead i: industry times product (DESIGN's expected-value model)."""
    return rep.skill(stream.industry[i]) * rep.skill(stream.product[i])


def win_probability(score: float, rep_skill: float, minutes: float, response: ResponseSpec) -> float:
    """``min(1, score x skill) x half_life_decay(minutes)``: a five-minute answer keeps most of
    the chance, a same-day answer little (the speed-to-lead studies)."""
    return min(1.0, score * rep_skill) * float(half_life_decay(minutes, response.half_life_minutes,
                                                               response.floor))


def scenario_cells(scenario: Scenario, seeds: int) -> tuple[list[Cell], list[Cell]]:
    """The grid (variant x policy x seed) and the fairness sweep (base variant, sweep policy)."""
    grid = [Cell(scenario, v, p, s) for v in variant_names(scenario) for p in scenario.policies
            for s in range(seeds)]
    sweep = [Cell(scenario, "base", scenario.sweep_policy, s, w) for w in scenario.fairness_sweep
             for s in range(seeds)]
    return grid, sweep


# Points kept of each rep's hourly load series in the JSON: plenty for a plot,
# where months of hourly samples would make the result megabytes.
MAX_LOAD_POINTS = 400


def _load_series(run: RunOutput) -> LoadSeries:
    step = max(1, -(-len(run.load_samples) // MAX_LOAD_POINTS))
    return {"rep_ids": list(run.rep_ids), "hours_per_sample": step,
            "open_leads": np.round(run.load_samples[::step]).astype(int).tolist()}


def _rep_table(runs: Sequence[RunOutput]) -> RepTable:
    """Each rep's figures over the seeds of one policy (base variant): mean and 95% interval."""
    first = runs[0]
    return {"rep_ids": list(first.rep_ids), "territories": list(first.territories),
            "metrics": {name: [clip(interval(run.per_rep[name][j] for run in runs), name)
                               for j in range(len(first.rep_ids))] for name in REP_METRICS}}


def _sweep_point(weight: float, metrics: Sequence[dict[str, float]]) -> SweepPoint:
    """One point of the fairness trade-off curve: value and fairness over the seeds at `weight`."""
    def over(name: str) -> Interval:
        return clip(interval(m[name] for m in metrics), name)

    return {"weight": weight, "expected_revenue": over("expected_revenue"),
            "expected_value": over("expected_value"), "jain": over("jain")}


def simulate_scenario(scenario: Scenario, *, seeds: int | None = None, scheduler: Any = None,
                      workers: int | None = None, progress: bool = True) -> SimulationResult:
    """Run every cell of the scenario and summarize: the JSON of `leadsolver simulate`."""
    n_seeds = seeds or scenario.seeds
    grid, sweep = scenario_cells(scenario, n_seeds)
    outputs = run_cells(run_cell, grid + sweep, scheduler=scheduler, workers=workers, progress=progress)
    runs, swept = outputs[: len(grid)], outputs[len(grid):]
    hist: dict[str, dict[str, list[int]]] = {}
    for run in runs:
        by_policy = hist.setdefault(run.variant, {})
        prev = by_policy.get(run.policy, [0] * len(run.response_hist))
        by_policy[run.policy] = [a + b for a, b in zip(prev, run.response_hist, strict=True)]
    loads = {run.policy: _load_series(run) for run in runs if run.variant == "base" and run.seed == 0}
    per_rep = {policy: _rep_table([r for r in runs if r.variant == "base" and r.policy == policy])
               for policy in scenario.policies
               if any(r.variant == "base" and r.policy == policy for r in runs)}
    curve = [_sweep_point(w, [r.metrics for r in swept if r.fairness_weight == w])
             for w in scenario.fairness_sweep]
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "variants": list(hist),
        "policies": scenario.policies,
        "baseline": scenario.baseline_policy,
        "references": [p for p in scenario.references if p in scenario.policies],
        "seeds": n_seeds,
        "sla_minutes": scenario.response.sla_minutes,
        "cells": aggregate([r.to_dict() for r in runs], scenario.baseline_policy,
                           [p for p in scenario.references if p in scenario.policies]),
        "runs": [r.to_dict() for r in runs],
        "response_bins_min": list(RESPONSE_BINS),
        "response_histogram": hist,
        "load_over_time": loads,
        "fairness_sweep": {"policy": scenario.sweep_policy, "points": curve},
        "start": scenario.start.isoformat(),
        "per_rep": per_rep,
    }
