"""Quota scenarios: a team, a lead stream, a response model and the policies to compare.

A scenario file (YAML) is validated once, here, into a `Scenario`. Variants
are named overrides of any field of the file, merged into the raw mapping
before validation, so a variant is checked exactly like the base::

    variants:
      capacity 30:
        team: {set: {capacity: 30}}        # nested mappings merge key by key
      +2 EMEA reps:
        team.add_reps:                     # a dotted key names a nested field
          - {id: E9, territories: [EMEA], capacity: 20}

Relative paths in a scenario (a reps file, the CRM data folder) are relative
to the scenario file. Every error is an `InputError` naming the file and the
field (and the variant); errors in a reps file name its row. This module is
configuration only: the team and the lead stream a scenario describes are
built in `solver.sim.stream`.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from solver.domain.availability import parse_timezone
from solver.domain.errors import InputError
from solver.domain.ids import id_key
from solver.domain.io import document_error, file_text, input_error_from, load_reps, parse_document
from solver.domain.model import POLICY_NAMES, Policy, Rep, check_unique_ids, known_segments
from solver.domain.policy_checks import check_policy_reps
from solver.domain.rule_syntax import Locate, Step

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

# The policies CRMs ship: simulated assigning on arrival (see Scenario.baselines_on_arrival).
BASELINE_POLICIES = ("round_robin", "weighted_round_robin", "least_loaded", "random", "rules")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_zone(value: str) -> str:
    parse_timezone(value)
    return value


class TeamSpec(_Spec):
    """The sales team: reps (a file or inline records), edits for variants, quotas, calendars."""

    reps: str | list[dict[str, Any]] | None = None  # None only with a `crm` source
    add_reps: list[dict[str, Any]] = Field(default_factory=list)
    remove_reps: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict)  # a field set on every rep, e.g. capacity
    quota: Positive = 100_000.0  # revenue quota per rep over the horizon
    quota_by_segment: dict[str, Positive] = Field(default_factory=dict)  # reps serving the segment
    quotas: dict[str, Positive] = Field(default_factory=dict)  # per rep id, wins over the above
    # Quota sets the fair share: quota_weight = quota / mean quota (as sales ops set shares).
    quota_sets_weight: bool = True
    # Fields given to every rep that leaves them at the default, e.g. a team-wide
    # timezone and working_hours ("09:00-17:30" = weekdays; see solver.domain.availability).
    defaults: dict[str, Any] = Field(default_factory=dict)
    # False: the router sees no skills (every multiplier 1); outcomes still follow them.
    router_skills: bool = True

    @field_validator("quota_by_segment")
    @classmethod
    def _segments(cls, value: dict[str, float]) -> dict[str, float]:
        return known_segments(value)


class ValueDist(_Spec):
    """Lognormal deal value: median and sigma of log value."""

    median: Positive
    sigma: NonNegative = 0.8


class ScoreDist(_Spec):
    """Beta-distributed lead score (propensity)."""

    a: Positive = 2.0
    b: Positive = 3.0


def _mix(value: dict[str, float]) -> dict[str, float]:
    if any(w < 0 for w in value.values()) or (value and sum(value.values()) <= 0):
        raise ValueError("mix weights must be >= 0 with a positive total")
    return value


class StreamSpec(_Spec):
    """Synthetic lead traffic: arrivals per weekday and hour, mixes and distributions."""

    leads_per_week: Positive = 500.0
    weekday_weights: list[NonNegative] = Field(default_factory=lambda: [1, 1, 1, 1, 1, 0.15, 0.1])
    hour_weights: list[NonNegative] = Field(
        default_factory=lambda: [0.2] * 7 + [0.6, 1, 1.3, 1.4, 1.3, 1, 1.2, 1.3, 1.2, 1, 0.8, 0.5]
        + [0.3] * 5
    )
    timezone: str = "UTC"  # the clock the arrival profile is written in
    territory: dict[str, NonNegative] = Field(default_factory=dict)  # label -> weight
    industry: dict[str, NonNegative] = Field(default_factory=dict)
    product: dict[str, NonNegative] = Field(default_factory=dict)
    segment: dict[str, NonNegative] = Field(default_factory=dict)
    value: ValueDist = Field(default_factory=lambda: ValueDist(median=10_000))
    value_by_segment: dict[str, ValueDist] = Field(default_factory=dict)
    score: ScoreDist = Field(default_factory=ScoreDist)
    urgent_share: Share = 0.05
    repeat_rate: Share = 0.2  # share of leads from an account that already sent one

    _zone = field_validator("timezone")(_check_zone)
    _mixes = field_validator("territory", "industry", "product", "segment")(_mix)

    @field_validator("weekday_weights")
    @classmethod
    def _week(cls, value: list[float]) -> list[float]:
        if len(value) != 7 or sum(value) <= 0:
            raise ValueError("expected 7 weights (Monday..Sunday) with a positive total")
        return value

    @field_validator("hour_weights")
    @classmethod
    def _day(cls, value: list[float]) -> list[float]:
        if len(value) != 24 or sum(value) <= 0:
            raise ValueError("expected 24 weights (hour 0..23) with a positive total")
        return value

    @field_validator("segment", "value_by_segment")
    @classmethod
    def _known_segments(cls, value: dict[str, Any]) -> dict[str, Any]:
        return known_segments(value)


class ResponseSpec(_Spec):
    """How fast reps answer, how speed turns into wins, and how long a lead stays open.

    First response (in the rep's working time) is lognormal around a median
    that depends on the rep and its queue; a lead arriving outside the rep's
    hours waits for the next working minute. Two queue models:

    - untouched queue (opt in by setting `handling_minutes`): the median is
      ``base + handling x (untouched leads the rep holds when it gets the lead)``,
      where base and handling are the rep's own: the scenario's values times a
      lognormal pace drawn once per rep (`rep_speed_sigma`; 0 = identical reps),
      or the rep's `response_minutes` / `handling_minutes` given in the team;
    - open leads (the default, as scenario files before it behave): the median
      is ``base_minutes + minutes_per_open_lead x open leads`` for every rep.

    The router sees each rep's base and handling times `estimate_factor` (its
    model may be wrong; what happens is the truth above). Win probability is
    ``min(1, score * skill) * (floor + (1 - floor) * 0.5 ** (t / half_life))``
    for a first response after t minutes: minutes matter, hours cost most of it.
    """

    base_minutes: Positive = 10.0
    # Per untouched lead queued ahead; None = the open-leads model with minutes_per_open_lead.
    handling_minutes: NonNegative | None = None
    minutes_per_open_lead: NonNegative = 2.0
    rep_speed_sigma: NonNegative = 0.0  # spread of the reps' pace (lognormal sigma)
    speed_seed: Annotated[int, Field(ge=0)] = 0  # the reps' pace draws (fixed per scenario)
    estimate_factor: Positive = 1.0  # the router's response/handling = the truth x this
    sigma: NonNegative = 0.7
    half_life_minutes: Positive = 30.0
    floor: Share = 0.15
    sla_minutes: Positive = 60.0  # a first response later than this is an SLA breach
    work_days: Positive = 3.0  # median calendar days from first response to release
    work_sigma: NonNegative = 0.5
    stale_check_minutes: Positive = 15.0  # how often the simulated ops job reassigns stale leads

    @property
    def untouched_queue(self) -> bool:
        """True: the untouched-queue model (handling_minutes set); False: open leads."""
        return self.handling_minutes is not None


class CrmSource(_Spec):
    """Team and lead stream from the Maven CRM export: learn before `cutoff`, replay after."""

    data: str  # folder with sales_pipeline.csv, sales_teams.csv, accounts.csv, products.csv
    cutoff: date  # deals engaged before: history to learn from; from it on: the replayed stream
    prior_strength: Positive = 20.0  # pseudo-deals pulling a rep's win rates to the team mean
    capacity: Annotated[int, Field(ge=0)] = 40


class Scenario(_Spec):
    """A validated scenario (one variant of a file)."""

    name: str
    description: str = ""
    start: datetime = datetime(2024, 3, 4, tzinfo=ZoneInfo("UTC"))  # a Monday
    horizon_days: Positive = 28.0
    team: TeamSpec = Field(default_factory=TeamSpec)
    stream: StreamSpec = Field(default_factory=StreamSpec)
    crm: CrmSource | None = None
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    policy: Policy = Field(default_factory=Policy)
    policies: list[str] = Field(default_factory=lambda: ["round_robin", "flow"])
    baseline: str = ""  # defaults to the first policy
    # Every optimizer is compared, paired by seed, with each of these that the scenario runs.
    references: list[str] = Field(default_factory=lambda: ["round_robin", "least_loaded"])
    # Baseline policies (what CRMs ship) assign on arrival (batch.max_wait_s 0); optimizers use
    # the policy's batch window. False: every policy uses the policy's window.
    baselines_on_arrival: bool = True
    seeds: Annotated[int, Field(ge=1)] = 5
    fairness_sweep: list[NonNegative] = Field(default_factory=lambda: [0, 0.1, 0.3, 1, 3, 10])
    sweep_policy: str = "flow"  # the optimizer whose fairness weight the trade-off curve sweeps
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    variant: str = "base"  # which variant this object is (set by the loader)
    base_dir: str = "."  # folder of the scenario file (set by the loader)
    file: str = ""  # the scenario file as given (set by the loader): what errors name

    @property
    def where(self) -> str:
        """What an error names: the scenario's file, or its name when it was built in code."""
        return self.file or self.name

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2024-03-04T00:00:00+00:00")
        return value

    @field_validator("policies")
    @classmethod
    def _known_policies(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in POLICY_NAMES]
        if unknown:
            raise ValueError(f"unknown policy {unknown[0]!r}; expected some of {', '.join(POLICY_NAMES)}")
        if not value:
            raise ValueError("name at least one policy")
        return value

    @field_validator("references")
    @classmethod
    def _known_references(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in POLICY_NAMES]
        if unknown:  # a reference the scenario does not run is skipped; a misspelt one is an error
            raise ValueError(f"unknown policy {unknown[0]!r}; expected some of {', '.join(POLICY_NAMES)}")
        return value

    @model_validator(mode="after")
    def _links(self) -> Scenario:
        if self.baseline and self.baseline not in self.policies:
            raise ValueError(f"baseline {self.baseline!r} is not one of the policies")
        if self.sweep_policy not in POLICY_NAMES:
            raise ValueError(f"unknown sweep_policy {self.sweep_policy!r}")

        if self.crm is None and self.team.reps is None:
            raise ValueError("team.reps is required (a reps file or inline records) without a crm source")
        return self

    @property
    def baseline_policy(self) -> str:
        return self.baseline or self.policies[0]

    def batch_wait_s(self, policy: str) -> float:
        """The micro-batch window `policy` runs with: 0 (on arrival) for a CRM's baseline policy."""
        if self.baselines_on_arrival and policy in BASELINE_POLICIES:
            return 0.0
        return self.policy.batch.max_wait_s

    def path(self, relative: str) -> Path:
        """A path from the scenario file resolved against the scenario's folder."""
        return (Path(self.base_dir) / relative).resolve()

    def with_policies(self, policies: list[str]) -> Scenario:
        """The scenario comparing other policies (e.g. from --policies), validated again."""
        data = self.model_dump()
        data["policies"] = policies
        if data["baseline"] not in policies:
            data["baseline"] = ""
        return _validate(data, file=self.where, variant=self.variant)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file and every variant (errors name file, variant, field)."""
    path = Path(path)
    raw = parse_document(path)
    if not isinstance(raw, dict):
        raise InputError("a scenario must be a mapping of keys to values", file=str(path))
    raw = {**raw, "base_dir": str(path.resolve().parent), "file": str(path)}
    raw.setdefault("name", path.stem)
    base = _validate(raw, file=str(path), variant=None)
    # Each variant (and its team edits) is checked now: a bad one found mid-run wastes the runs before it.
    _check_team(base, file=str(path))
    for name, overrides in base.variants.items():
        _check_team(variant_of(base, name, file=str(path)), file=str(path), overrides=overrides)
    return base


def variant_of(base: Scenario, name: str, *, file: str | None = None) -> Scenario:
    """The scenario with variant `name`'s overrides applied ('base' is the scenario itself)."""
    if name == "base":
        return base
    if name not in base.variants:
        raise InputError(f"unknown variant {name!r}", file=file or base.where, field="variants")
    data = base.model_dump(exclude={"variants"})
    data = merge(data, expand_dotted(base.variants[name]))
    data["variant"] = name
    return _validate(data, file=file or base.where, variant=name, overrides=base.variants[name])


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The scenario with dotted-key overrides applied (as a variant's), validated again.

    ``{"policy.speed.enabled": False}`` is the scenario with the router's speed model off.
    """
    if not overrides:
        return scenario
    data = merge(scenario.model_dump(exclude={"variants"}), expand_dotted(overrides))
    return _validate(data, file=scenario.where, variant=scenario.variant)


def variant_names(base: Scenario) -> list[str]:
    return ["base", *base.variants]


def expand_dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    """{'team.set.capacity': 30} -> {'team': {'set': {'capacity': 30}}} (nested keys expanded too)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        value = expand_dotted(value) if isinstance(value, dict) else value
        parts = str(key).split(".")
        node: dict[str, Any] = {parts[-1]: value}
        for part in reversed(parts[:-1]):
            node = {part: node}
        out = merge(out, node)
    return out


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key; any other value replaces the base's."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(data: dict[str, Any], *, file: str, variant: str | None,
              overrides: dict[str, Any] | None = None) -> Scenario:
    """The scenario `data` (a variant's: `overrides` merged in); an error names the file, its line
    (in the variant where the variant sets the field) and the field's path."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        text = file_text(file)
        if text is None:  # a scenario built in code
            err = input_error_from(exc, file, row=None)
        else:
            err = document_error(exc, file, text, locate=_in_variant(variant, overrides))
        raise _in_variant_error(variant, err) from None


def _in_variant(variant: str | None, overrides: dict[str, Any] | None) -> Locate:
    """Where the scenario file writes a path of a variant's data: under `variants: {name: ...}` as
    far as the variant's (dotted) keys set it, else where the base sets it."""
    def locate(path: tuple[Step, ...]) -> tuple[Step, ...]:
        node: Any = overrides
        written: list[Step] = []
        i = 0
        while isinstance(node, dict) and i < len(path):
            key = next((k for k in node if tuple(str(k).split(".")) ==
                        tuple(str(p) for p in path[i:i + len(str(k).split("."))])), None)
            if key is None:
                break
            written.append(key)
            node, i = node[key], i + len(str(key).split("."))
        return ("variants", str(variant), *written, *path[i:]) if written else path
    return locate


def _variant_prefix(variant: str | None) -> str:
    return f"variant {variant!r}: " if variant and variant != "base" else ""


def _in_variant_error(variant: str | None, err: InputError) -> InputError:
    """`err`, found in `variant`'s data, saying so."""
    return InputError(f"{_variant_prefix(variant)}{err.message}", file=err.file, row=err.row, line=err.line,
                      field=err.field)


def _check_team(scenario: Scenario, *, file: str, overrides: dict[str, Any] | None = None) -> None:
    """Apply the scenario's team edits to its listed reps, and check the reps its policy names
    against that team, so an error in either names `file` (and the policy's line, in the variant
    where the variant's `overrides` set it) before any run.

    A CRM scenario's base team is the CRM's agents, learned in `solver.sim.stream`
    (above this module): its edits are checked when its runs build the team.
    """
    if scenario.crm is None:
        reps = edit_team(scenario, *listed_reps(scenario), source=file)
        removed = {rep_id: f"team.remove_reps[{k}]" for k, rep_id in enumerate(scenario.team.remove_reps)}
        try:
            check_policy_reps(scenario.policy, reps, policy_file=file, at=("policy",),
                              locate=_in_variant(scenario.variant, overrides), removed=removed)
        except InputError as err:
            raise _in_variant_error(scenario.variant, err) from None


def listed_reps(scenario: Scenario) -> tuple[list[Rep], str]:
    """The reps `team.reps` lists (a reps file or inline records) and where they came from, for errors.

    A scenario with a data source (`crm`) has its team from the source: see `solver.sim.stream`.
    """
    if isinstance(scenario.team.reps, str):
        file = str(scenario.path(scenario.team.reps))
        return load_reps(file), file
    file = f"{scenario.where}: team.reps"
    return _inline_reps(scenario.team.reps or [], file), file


def edit_team(scenario: Scenario, reps: list[Rep], file: str, *, source: str | None = None) -> list[Rep]:
    """The base team `reps` (read from `file`) after the scenario's edits, with quota-derived weights.

    An error in an edit names `source` (default the scenario's file), the variant and the key,
    e.g. ``team.add_reps[0].id``: the edit is at
    fault, not the reps file.
    """
    team = scenario.team
    source = source or scenario.where
    check_unique_ids(reps, file=file, what="rep")
    added = []
    for index, record in enumerate(team.add_reps):
        try:
            added.append(Rep.model_validate(record))
        except ValidationError as exc:
            err = input_error_from(exc, source, row=None)
            key = _key(f"team.add_reps[{index}]", err.field)
            raise _edit_error(scenario, source, err.message, key) from None
    seen = {id_key(r.id): f"{file}, row {row}" for row, r in enumerate(reps, start=1)}
    for index, rep in enumerate(added):
        if id_key(rep.id) in seen:
            raise _edit_error(scenario, source, f"rep id {rep.id!r} is already in the team "
                              f"({seen[id_key(rep.id)]})", f"team.add_reps[{index}].id")
        seen[id_key(rep.id)] = f"team.add_reps[{index}]"
    reps = reps + added
    ids = {rep.id for rep in reps}
    for index, rep_id in enumerate(team.remove_reps):
        if rep_id not in ids:
            raise _edit_error(scenario, source, f"remove_reps names unknown rep {rep_id!r}",
                              f"team.remove_reps[{index}]")
    reps = [r for r in reps if r.id not in team.remove_reps]
    if not reps:
        raise _edit_error(scenario, source, "the team has no reps",
                          "team.remove_reps" if team.remove_reps else "team.reps")
    unknown = [k for k in team.quotas if k not in {r.id for r in reps}]
    if unknown:
        raise _edit_error(scenario, source, f"quota for unknown rep {unknown[0]!r}",
                          f"team.quotas.{unknown[0]}")
    if team.defaults:
        reps = _set_fields(reps, scenario, source, "team.defaults")
    if team.set:
        reps = _set_fields(reps, scenario, source, "team.set")
    if team.quota_sets_weight:
        quota = rep_quotas(scenario, reps)
        mean = sum(quota) / len(quota)
        reps = [r.model_copy(update={"quota_weight": q / mean}) for r, q in zip(reps, quota, strict=True)]
    return reps


def _edit_error(scenario: Scenario, source: str, message: str, key: str) -> InputError:
    """An error in the scenario's team edits: the scenario file, the variant and the key."""
    return InputError(f"{_variant_prefix(scenario.variant)}{message}", file=source, field=key)


def _key(prefix: str, field: str | None) -> str:
    return f"{prefix}.{field}" if field else prefix


def rep_quotas(scenario: Scenario, reps: list[Rep]) -> list[float]:
    """Revenue quota per rep over the horizon: per id, else the highest of its segments, else default.

    `edit_team` has checked that every id in `team.quotas` is one of `reps`.
    """
    team = scenario.team
    out = []
    for rep in reps:
        by_segment = [team.quota_by_segment[s] for s in rep.segments if s in team.quota_by_segment]
        out.append(team.quotas.get(rep.id, max(by_segment, default=team.quota)))
    return out


def _inline_reps(records: list[dict[str, Any]], file: str) -> list[Rep]:
    reps = []
    for row, record in enumerate(records, start=1):
        try:
            reps.append(Rep.model_validate(record))
        except ValidationError as exc:
            raise input_error_from(exc, file, row) from None
    return reps


def _set_fields(reps: list[Rep], scenario: Scenario, source: str, section: str) -> list[Rep]:
    """Set the fields of `section` (team.set or team.defaults) on every rep (defaults: where the
    rep left the field at its default), validated as the rep's record."""
    values: dict[str, Any] = getattr(scenario.team, section.removeprefix("team."))
    out = []
    for rep in reps:
        fields = rep.model_dump()
        update = {k: v for k, v in values.items()
                  if section == "team.set" or k not in Rep.model_fields
                  or fields.get(k) == Rep.model_fields[k].get_default(call_default_factory=True)}
        try:
            out.append(Rep.model_validate({**fields, **update}))
        except ValidationError as exc:
            err = input_error_from(exc, source, row=None)
            # The value is at fault, not the rep; the rep helps when a value fits only some reps.
            raise _edit_error(scenario, source, f"{err.message} (rep {rep.id!r})",
                              _key(section, err.field)) from None
    return out
