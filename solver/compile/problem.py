"""The compiled problem: every array a policy needs, built once from the records.

`compile_problem(reps, leads, policy)` is the only place where domain objects
turn into numbers. Policies receive a `Problem` and return an owner vector;
they never see pydantic records or files.

Conventions: n leads (rows), m reps (columns); an owner vector holds a rep
index per lead, -1 for unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from solver.compile import fairness
from solver.compile.routing import route
from solver.compile.rules import RuleOutcome
from solver.compile.scoring import (
    RULE_DIMENSIONS,
    Dimension,
    LeadColumns,
    RepTable,
    RotationState,
    compile_reps,
    encode_leads,
    expected_value,
)
from solver.compile.speed import SpeedTerms, first_back, positions, speed_terms
from solver.domain.model import Account, Lead, Policy, Rep, RuleMode

UNASSIGNED = -1


@dataclass(frozen=True)
class SolveOptions:
    """The plain (non-pydantic) solver settings a policy reads."""

    fairness_weight: float = 0.0
    fairness_measure: str = "count"  # count | value
    fairness_mode: str = "penalty"  # penalty | minmax
    account_grouping: bool = False
    hard_rules: tuple[str, ...] = ()  # rule dimensions enforced as hard (for explanations)
    # The policy's hard routing rules by name (apart: readers of `hard_rules` look each up in
    # `Problem.dimensions`).
    hard_routing_rules: tuple[str, ...] = ()
    high_score: float = 0.8
    seed: int = 0
    time_limit_s: float = 10.0
    workers: int = 0  # 0 means all available CPU cores


@dataclass(frozen=True, eq=False)
class Problem:
    """A batch assignment problem as numpy arrays.

    Objective, in order: place as many leads as the hard rules allow; then
    maximise ``sum(profit[i, owner[i]]) - fairness penalty``.
    """

    lead_ids: tuple[str, ...]
    rep_ids: tuple[str, ...]
    eligible: np.ndarray  # bool (n, m): hard rules and availability admit rep j for lead i
    value: np.ndarray  # float (n, m): expected value of lead i with rep j
    penalty_factor: np.ndarray | None  # float (n, m) in (0, 1]: soft-rule discount, None = none
    effort: np.ndarray  # int (n,) or (n, m): capacity units lead i takes (from rep j)
    capacity: np.ndarray  # int (m,): remaining capacity in effort units (>= 0)
    forced: np.ndarray  # int (n,): rep index the owner rule fixes (past capacity), -1 = none
    group: np.ndarray  # int (n,): account group for grouping, -1 = none
    base_load: np.ndarray  # float (m,): load already held in the fairness period
    lead_load: np.ndarray  # float (n,): load one lead adds (1 for count, its value for value)
    share: np.ndarray  # float (m,): target share of the load (0 for unavailable reps)
    available: np.ndarray  # bool (m,)
    score: np.ndarray  # float (n,): lead propensity 0..1
    seniority: np.ndarray  # int (m,)
    quota_weight: np.ndarray  # float (m,)
    options: SolveOptions = field(default_factory=SolveOptions)
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    rotation: RotationState = field(default_factory=RotationState)  # round robins, from earlier batches
    # float (m,): what a seat with rep j is worth to later leads (the online router's dual
    # prices); profit is net of it. None: a seat costs nothing (a batch on its own).
    price: np.ndarray | None = None
    # The routing rules' outcome (`solver.compile.rules`): explanations read its trail.
    rules: RuleOutcome | None = None
    # Teams: membership bool (T, m), and each team's cap on open effort less what its members
    # hold (int (T,), -1 = no cap). A capped team's members together take at most that much.
    team_ids: tuple[str, ...] = ()
    team_membership: np.ndarray | None = None
    team_capacity: np.ndarray | None = None
    # Leads a fallback sent to a named queue: lead index -> (queue, cause); their rows are empty.
    queued: dict[int, tuple[str, str]] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)  # lead -> the fallback that set its row
    # The round robins' pools: each lead's index into `pool_keys` (None: all in the first).
    pool: np.ndarray | None = None
    pool_keys: tuple[str, ...] = ("all",)
    # bool (n, m): `eligible` before `with_prices` left out the seats a lead cannot pay for.
    unpriced: np.ndarray | None = None
    # bool (n, m): False where a strategic-only rep may never take the lead (None: no such rep)
    strategic: np.ndarray | None = None
    # Speed to lead (`solver.compile.speed`): `value` holds each rep's first-slot decay; a rep's
    # further leads of the batch wait behind the ones before (`position_ratio`). None: off.
    speed: SpeedTerms | None = None

    @property
    def n(self) -> int:
        return len(self.lead_ids)

    @property
    def m(self) -> int:
        return len(self.rep_ids)

    @property
    def unit_effort(self) -> bool:
        return bool(np.all(self.effort == 1))

    @cached_property
    def gross_profit(self) -> np.ndarray:
        """float (n, m): expected value after soft-rule discounts, 0 where ineligible."""
        profit = self.value if self.penalty_factor is None else self.value * self.penalty_factor
        return np.where(self.eligible, profit, 0.0)

    @cached_property
    def profit(self) -> np.ndarray:
        """float (n, m): what the policies maximise: `gross_profit` less the seat's price."""
        if self.price is None:
            return self.gross_profit
        return np.where(self.eligible, self.gross_profit - self.price, 0.0)

    def effort_of(self, owner: np.ndarray) -> np.ndarray:
        """int (n,): effort each lead takes from its owner (0 for unassigned)."""
        placed = owner >= 0
        if self.effort.ndim == 1:
            return np.where(placed, self.effort, 0)
        rows = np.arange(self.n)
        return np.where(placed, self.effort[rows, np.maximum(owner, 0)], 0)

    def used_capacity(self, owner: np.ndarray) -> np.ndarray:
        """int (m,): effort assigned to each rep by an owner vector."""
        placed = owner >= 0
        return np.bincount(owner[placed], weights=self.effort_of(owner)[placed], minlength=self.m)

    @cached_property
    def capped_teams(self) -> np.ndarray:
        """bool (T', m): the members of each team with a cap (T' rows, in `team_room` order)."""
        if self.team_membership is None or self.team_capacity is None:
            return np.zeros((0, self.m), dtype=bool)
        return self.team_membership[self.team_capacity >= 0]

    @cached_property
    def team_room(self) -> np.ndarray:
        """int (T',): what each capped team's members may still take together (may be < 0)."""
        if self.team_capacity is None:
            return np.zeros(0, dtype=np.int64)
        return self.team_capacity[self.team_capacity >= 0]

    def team_free(self, owner: np.ndarray) -> np.ndarray:
        """int (T',): capped teams' room left after the leads in `owner`."""
        used = self.used_capacity(owner).astype(np.int64)
        return self.team_room - self.capped_teams.astype(np.int64) @ used

    def loads(self, owner: np.ndarray) -> np.ndarray:
        """float (m,): fairness load per rep after the owner vector, history included."""
        placed = owner >= 0
        added = np.bincount(owner[placed], weights=self.lead_load[placed], minlength=self.m)
        return self.base_load + added

    @cached_property
    def placeable_load(self) -> float:
        """Load of the leads that have at least one eligible rep (or a forced owner)."""
        can = self.eligible.any(axis=1) | (self.forced >= 0)
        return float(self.lead_load[can].sum())

    @cached_property
    def targets(self) -> np.ndarray:
        """float (m,): fair load per rep after the batch (fixed before solving)."""
        return fairness.targets(self.share, self.base_load, self.placeable_load)

    @cached_property
    def fairness_unit(self) -> float:
        """Money per unit of load deviation: a typical lead's best profit for count loads."""
        if self.options.fairness_measure == "value":
            return 1.0
        # gross: the prices do not rescale fairness (the leads they leave out count as any
        # lead without an eligible rep)
        best = self.gross_profit.max(axis=1, initial=0.0)
        return float(best.mean()) if best.size and best.mean() > 0 else 1.0

    def fairness_penalty(self, owner: np.ndarray) -> float:
        return fairness.penalty(
            self.loads(owner), self.targets, self.options.fairness_weight, self.fairness_unit
        )

    @property
    def queues(self) -> bool:
        """A rep's k-th lead of the batch is worth less than its first (speed with position slots)."""
        return self.speed is not None and self.speed.queues

    def position_ratio(self, owner: np.ndarray) -> np.ndarray:
        """float (n,): share of its first-slot worth each placed lead keeps at its queue position.

        A rep works the leads its accounts bring first, then its other leads of the batch highest
        profit first (the order that is best for any set of leads); the k-th waits behind the
        k-1 before it. 1 for unplaced leads, and for
        every lead when positions do not matter.
        """
        ratio = np.ones(owner.shape[0])
        if not self.queues:
            return ratio
        rows = np.arange(self.n)
        worth = np.where(owner >= 0, self.gross_profit[rows, np.maximum(owner, 0)], 0.0)
        pos = positions(owner, worth, (self.forced >= 0) & (owner == self.forced))
        placed = np.flatnonzero(pos > 0)
        assert self.speed is not None
        ratio[placed] = self.speed.ratio(owner[placed], pos[placed])
        return ratio

    def lead_values(self, owner: np.ndarray) -> np.ndarray:
        """float (n,): each lead's expected value with its owner at its queue position (0 unplaced)."""
        rows = np.arange(self.n)
        value = self.value[rows, np.maximum(owner, 0)] * self.position_ratio(owner)
        return np.where(owner >= 0, value, 0.0)

    def total_profit(self, owner: np.ndarray) -> float:
        placed = np.flatnonzero(owner >= 0)
        gross = self.gross_profit[placed, owner[placed]] * self.position_ratio(owner)[placed]
        if self.price is None:
            return float(gross.sum())
        seated = self.eligible[placed, owner[placed]]  # as `profit`: no price where ineligible
        return float(gross.sum() - self.price[owner[placed]][seated].sum())

    def total_value(self, owner: np.ndarray) -> float:
        return float(self.lead_values(owner).sum())

    def objective(self, owner: np.ndarray) -> float:
        """Profit minus fairness penalty: the second level of the objective."""
        return self.total_profit(owner) - self.fairness_penalty(owner)

    def violations(self, owner: np.ndarray) -> list[str]:
        """Broken hard rules of an owner vector; empty when it is feasible.

        Checks shape, eligibility, the owner rule and capacity. Leads forced to
        their owner may exceed the owner's capacity; they still use it.
        """
        problems: list[str] = []
        if owner.shape != (self.n,):
            return [f"owner vector has shape {owner.shape}, expected ({self.n},)"]
        if np.any((owner < UNASSIGNED) | (owner >= self.m)):
            return ["owner vector holds an index outside the reps"]
        forced = self.forced >= 0
        wrong_owner = forced & (owner != self.forced)
        problems += [f"lead {self.lead_ids[i]} not given to its account owner"
                     for i in np.flatnonzero(wrong_owner)]
        placed = (owner >= 0) & ~forced
        rows = np.flatnonzero(placed)
        bad = rows[~self.eligible[rows, owner[rows]]]
        problems += [f"lead {self.lead_ids[i]} given to ineligible rep {self.rep_ids[owner[i]]}"
                     for i in bad]
        free_owner = np.where(forced, UNASSIGNED, owner)
        over = self.used_capacity(free_owner) > np.maximum(
            self.capacity - self.used_capacity(np.where(forced, owner, UNASSIGNED)), 0
        )
        problems += [f"rep {self.rep_ids[j]} over capacity" for j in np.flatnonzero(over)]
        if self.team_room.size:  # as for reps: forced leads may pass a team's cap, still using it
            kept = self.team_free(np.where(forced, owner, UNASSIGNED))
            routed = self.team_room - self.team_free(free_owner)
            capped = [t for t, c in zip(self.team_ids, self.team_capacity, strict=True) if c >= 0]  # type: ignore[arg-type]
            over_cap = np.flatnonzero(routed > np.maximum(kept, 0))
            problems += [f"team {capped[t]} over its cap" for t in over_cap]
        return problems


def with_prices(problem: Problem, price: np.ndarray, defer: bool) -> Problem:
    """The problem with a per-rep seat price: profit becomes net of it.

    With `defer`, a lead is no longer eligible for a rep whose price its gross
    profit does not cover, so it may stay unplaced rather than take that seat.
    Leads with a forced owner (the account owner rule) keep their eligibility.
    """
    eligible = problem.eligible
    if defer:
        eligible = eligible & ((problem.gross_profit >= price) | (problem.forced >= 0)[:, None])
    unpriced = problem.eligible if problem.unpriced is None else problem.unpriced
    return replace(problem, eligible=eligible, price=np.asarray(price, dtype=np.float64), unpriced=unpriced)


def compile_problem(
    reps: Sequence[Rep] | RepTable, leads: Sequence[Lead], policy: Policy,
    accounts: Sequence[Account] | None = None,
    *,
    leads_file: str = "leads",
    missing_blank: bool = False,
) -> Problem:
    """Turn validated records into the arrays every policy reads.

    `reps` may be a `RepTable` compiled earlier (the router keeps one), so a
    batch only encodes its leads. `accounts` (the accounts file) resolve owners
    up parent accounts and admit named accounts' leads to their named rep or
    team (`solver.compile.routing`, with the routing rules and fallbacks). `leads_file`
    names the leads in an error a rule finds in them (a number column holding text);
    `missing_blank` reads a rule's field that no lead has as blank, not as a typo (the router's).
    """
    table = reps if isinstance(reps, RepTable) else compile_reps(reps)
    n, m = len(leads), table.m
    rules = policy.rules
    columns = LeadColumns.of(leads)
    dims = encode_leads(table, columns)
    available = table.available

    builtin = np.ones((n, m), dtype=bool)
    broken = np.zeros((n, m), dtype=np.int8)
    for name in RULE_DIMENSIONS:
        mode = getattr(rules, name)
        if mode is RuleMode.OFF:
            continue
        admits = dims[name].admits()
        if mode is RuleMode.HARD:
            builtin &= admits
        else:
            broken += ~admits

    routing = route(table, leads, columns.owner_id, policy, builtin, accounts, leads_file=leads_file,
                    missing_blank=missing_blank)
    eligible = routing.admitted & available[None, :]
    owner_idx = routing.owner
    forced = np.full(n, UNASSIGNED, dtype=np.int64)
    if rules.account_owner is RuleMode.HARD:
        forced = owner_idx
    elif rules.account_owner is RuleMode.SOFT:
        has_owner = owner_idx >= 0
        broken[has_owner] += np.arange(m)[None, :] != owner_idx[has_owner, None]

    value = expected_value(table, columns)
    speed = None
    if policy.speed.enabled:
        speed = speed_terms(table.response_minutes, table.handling_minutes, table.untouched,
                            table.shifts, m, policy.speed)
        value = value * speed.factor[None, :]
        if table.shifts is not None:
            # Leads no rep on shift may take go to the reps back first, not to the backlog.
            back = ~available & np.isfinite(speed.timing.wait)
            if back.any():
                nobody_on = ~eligible.any(axis=1)
                eligible = eligible | (first_back(routing.admitted & back[None, :], speed.timing.wait)
                                       & nobody_on[:, None])
    penalty_factor = routing.penalty_factor
    if broken.any():
        own = (1.0 - policy.soft_penalty) ** broken
        penalty_factor = own if penalty_factor is None else own * penalty_factor

    effort = columns.effort
    lead_values = columns.value
    open_leads = table.open_leads.astype(np.float64)
    measure = policy.fairness.measure
    if measure == "pipeline":
        lead_load = lead_values
        base_load = (np.zeros(m) if table.pipeline_value is None else table.pipeline_value).astype(np.float64)
    elif measure == "value":
        lead_load = lead_values
        # History is held as a count; value it at the batch's mean lead value.
        base_load = open_leads * (float(lead_values.mean()) if n else 0.0)
    else:
        lead_load = np.ones(n)
        base_load = open_leads

    return Problem(
        lead_ids=columns.ids,
        rep_ids=table.ids,
        eligible=eligible,
        value=value,
        penalty_factor=penalty_factor,
        effort=effort,
        capacity=np.maximum(table.capacity - table.open_leads, 0),
        forced=forced,
        group=_account_groups(columns.account_key) if rules.account_grouping
        else np.full(n, UNASSIGNED),
        base_load=base_load,
        lead_load=lead_load,
        share=fairness.shares(table.quota_weight, available),
        available=available,
        score=columns.score,
        seniority=table.seniority,
        quota_weight=table.quota_weight,
        options=SolveOptions(
            fairness_weight=policy.fairness.weight,
            # a pipeline is a load in money, as `value` (the solvers tell only count from value)
            fairness_measure="count" if measure == "count" else "value",
            fairness_mode=policy.fairness.mode,
            account_grouping=rules.account_grouping,
            hard_rules=tuple(d for d in RULE_DIMENSIONS if getattr(rules, d) is RuleMode.HARD),
            hard_routing_rules=tuple(r.name for r in policy.routing_rules
                                     if r.effective_mode is RuleMode.HARD),
            high_score=policy.high_score,
            seed=policy.seed,
            time_limit_s=policy.time_limit_s,
            workers=policy.workers,
        ),
        dimensions=dims,
        rotation=table.rotation,
        rules=routing.rules,
        team_ids=routing.teams.ids,
        team_membership=routing.teams.membership,
        team_capacity=_team_residual(routing.teams.membership, routing.teams.capacity, table.open_leads),
        queued=routing.queued,
        notes=routing.notes,
        pool=routing.pool,
        pool_keys=routing.pool_keys,
        strategic=routing.strategic,
        speed=speed,
    )


def _team_residual(membership: np.ndarray, capacity: np.ndarray, open_leads: np.ndarray) -> np.ndarray:
    """int (T,): each capped team's cap less its members' open leads (never below 0); -1 = no cap."""
    held = membership.astype(np.int64) @ open_leads.astype(np.int64)
    return np.where(capacity >= 0, np.maximum(capacity - held, 0), -1)


def _account_groups(keys: Sequence[str]) -> np.ndarray:
    """Group index per lead: leads sharing an account key (parent, else account) share a group."""
    index: dict[str, int] = {}
    return np.array(
        [index.setdefault(k, len(index)) if k else UNASSIGNED for k in keys], dtype=np.int64
    )
