"""Eligibility rules and the expected-value model, vectorized.

Categorical fields (territory, industry, product, segment) are encoded once as
integer codes: each lead gets one code per dimension, each rep a boolean row
"covers code k" plus an "unrestricted" flag (empty list, or `*` for
territories). The n x m rule mask of a dimension is then one fancy-index:
``covers[:, lead_code].T | unrestricted``. A lead with an empty field gets the
code of a column no rep covers, so it matches only unrestricted reps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.model import Lead, Rep

RULE_DIMENSIONS = ("territory", "segment", "industry", "product")
_REP_LIST_FIELD = {
    "territory": "territories",
    "segment": "segments",
    "industry": "industries",
    "product": "products",
}


@dataclass(frozen=True)
class Dimension:
    """One categorical rule dimension, encoded for vectorized matching."""

    name: str
    labels: tuple[str, ...]  # code -> label; the last code is the "empty" label ""
    lead_code: np.ndarray  # int (n,)
    rep_covers: np.ndarray  # bool (m, K): rep lists label k explicitly
    rep_unrestricted: np.ndarray  # bool (m,): rep admits every label

    def explicit(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool (n, m): the rep lists the lead's label explicitly (a specialist)."""
        return self.rep_covers[:, self.lead_code[rows]].T

    def admits(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool (n, m): the rule admits rep j for lead i."""
        return self.explicit(rows) | self.rep_unrestricted[None, :]


def encode_dimension(name: str, reps: Sequence[Rep], leads: Sequence[Lead]) -> Dimension:
    """Encode one rule dimension of reps and leads as integer codes."""
    rep_lists = [getattr(r, _REP_LIST_FIELD[name]) for r in reps]
    lead_labels = [getattr(lead, name) for lead in leads]
    labels = sorted({x for lst in rep_lists for x in lst if x != "*"} | set(lead_labels) - {""})
    labels.append("")  # the empty label: covered by nobody explicitly
    index = {label: k for k, label in enumerate(labels)}
    lead_code = np.fromiter((index[x] for x in lead_labels), dtype=np.int64, count=len(leads))
    covers = np.zeros((len(reps), len(labels)), dtype=bool)
    unrestricted = np.zeros(len(reps), dtype=bool)
    for j, lst in enumerate(rep_lists):
        if not lst or (name == "territory" and "*" in lst):
            unrestricted[j] = True
        covers[j, [index[x] for x in lst if x != "*"]] = True
    return Dimension(name, tuple(labels), lead_code, covers, unrestricted)


def skill_matrix(reps: Sequence[Rep], labels: Sequence[str]) -> np.ndarray:
    """float (m, K): each rep's skill multiplier for each label (1.0 where unknown or empty)."""
    return np.array([[r.skill(label) for label in labels] for r in reps], dtype=np.float64).reshape(
        len(reps), len(labels)
    )


def expected_value(
    reps: Sequence[Rep], leads: Sequence[Lead], industry: Dimension, product: Dimension
) -> np.ndarray:
    """float (n, m): ``value_i * score_i * skill_j[industry_i] * skill_j[product_i]``."""
    base = np.array([lead.value * lead.score for lead in leads], dtype=np.float64)
    skill_ind = skill_matrix(reps, industry.labels)[:, industry.lead_code]  # (m, n)
    skill_prod = skill_matrix(reps, product.labels)[:, product.lead_code]
    return base[:, None] * (skill_ind * skill_prod).T
