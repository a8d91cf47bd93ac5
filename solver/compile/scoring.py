"""Eligibility rules and the expected-value model, vectorized.

The rep side is compiled once into a `RepTable` (the online router keeps one
for the day); each batch of leads is then encoded against it with dictionary
look-ups and fancy indexing only.

Categorical fields (territory, industry, product, segment): each rep gets a
boolean row "lists label k" plus an "unrestricted" flag (empty list, or `*`
for territories). A lead's label becomes a code; the n x m rule mask of a
dimension is one fancy-index, ``covers[:, code].T | unrestricted``. A lead
whose label is empty or listed by no rep gets the extra last code, a column no
rep covers, so it matches only unrestricted reps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.domain.availability import RepCalendar
from solver.domain.model import Lead, Rep

if TYPE_CHECKING:  # rules imports this module's neighbours only; no cycle at run time
    from solver.compile.rules import CompiledRuleSet

RULE_DIMENSIONS = ("territory", "segment", "industry", "product")
_REP_LIST_FIELD = {
    "territory": "territories",
    "segment": "segments",
    "industry": "industries",
    "product": "products",
}


@dataclass(frozen=True)
class RepDimension:
    """The rep side of one rule dimension."""

    name: str
    index: dict[str, int]  # label -> code; code len(index) = empty or unlisted
    covers: np.ndarray  # bool (m, K + 1): rep lists label k; the last column is all False
    unrestricted: np.ndarray  # bool (m,): rep admits every label

    def codes(self, labels: Sequence[str]) -> np.ndarray:
        other = len(self.index)
        return np.fromiter((self.index.get(x, other) for x in labels), dtype=np.int64,
                           count=len(labels))


@dataclass(frozen=True)
class Dimension:
    """One rule dimension of a batch: lead codes against the rep side."""

    rep: RepDimension
    lead_label: tuple[str, ...]  # the lead's own label, for explanations
    lead_code: np.ndarray  # int (n,)

    @property
    def name(self) -> str:
        return self.rep.name

    def explicit(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool (n, m): the rep lists the lead's label explicitly (a specialist)."""
        return self.rep.covers[:, self.lead_code[rows]].T

    def admits(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool (n, m): the rule admits rep j for lead i."""
        return self.explicit(rows) | self.rep.unrestricted[None, :]


ALL_REPS_POOL = "all"  # the pool of a lead every rep may take (and of every lead without routing rules)


@dataclass(frozen=True)
class RotationState:
    """Where the round-robin rotations stand, one per pool: carried from one batch to the next.

    A CRM's rotation does not restart every batch, and it runs within each
    lead's pool: a team, or the set of reps its routing rules admit (the pool
    keys are `Problem.pool_keys`). The router keeps this state and passes it
    back in with the rep table; `to_dict` / `from_dict` give a plain mapping
    pool key -> {"pointer": rep index, "credits": {rep id: weight}} a store persists.
    """

    pointers: Mapping[str, int] = field(default_factory=dict)  # pool -> the rotation's next rep index
    credits: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # pool -> smooth WRR weights

    def pointer(self, pool: str = ALL_REPS_POOL) -> int:
        return self.pointers.get(pool, 0)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        pools = sorted(set(self.pointers) | set(self.credits))
        return {pool: {"pointer": int(self.pointers.get(pool, 0)),
                       "credits": {rep: float(c) for rep, c in self.credits.get(pool, {}).items()}}
                for pool in pools}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> RotationState:
        return cls(pointers={pool: int(v.get("pointer", 0)) for pool, v in data.items()},
                   credits={pool: {str(r): float(c) for r, c in v.get("credits", {}).items()}
                            for pool, v in data.items() if v.get("credits")})


@dataclass(frozen=True)
class RepTable:
    """Everything about the reps that does not depend on the leads, as arrays."""

    ids: tuple[str, ...]
    available: np.ndarray  # bool (m,)
    capacity: np.ndarray  # int (m,)
    open_leads: np.ndarray  # int (m,)
    quota_weight: np.ndarray  # float (m,)
    seniority: np.ndarray  # int (m,)
    dimensions: dict[str, RepDimension]
    skill_index: dict[str, int]  # skill key -> column; column len(index) = 1.0 for unknown keys
    skills: np.ndarray  # float (m, K + 1)
    rotation: RotationState = field(default_factory=RotationState)
    strategic_only: np.ndarray | None = None  # bool (m,): takes named accounts only; None = nobody
    # Every rep field and extra attribute (extra columns of the reps file), for the routing rules.
    attributes: Mapping[str, list[object]] = field(default_factory=dict)
    # The policy's rule set compiled against these reps (`solver.compile.routing.with_rules`),
    # so a router compiles the rep side once; None: compiled per batch.
    rules: CompiledRuleSet | None = None
    # Speed to lead (`solver.compile.speed`): each rep's own minutes to a first touch and per
    # queued lead (float (m,), NaN: the policy's), the leads it holds untouched (int (m,)), and
    # its shifts as of the batch (`RepCalendar.shifts`: wait, minutes left, gap; None: always on).
    response_minutes: np.ndarray | None = None
    handling_minutes: np.ndarray | None = None
    untouched: np.ndarray | None = None
    shifts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    pipeline_value: np.ndarray | None = None  # float (m,): value given in the fairness period

    @property
    def m(self) -> int:
        return len(self.ids)

    def skill_codes(self, keys: Sequence[str]) -> np.ndarray:
        other = len(self.skill_index)
        return np.fromiter((self.skill_index.get(k, other) for k in keys), dtype=np.int64,
                           count=len(keys))


def compile_reps(reps: Sequence[Rep]) -> RepTable:
    """Encode the reps once."""
    m = len(reps)
    dims = {name: _rep_dimension(name, reps) for name in RULE_DIMENSIONS}
    keys = sorted({k for r in reps for k in r.skills})
    skill_index = {k: c for c, k in enumerate(keys)}
    skills = np.ones((m, len(keys) + 1))
    for j, r in enumerate(reps):
        for k, mult in r.skills.items():
            skills[j, skill_index[k]] = mult
    return RepTable(
        ids=tuple(r.id for r in reps),
        available=np.fromiter((r.available for r in reps), dtype=bool, count=m),
        capacity=np.fromiter((r.capacity for r in reps), dtype=np.int64, count=m),
        open_leads=np.fromiter((r.open_leads for r in reps), dtype=np.int64, count=m),
        quota_weight=np.fromiter((r.quota_weight for r in reps), dtype=np.float64, count=m),
        seniority=np.fromiter((r.seniority for r in reps), dtype=np.int64, count=m),
        dimensions=dims,
        skill_index=skill_index,
        skills=skills,
        strategic_only=np.fromiter((r.strategic_only for r in reps), dtype=bool, count=m),
        attributes=_attribute_columns(reps),
        response_minutes=_minutes(reps, "response_minutes"),
        handling_minutes=_minutes(reps, "handling_minutes"),
        untouched=np.fromiter((r.untouched for r in reps), dtype=np.int64, count=m),
        pipeline_value=np.fromiter((r.pipeline_value for r in reps), dtype=np.float64, count=m),
    )


def at_time(table: RepTable, calendar: RepCalendar, now: datetime) -> RepTable:
    """`table` as of `now`: who is on shift (working hours, time zone, leave; the calendar holds
    each rep's `available` flag too) and, where any rep keeps a calendar, each rep's shifts for
    the speed model's wait (None: nothing depends on it)."""
    return replace(table, available=calendar.available(now),
                   shifts=calendar.shifts(now) if calendar.timed else None)


def _minutes(reps: Sequence[Rep], name: str) -> np.ndarray:
    """float (m,): a rep's own speed figure, NaN where it has none (the policy's default then)."""
    return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in reps],
                    dtype=np.float64)


def _attribute_columns(reps: Sequence[Rep]) -> dict[str, list[object]]:
    """Every rep field and extra attribute as given (`rules.compile_rule_set` splits the lists):
    a rule may read `seniority` or `industries` as well as a `languages` column."""
    own = {k: [getattr(r, k) for r in reps] for k in Rep.model_fields if k != "attributes"}
    extra = sorted({k for r in reps for k in r.attributes} - set(own))
    return {**own, **{k: [r.attributes.get(k, "") for r in reps] for k in extra}}


def _rep_dimension(name: str, reps: Sequence[Rep]) -> RepDimension:
    lists = [getattr(r, _REP_LIST_FIELD[name]) for r in reps]
    labels = sorted({x for lst in lists for x in lst if x != "*"})
    index = {label: k for k, label in enumerate(labels)}
    covers = np.zeros((len(reps), len(labels) + 1), dtype=bool)
    unrestricted = np.zeros(len(reps), dtype=bool)
    for j, lst in enumerate(lists):
        unrestricted[j] = not lst or (name == "territory" and "*" in lst)
        covers[j, [index[x] for x in lst if x != "*"]] = True
    return RepDimension(name, index, covers, unrestricted)


@dataclass(frozen=True)
class LeadColumns:
    """The fields of a batch of leads as columns, read in one pass over the records."""

    ids: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]  # rule dimension -> each lead's label
    owner_id: tuple[str, ...]
    account_key: tuple[str, ...]  # parent account, else account: the grouping key
    value: np.ndarray  # float (n,)
    score: np.ndarray  # float (n,)
    effort: np.ndarray  # int (n,)

    @classmethod
    def of(cls, leads: Sequence[Lead]) -> LeadColumns:
        rows = [
            (lead.id, lead.territory, lead.segment, lead.industry, lead.product, lead.owner_id,
             lead.parent_account_id or lead.account_id, lead.value, lead.score, lead.effort)
            for lead in leads
        ]
        cols = list(zip(*rows, strict=True)) if rows else [()] * 10
        ids, territory, segment, industry, product, owner, account, value, score, effort = cols
        return cls(
            ids=ids,
            labels={"territory": territory, "segment": segment, "industry": industry,
                    "product": product},
            owner_id=owner,
            account_key=account,
            value=np.array(value, dtype=np.float64),
            score=np.array(score, dtype=np.float64),
            effort=np.array(effort, dtype=np.int64),
        )


def encode_leads(table: RepTable, leads: LeadColumns) -> dict[str, Dimension]:
    """The batch's rule dimensions: each lead's label codes against the rep table."""
    return {
        name: Dimension(table.dimensions[name], labels, table.dimensions[name].codes(labels))
        for name, labels in leads.labels.items()
    }


def expected_value(table: RepTable, leads: LeadColumns) -> np.ndarray:
    """float (n, m): ``value_i * score_i * skill_j[industry_i] * skill_j[product_i]``."""
    industry = table.skill_codes(leads.labels["industry"])
    product = table.skill_codes(leads.labels["product"])
    base = leads.value * leads.score
    return base[:, None] * (table.skills[:, industry] * table.skills[:, product]).T
