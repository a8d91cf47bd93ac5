"""Reading other tools' column names: a column mapping, presets, value aliases (policy `columns:`).

A CRM export names its columns its own way (`Lead ID`, `Owner`, `Region`,
`Amount`). The mapping says which column gives which field::

    columns:
      preset: salesforce            # or hubspot: the product's default export headers
      leads: {id: Lead ID, owner_id: Owner, territory: Region, value: Amount}
      reps: {id: Email}
      aliases: {territory: {emea: EMEA, Europe: EMEA}}
      match_case: true              # a lead's emea takes the reps' spelling EMEA
      defaults: {value: 0}          # a blank (or absent) lead field

A mapped field names one column or a list of columns in order: each record
takes the first of those the file has whose cell is not blank (`Country`, else
`State/Province` where the Country cell is blank), and the others stay
attributes. Columns the preset names but the file lacks are skipped; a field
whose columns named by the user are all missing from the file is an error
naming the file and the field. A column the file already calls by the field's
own name wins over a preset, with no fallback.
Columns match fields, mapped columns and the attributes rules read ignoring case
and surrounding spaces (`Territory` is `territory`). A
target that is no field of the record becomes an attribute under that name
(`employees: No. of Employees`), which rules can read. The same section may
be given as its own file (`--columns FILE`); it overrides the policy's.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from solver.domain.errors import InputError
from solver.domain.presets import PRESET_DEFAULTS, PRESETS

Kind = Literal["leads", "reps"]
# field -> (the columns that may hold it, in order; named by the user, not a preset)
Wanted = dict[str, tuple[tuple[str, ...], bool]]
# (a field, ((the key of each of its columns in a renamed record, the export column), ...) in order)
Fill = tuple[str, tuple[tuple[str, str], ...]]
_Name = Annotated[str, Field(min_length=1)]
# How alike (difflib's ratio) a mapping target and a field must be for the target to be a typo:
# catches `territry`, `valu`, `products` on leads, `time_zone`; leaves `sub_industry`, `urgency`.
_TYPO_CUTOFF = 0.85


def fold(text: str) -> str:
    """How labels and column names are compared: trimmed, case-folded."""
    return text.strip().casefold()


def closest(value: str, names: Collection[str], cutoff: float = 0.6) -> str | None:
    """The one of `names` that `value` is most likely a typo of (compared folded; difflib's ratio at
    least `cutoff`), as `names` spells it; None if none is that close. For a "did you mean".
    """
    spelled = {fold(n): n for n in names}
    near = difflib.get_close_matches(fold(value), list(spelled), n=1, cutoff=cutoff)
    return spelled[near[0]] if near else None


class ColumnMap(BaseModel):
    """The policy's `columns:` section, or a `--columns` file (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Literal["salesforce", "hubspot"] | None = None
    leads: dict[_Name, _Name | tuple[_Name, ...]] = Field(default_factory=dict)
    reps: dict[_Name, _Name | tuple[_Name, ...]] = Field(default_factory=dict)
    aliases: dict[_Name, dict[str, str]] = Field(default_factory=dict)
    match_case: bool = True
    defaults: dict[_Name, str] = Field(default_factory=dict)

    @field_validator("defaults", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):  # `value: 0` in YAML is a number: held as the cell text
            return {k: v if isinstance(v, str) or v is None or isinstance(v, (dict, list)) else str(v)
                    for k, v in value.items()}
        return value

    def merged(self, other: ColumnMap | None) -> ColumnMap:
        """This mapping with `other`'s settings over it (a --columns file over the policy's)."""
        if other is None:
            return self
        given = other.model_fields_set
        aliases = {**self.aliases, **{f: {**self.aliases.get(f, {}), **a} for f, a in other.aliases.items()}}
        return ColumnMap(
            preset=other.preset if "preset" in given else self.preset,
            leads={**self.leads, **other.leads}, reps={**self.reps, **other.reps}, aliases=aliases,
            match_case=other.match_case if "match_case" in given else self.match_case,
            defaults={**self.defaults, **other.defaults})

    def wanted(self, kind: Kind) -> Wanted:
        """Each mapped field with its candidate columns: the preset's, then the user's over them."""
        out: Wanted = {f: (c, False) for f, c in PRESETS.get(self.preset or "", {}).get(kind, {}).items()}
        for field, cols in getattr(self, kind).items():
            out[field] = ((cols,) if isinstance(cols, str) else tuple(cols), True)
        return out

    def mistyped_target(self, fields: Mapping[Kind, Collection[str]]) -> tuple[str, str] | None:
        """(`kind.target`, the field meant) for the first target that is no field but one in
        another case or a letter or two off (`territry`, `Territory`); None if there is none.

        Such a target would become an attribute nobody reads, leaving the field empty on every
        record. Targets far from every field (`employees`) are attributes, as documented.
        """
        for kind in ("leads", "reps"):
            by_fold = {fold(f): f for f in fields[kind]}
            for target in getattr(self, kind):
                if target in fields[kind]:
                    continue
                near = difflib.get_close_matches(fold(target), list(by_fold), n=1, cutoff=_TYPO_CUTOFF)
                if near:
                    return f"{kind}.{target}", by_fold[near[0]]
        return None

    def lead_defaults(self) -> dict[str, str]:
        return {**PRESET_DEFAULTS.get(self.preset or "", {}), **self.defaults}

    def describe(self) -> str:
        """One line: the preset and the user's mappings (for `validate`)."""
        parts = [f"preset {self.preset}"] if self.preset else []
        for kind in ("leads", "reps"):
            for field, cols in getattr(self, kind).items():
                parts.append(f"{kind}.{field} <- {cols if isinstance(cols, str) else ' | '.join(cols)}")
        parts += [f"{len(table)} aliases for {field}" for field, table in self.aliases.items()]
        if not self.match_case:
            parts.append("match_case off")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's columns are read: which is renamed to which field, and which fill a field where
    its own column is blank on a record."""

    renames: dict[str, str]  # {export column: field, or a rule's spelling of an attribute}
    # {field: the export columns it is read from, in order (the first renamed), where more than one}
    fallbacks: dict[str, tuple[str, ...]]

    def sources(self) -> dict[str, str]:
        """{field: the export column renamed to it} where the two names differ beyond case."""
        return {field: column for column, field in self.renames.items() if fold(column) != fold(field)}

    def fills(self) -> list[Fill]:
        """The fallbacks as a renamed record holds them: (field, ((key, export column), ...)) for
        each of its columns in order (the first is the field itself, unless the field's own column
        is listed after it)."""
        return [(field, tuple((self.renames.get(c, c), c) for c in columns))
                for field, columns in self.fallbacks.items()]


def plan_renames(header: Sequence[str], wanted: Wanted, *, file: str,
                 names: Collection[str] = ()) -> ColumnPlan:
    """The renames ({export column: field}) and fallbacks for a file's header; the user's columns
    must be there (one of a list of them).

    A field mapped to several columns the file has is renamed from the first; the others are its
    fallbacks, in order. A list may name the field's own column anywhere (`territory: [Region,
    territory]`): then nothing is renamed to the field and the list's order holds, row by row (a
    preset's list does not: a column of the field's own name wins over a preset). A column that
    equals one of `names` (the record's fields, the attributes rules read) up to case and
    surrounding spaces takes that spelling: CRM exports write `Territory`, `ID`, `Value`. The
    header's names must be distinct under that comparison (the caller checks).
    """
    own = {fold(n): n for n in names}
    folded = {fold(h) for h in header}
    by_fold = {fold(h): h for h in reversed(header)}
    plan: dict[str, str] = {}
    fallbacks: dict[str, tuple[str, ...]] = {}
    for field, (candidates, explicit) in wanted.items():
        present = tuple(dict.fromkeys(h for c in candidates if (h := by_fold.get(fold(c))) is not None))
        found = present[0] if present else None
        if found is None and explicit:
            names_read = " or ".join(repr(c) for c in candidates)
            raise InputError(f"the column mapping reads {names_read}, which the file does not have "
                             f"(its columns: {', '.join(header)})", file=file, row="header", field=field)
        if found is None:
            continue
        if found != field:
            if fold(found) != fold(field) and fold(field) in folded:
                if explicit and any(fold(c) == fold(field) for c in candidates):  # the list's order
                    fallbacks[field] = present
                    continue
                if explicit:
                    raise InputError(f"both the column {by_fold[fold(field)]!r} and the mapped column "
                                     f"{found!r} give this field: drop one, or the mapping", file=file,
                                     row="header", field=field)
                continue  # the file already speaks the data contract
            if found in plan:
                if explicit:
                    raise InputError(f"the column {found!r} is mapped to both {plan[found]!r} and "
                                     f"{field!r}", file=file, row="header", field=field)
                continue
            plan[found] = field
        if len(present) > 1:
            fallbacks[field] = present
    for column in header:
        name = own.get(fold(column))
        if name is not None and name != column and column not in plan:
            plan[column] = name
    return ColumnPlan(plan, fallbacks)


def repeated_column(header: Sequence[str]) -> tuple[str, str] | None:
    """The first two columns (or keys) of `header` that are one name up to case and spaces."""
    seen: dict[str, str] = {}
    for column in header:
        if fold(column) in seen:
            return seen[fold(column)], column
        seen[fold(column)] = column
    return None


def missing_column_hint(field: str, wanted: Wanted) -> str:
    """' (read from A or B)' when a mapping names the columns a missing field comes from."""
    if field not in wanted:
        return ""
    return f" (read from {' or '.join(repr(c) for c in wanted[field][0])})"


def known_columns(wanted: Wanted, fields: Collection[str]) -> set[str]:
    """Folded names a header may hold: the fields and every mapped column (delimiter sniffing)."""
    return {fold(c) for c in fields} | {fold(c) for cols, _ in wanted.values() for c in cols}
