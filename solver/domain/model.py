"""Validated domain types: reps, leads and the policy configuration.

These are the records of DESIGN.md's data contract. Field validators check one
value; `check_references` checks links across records (unique ids, owners that
name a rep) once, after loading. Nothing downstream of `solver.compile.problem` sees
these objects: policies read compiled numpy arrays.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from solver.domain.availability import parse_date_range, parse_timezone, parse_working_hours
from solver.domain.caps import Caps
from solver.domain.columns import ColumnMap
from solver.domain.errors import InputError
from solver.domain.experiment import CHALLENGER, CONTROL, Experiment, merged
from solver.domain.fallback import Fallback
from solver.domain.fields import (
    INTEGER,
    MAX_CAPACITY,
    MAX_LEAD_VALUE,
    MAX_QUOTA_WEIGHT,
    MAX_SENIORITY,
    MIN_QUOTA_WEIGHT,
    NUMBER,
    Id,
    Items,
    OptionalId,
    Skills,
)
from solver.domain.ids import id_key
from solver.domain.modes import RuleMode
from solver.domain.rule_syntax import error_path, fail
from solver.domain.rules import Derived, RoutingRule, RuleSet, Team, unknown_team
from solver.domain.speed import Minutes, Speed

SEGMENTS = ("SMB", "MM", "ENT")
LeadSegment = Literal["SMB", "MM", "ENT", ""]
_LEAD_SEGMENTS: dict[str, LeadSegment] = {"SMB": "SMB", "MM": "MM", "ENT": "ENT", "": ""}
T = TypeVar("T", bound=Collection[str])


def lead_segment(text: str) -> LeadSegment:
    """`text` as a lead's segment (SMB, MM, ENT, or empty for unknown); ValueError otherwise."""
    try:
        return _LEAD_SEGMENTS[text]
    except KeyError:
        raise ValueError(f"unknown segment {text!r}; expected one of {', '.join(SEGMENTS)}") from None


def known_segments(value: T) -> T:
    """A pydantic check: every segment named (list items or mapping keys) is SMB, MM or ENT."""
    unknown = [s for s in value if s not in SEGMENTS]
    if unknown:
        raise ValueError(f"unknown segment {unknown[0]!r}; expected one of {', '.join(SEGMENTS)}")
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Rep(_Record):
    """A sales rep who can own leads."""

    id: Id
    name: str = ""
    territories: Items = ()
    industries: Items = ()
    products: Items = ()
    segments: Items = ()
    capacity: Annotated[int, INTEGER, Field(ge=0, le=MAX_CAPACITY)]
    open_leads: Annotated[int, INTEGER, Field(ge=0, le=MAX_CAPACITY)] = 0
    quota_weight: Annotated[float, NUMBER, Field(ge=MIN_QUOTA_WEIGHT, le=MAX_QUOTA_WEIGHT,
                                                 allow_inf_nan=False)] = 1.0
    available: bool = True
    skills: Skills = Field(default_factory=dict)
    seniority: Annotated[int, INTEGER, Field(ge=0, le=MAX_SENIORITY)] = 0
    # When the rep takes new leads (see solver.domain.availability): an IANA time zone,
    # local working hours ("09:00-17:30" = weekdays; "" = always) and inclusive
    # out-of-office date ranges "YYYY-MM-DD..YYYY-MM-DD".
    timezone: str = "UTC"
    working_hours: str = ""
    ooo: tuple[str, ...] = ()
    # Takes leads of named (strategic) accounts only (see Account.named).
    strategic_only: bool = False
    # Speed to lead (solver.domain.speed): the rep's own minutes to a first touch with nothing
    # queued and per untouched lead ahead (learned from the ledger's touches; None: the
    # policy's), and the leads it holds untouched now (the router counts its own).
    response_minutes: Minutes | None = None
    handling_minutes: Minutes | None = None
    untouched: Annotated[int, INTEGER, Field(ge=0, le=MAX_CAPACITY)] = 0
    # Value of the leads the rep was given in the fairness period (`fairness.measure: pipeline`)
    # before these; a router adds what its ledger holds.
    pipeline_value: Annotated[float, NUMBER, Field(ge=0, le=MAX_LEAD_VALUE * MAX_CAPACITY,
                                                   allow_inf_nan=False)] = 0.0
    # Any further attributes (extra columns of the reps file: countries, languages, region ...),
    # read by the routing rules; list values `;`-separated as in every list field.
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value

    @field_validator("working_hours")
    @classmethod
    def _valid_working_hours(cls, value: str) -> str:
        parse_working_hours(value)
        return value

    @field_validator("ooo")
    @classmethod
    def _valid_ooo(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_date_range(text)
        return value

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return known_segments(value)

    def skill(self, key: str | None) -> float:
        """The rep's multiplier for an industry or product (1.0 when unknown)."""
        return self.skills.get(key, 1.0) if key else 1.0


class Lead(_Record):
    """An incoming lead that needs exactly one owner."""

    id: Id
    created_at: datetime | None = None
    territory: str = ""
    industry: str = ""
    product: str = ""
    segment: LeadSegment = ""
    account_id: OptionalId = ""
    parent_account_id: OptionalId = ""
    value: Annotated[float, NUMBER, Field(ge=0, le=MAX_LEAD_VALUE, allow_inf_nan=False)]
    score: Annotated[float, NUMBER, Field(ge=0, le=1, allow_inf_nan=False)] = 1.0
    effort: Annotated[int, INTEGER, Field(ge=1, le=MAX_CAPACITY)] = 1
    urgent: bool = False
    owner_id: OptionalId = ""
    # Any further fields of the lead (extra columns: employees, country, probability ...),
    # read by the routing rules.
    attributes: dict[str, str] = Field(default_factory=dict)


class Account(_Record):
    """A customer account (an accounts file): its owner, its parent and whether it is named.

    A lead of a subsidiary with no owner goes to the owner of its parent account;
    a named (strategic) account goes to its named rep or team, and reps marked
    strategic-only take named accounts only.
    """

    id: Id
    name: str = ""
    owner_id: OptionalId = ""  # the rep who owns the account ("" = none)
    parent_id: OptionalId = ""  # the parent account ("" = none)
    named: bool = False  # a named / strategic account
    named_rep_id: OptionalId = ""  # who a named account goes to: a rep ...
    named_team_id: str = ""  # ... or a team of the policy


class Rules(_Record):
    """Which routing rules are hard, soft or off."""

    territory: RuleMode = RuleMode.HARD
    segment: RuleMode = RuleMode.HARD
    industry: RuleMode = RuleMode.OFF
    product: RuleMode = RuleMode.OFF
    account_owner: RuleMode = RuleMode.HARD
    # All leads of one account (or parent account) in a batch go to one owner.
    account_grouping: bool = False


class Fairness(_Record):
    """Balance of each rep's load against its quota-weighted share."""

    # Money per unit of squared deviation, relative to the leads' values: a million times
    # the money at stake is past any use (the sweeps stop at 3) and keeps penalties finite.
    weight: Annotated[float, NUMBER, Field(ge=0, le=1e6, allow_inf_nan=False)] = 0.0
    # count: open leads; value: open leads valued at the batch's mean lead; pipeline: the value
    # of the leads each rep was given over the last `period_days` (as sales teams count it:
    # the router reads it from its ledger; `Rep.pipeline_value` where there is none).
    measure: Literal["count", "value", "pipeline"] = "count"
    mode: Literal["penalty", "minmax"] = "penalty"
    period_days: Annotated[float, NUMBER, Field(gt=0, le=3660, allow_inf_nan=False)] = 30.0


DAY_S = 86_400.0
YEAR_HOURS = 8_760.0


class Batch(_Record):
    """Micro-batching of normal (non-urgent) leads in the online router."""

    # At most a million leads per batch and a day of waiting: past both, speed to lead is lost.
    max_size: Annotated[int, INTEGER, Field(ge=1, le=MAX_CAPACITY)] = 100
    # 0: decided at the next tick. Measured (benchmarks/simulate/speed_study.md, the batch-window
    # curve): expected revenue is highest at 0 s on the CRM replay (30 s costs 0.8%, 30 minutes
    # 28%); on the shifts team 0-120 s are within 0.7% of each other; past that every minute
    # held costs 1-2% at a 30-minute half-life. Leads that arrive together (a scheduled run's
    # file, a burst between the service's ticks) are still solved as one batch.
    max_wait_s: Annotated[float, NUMBER, Field(ge=0, le=DAY_S, allow_inf_nan=False)] = 0.0


class Sla(_Record):
    """Service level for first response: untouched leads move to another rep."""

    # Counted in the owner's working hours (around the clock for reps without hours).
    # Hours are bounded by a year (YEAR_HOURS): past that a lead is no longer followed up.
    first_touch_hours: Annotated[float, NUMBER, Field(gt=0, le=YEAR_HOURS, allow_inf_nan=False)] = 4.0
    # A lead moves at most this often; after that it stays with its last owner.
    max_reassignments: Annotated[int, INTEGER, Field(ge=0, le=1000)] = 2
    # A lead waiting in the router's backlog (no rep had room or was on shift) this many
    # wall-clock hours gets a final "unassigned" answer, for a person to pick up; None: it waits.
    max_backlog_hours: Annotated[float, NUMBER, Field(gt=0, le=YEAR_HOURS,
                                                      allow_inf_nan=False)] | None = None


class Pricing(_Record):
    """The online router's per-rep prices (LP duals over recent leads, `solver.online.fastpath`)."""

    # Leads expected before today's free capacity is released (a volume forecast for the
    # capacity cycle, counted down from the router's start or its last team update: the
    # service's reps reload starts a new cycle); the prices ration capacity over them. Past
    # the forecast, a tenth of it is still expected. None: as many as there is room,
    # which over-prices when capacity is ample: such prices only steer urgent leads between
    # reps, and the two rationing options below stay off. Err high: 25% high costs less
    # than 20% low.
    horizon_leads: Annotated[float, NUMBER, Field(gt=0, le=1e9, allow_inf_nan=False)] | None = None
    # With a forecast: micro-batches of the value-maximising solvers (flow, cpsat, greedy) use
    # the same prices, a seat costing its rep's price. The baselines stay unpriced.
    price_batches: bool = True
    # Where batches are priced: a lead worth less than the price of every eligible rep with
    # room waits in the backlog instead of taking a seat that later, better leads need.
    defer_below_price: bool = True


class PolicyNames(Collection[str]):
    """The names of the registered policies: what `Policy.solver` is checked against.

    Each policy is declared once, in `solver.policies.registry`, which sits above
    this layer: domain may not import it. So the registry publishes each name
    down into this catalogue as it registers (`declare`), and the validator
    reads it. Registration happens on any import of `solver` (its
    ``__init__`` imports the batch API, which imports every policy), so the
    catalogue is complete before any policy file or scenario is validated.
    Iteration is in sorted order, as `policy_names()` lists them.
    """

    def __init__(self) -> None:
        self._names: list[str] = []

    def declare(self, name: str) -> None:
        """Add a registered policy's name (the registry calls this, once per policy)."""
        if name not in self._names:
            bisect.insort(self._names, name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"PolicyNames({self._names!r})"


# Filled by `solver.policies.registry.register`; the only list of policy names in the package.
POLICY_NAMES = PolicyNames()


# The bounds of a solve's time limit (policy.time_limit_s, --time-limit): see Policy.time_limit_s.
MIN_TIME_LIMIT_S = 0.001
MAX_TIME_LIMIT_S = 3600.0


class Policy(_Record):
    """How leads are routed: the solver, the rules, fairness and solver limits."""

    solver: str = "flow"
    rules: Rules = Field(default_factory=Rules)
    soft_penalty: Annotated[float, NUMBER, Field(ge=0, le=1, allow_inf_nan=False)] = 0.25
    fairness: Fairness = Field(default_factory=Fairness)
    # Leads with score >= this go to the most senior rep in the `rules` cascade.
    high_score: Annotated[float, NUMBER, Field(ge=0, le=1, allow_inf_nan=False)] = 0.8
    # 0 to 2^31 - 1: what both numpy's generators and CP-SAT's int32 seed take (-1 crashed numpy).
    seed: Annotated[int, INTEGER, Field(ge=0, le=2**31 - 1)] = 0
    # Seconds per batch solve, the whole call (warm start and model build included), from
    # 0.001 to 3600: an hour per batch is past any scheduled run's window (1e300 was accepted
    # and ran on), and below a millisecond not even the warm start runs.
    time_limit_s: Annotated[float, NUMBER, Field(ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S,
                                         allow_inf_nan=False)] = 10.0
    # 0 means all available CPU cores; 256 is past any machine this runs on.
    workers: Annotated[int, INTEGER, Field(ge=0, le=256)] = 0
    batch: Batch = Field(default_factory=Batch)
    sla: Sla = Field(default_factory=Sla)
    pricing: Pricing = Field(default_factory=Pricing)
    # The routing-rule language (solver.domain.rules): teams, derived fields, rules on any field.
    teams: tuple[Team, ...] = ()
    derived: dict[str, Derived] = Field(default_factory=dict)
    routing_rules: tuple[RoutingRule, ...] = ()
    caps: Caps = Field(default_factory=Caps)  # intake over time (solver.domain.caps)
    speed: Speed = Field(default_factory=Speed)  # worth against time to first touch
    fallback: Fallback = Field(default_factory=Fallback)  # where unplaceable leads go
    # How the input files' columns and values are read (solver.domain.columns): the export's
    # column names, a CRM preset, value aliases. Top-level `aliases` is the same as columns.aliases.
    columns: ColumnMap = Field(default_factory=ColumnMap)
    aliases: dict[Annotated[str, Field(min_length=1)], dict[str, str]] = Field(default_factory=dict)
    # A control (this policy) against a challenger on live leads (solver.domain.experiment).
    experiment: Experiment | None = None

    @model_validator(mode="after")
    def _rules_refer_to_what_exists(self) -> Policy:
        self.rule_set  # noqa: B018  (validates the cross references: teams named by rules, derived labels)
        team_ids = {t.id for t in self.teams}
        for name in self.caps.teams:
            if name not in team_ids:
                raise fail(f"caps.teams: {unknown_team(name, team_ids)}", at=("caps", "teams", name))
        target = self.fallback.no_rule_match
        for where, t in (("no_rule_match", target), ("owner_inactive", self.fallback.owner_inactive)):
            if t is not None and t.team is not None and t.team not in team_ids:
                raise fail(f"fallback.{where}: {unknown_team(t.team, team_ids)}",
                           at=("fallback", where, "team"))
        if self.experiment is not None:
            try:
                self.arm_policy(CHALLENGER)
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(("experiment.challenger", *(str(p) for p in error["loc"])))
                message = error["msg"].removeprefix("Value error, ")
                # A list the challenger gives replaces the policy's: its indices are the challenger's.
                raise fail(f"{where}: {message}",
                           at=("experiment", "challenger", *error_path(error))) from None
        return self

    def arm_policy(self, arm: str) -> Policy:
        """The policy an experiment arm routes with (no experiment in it): this policy for the
        control, with the challenger's overrides for the challenger."""
        base = self.model_copy(update={"experiment": None})
        if arm == CONTROL or self.experiment is None:
            return base
        if arm != CHALLENGER:
            raise ValueError(f"unknown experiment arm {arm!r}; expected {CONTROL} or {CHALLENGER}")
        overrides = self.experiment.challenger
        return Policy.model_validate(merged(base.model_dump(exclude={"experiment"}), overrides))

    @property
    def rule_set(self) -> RuleSet:
        """The teams, derived fields and routing rules as one validated set."""
        return RuleSet(teams=self.teams, derived=self.derived, routing_rules=self.routing_rules)

    @property
    def column_map(self) -> ColumnMap:
        """`columns` with the top-level `aliases` merged in."""
        if not self.aliases:
            return self.columns
        return self.columns.merged(ColumnMap(aliases=self.aliases))

    @property
    def has_routing_rules(self) -> bool:
        return bool(self.teams or self.derived or self.routing_rules)

    @field_validator("solver")
    @classmethod
    def _known_solver(cls, value: str) -> str:
        if value not in POLICY_NAMES:
            raise ValueError(f"unknown solver {value!r}; expected one of {', '.join(POLICY_NAMES)}")
        return value


def check_unique_ids(records: Sequence[Rep | Lead | Account], *, file: str | None, what: str) -> None:
    """Ids must be unique within a file, and not differ only by case or character form.

    Rows are 1-based in file order. `L1` and `l1` in one file are almost always
    one record typed twice (or a typo), so both are refused, naming both rows.
    """
    seen: dict[str, tuple[int, str]] = {}
    for row, record in enumerate(records, start=1):
        key = id_key(record.id)
        if key in seen:
            first_row, first = seen[key]
            message = (f"duplicate {what} id {record.id!r} (first seen in row {first_row})"
                       if first == record.id else
                       f"{what} id {record.id!r} differs from {first!r} in row {first_row} only "
                       f"by case or character form: one {what} typed twice?")
            raise InputError(message, file=file, row=row, field="id")
        seen[key] = (row, record.id)


def check_owners(reps: Sequence[Rep], leads: Sequence[Lead], *, leads_file: str | None,
                 departed_ok: bool = False) -> list[int]:
    """Every lead's owner_id must name a known rep.

    With `departed_ok` (the policy has `fallback.owner_inactive`), an owner who is
    no rep is one who left: returns those rows (1-based) for the caller to warn about,
    and routing gives their leads the fallback. One that differs from a rep only by
    case is a typo either way.
    """
    rep_ids = {r.id for r in reps}
    by_key = {id_key(r.id): r.id for r in reps}
    departed: list[int] = []
    for row, lead in enumerate(leads, start=1):
        if lead.owner_id and lead.owner_id not in rep_ids:
            near = by_key.get(id_key(lead.owner_id))
            if departed_ok and near is None:
                departed.append(row)
                continue
            hint = f"; did you mean {near!r}?" if near else ""
            raise InputError(
                f"owner_id {lead.owner_id!r} names no rep in the reps file{hint}",
                file=leads_file,
                row=row,
                field="owner_id",
            )
    return departed
