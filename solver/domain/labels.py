"""A lead's labels in the reps' spelling, and the labels that match nothing (likely typos).

Routing compares a lead's territory, industry, product and segment with the
reps' lists exactly, so `emea` against a rep's `EMEA` used to leave the lead
unassigned with a reason that blamed another rule. Before validation, each
lead value goes through

1. the aliases of the column mapping (`aliases: {territory: {Europe: EMEA}}`,
   compared trimmed and case-folded; any lead field or attribute), then
2. case matching (`match_case`, on by default): a territory / industry /
   product / segment equal to a rep's label up to case and surrounding white
   space takes the rep's spelling (segments: SMB, MM, ENT).

`unmatched_values` then lists the lead values no rep lists and no rule names,
one line each naming file, row and field, with the closest known label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from solver.domain.columns import ColumnMap, closest, fold
from solver.domain.model import SEGMENTS, Lead, Policy, Rep, RuleMode

# Lead field -> the rep list it is matched against.
LABEL_FIELDS = {"territory": "territories", "industry": "industries", "product": "products",
                "segment": "segments"}
MAX_TYPO_LINES = 10


def rep_labels(reps: Sequence[Rep]) -> dict[str, dict[str, str]]:
    """Per lead field, {folded label: the reps' spelling} (`*` and `!x` entries left out)."""
    out: dict[str, dict[str, str]] = {f: {} for f in LABEL_FIELDS}
    out["segment"] = {fold(s): s for s in SEGMENTS}
    for rep in reps:
        for field, rep_field in LABEL_FIELDS.items():
            for label in getattr(rep, rep_field):
                if label != "*" and not label.startswith("!"):
                    out[field].setdefault(fold(label), label)
    return out


class Normalizer:
    """Applies the aliases and case matching to one lead's raw values (before validation)."""

    def __init__(self, reps: Sequence[Rep], columns: ColumnMap | None) -> None:
        columns = columns or ColumnMap()
        self.aliases = {field: {fold(k): v for k, v in table.items()}
                        for field, table in columns.aliases.items()}
        self.labels = rep_labels(reps) if columns.match_case else {}

    def __call__(self, values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        attributes = out.get("attributes")
        for field, table in self.aliases.items():
            holder = out if field in out else attributes if isinstance(attributes, dict) else None
            if holder is not None and isinstance(holder.get(field), str):
                holder[field] = table.get(fold(holder[field]), holder[field])
        for field, labels in self.labels.items():
            if isinstance(out.get(field), str):
                out[field] = labels.get(fold(out[field]), out[field])
        return out


def _in_use(policy: Policy, field: str) -> bool:
    modes = policy.rules
    if getattr(modes, field, RuleMode.OFF) is not RuleMode.OFF:
        return True
    return any(c.field == field for rule, _ in policy.rule_set.scoped_rules() for c in rule.when)


def _rule_labels(policy: Policy, field: str) -> set[str]:
    """Folded texts the rules compare `field` with."""
    return {fold(t) for rule, _ in policy.rule_set.scoped_rules() for c in rule.when
            if c.field == field for t in c.texts}


def unmatched_values(reps: Sequence[Rep], leads: Sequence[Lead], policy: Policy, *,
                     leads_file: str, columns: ColumnMap | None = None,
                     limit: int = MAX_TYPO_LINES) -> list[str]:
    """Warnings for lead labels that match no rep and no rule (at most `limit` lines, then a count).

    Only fields that route (their rule is not off, or a routing rule reads them),
    and only where no rep takes any value (an empty list, or `*` in territories).
    The hint is the closest rep label or alias spelling (`Germnay` -> `Germany`).
    """
    aliases = (columns or policy.column_map).aliases
    lines: list[str] = []
    more = 0
    checks = []
    for field, rep_field in LABEL_FIELDS.items():
        lists = [getattr(rep, rep_field) for rep in reps]
        if not _in_use(policy, field) or any(not lst or "*" in lst for lst in lists):
            continue
        spelled = {fold(x): x for lst in lists for x in lst if x != "*" and not x.startswith("!")}
        known = set(spelled) | _rule_labels(policy, field)
        checks.append((field, known, {**{fold(a): a for a in aliases.get(field, {})}, **spelled}))
    for row, lead in enumerate(leads, start=1):
        for field, known, spelled in checks:
            value = getattr(lead, field)
            if not value or fold(value) in known:
                continue
            if len(lines) >= limit:
                more += 1
                continue
            near = closest(value, list(spelled))
            hint = f" (did you mean {spelled[near]!r}?)" if near else ""
            lines.append(f"{leads_file}, row {row}, field {field!r}: {value!r} matches no rep or "
                         f"rule{hint}")
    if more:
        lines.append(f"{leads_file}: {more} more lead values match no rep or rule")
    return lines
