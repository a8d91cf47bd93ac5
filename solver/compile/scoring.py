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

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from solver.domain.model import Lead, Rep

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


@dataclass(frozen=True)
class RotationState:
    """Where the round-robin rotations stand: carried from one batch to the next.

    A CRM's rotation does not restart every batch; the router keeps this state
    and passes it back in with the rep table.
    """

    pointer: int = 0  # the plain rotation starts at this rep index
    credit: np.ndarray | None = None  # smooth weighted round robin's current weights (m,)


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
    )


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
