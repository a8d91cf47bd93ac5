"""Field types shared by the records (`solver.domain.model`): ids, bounded numbers, list items.

Every loader (CSV, JSON, YAML, scenario files) and the service build the same
pydantic records, so a rule written here holds at every boundary at once.

Numbers: JSON and YAML carry `true`/`false`, which pydantic would read as 1
and 0; a flag in a number field is a mistake in the source, so it is refused.
Numeric text ("12", "1.5") still loads, as every CSV cell is text.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from solver.domain.ids import id_key, normalize_id

# The bounds, each past any real figure and small enough that nothing downstream overflows:
# Leads a rep holds or may hold (capacity, open_leads) and a lead's effort: a million is past
# any team, and keeps loads, sums over a batch and the solvers' integer models inside int64
# (capacity 1e20 and open_leads 2^63 used to pass and then crash the solvers).
MAX_CAPACITY = 10**6
# A lead's value, in money: a trillion is past the largest deal ever signed (~1e11), and keeps
# the total of a million leads (1e18) finite and inside int64 once scaled; 1.7e308 passed and
# became an infinite expected value (invalid JSON, a pricing LP that failed silently).
MAX_LEAD_VALUE = 1e12
# Ratios between reps: a quota weight or a skill multiplier a million (weights) or a thousand
# (skills) times another's is past any plan or learned figure; an expected value stays
# below 1e15 (value x skill), where floats still count single units of money.
MIN_QUOTA_WEIGHT, MAX_QUOTA_WEIGHT = 1e-6, 1e6
MIN_SKILL, MAX_SKILL = 1e-3, 1e3
MAX_SENIORITY = 1000
# Characters that separate items in other tools' exports: inside one list item or skill key
# they mean the wrong separator was used (CSV lists are ';'-separated).
WRONG_SEPARATORS = (",", "|")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not true/false")
    try:
        number = float(value) if isinstance(value, str) else value
    except ValueError:
        return value  # not numeric text: pydantic says so
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("Input should be a finite number")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not true/false")
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1e30 from JSON: checked against the bound, not "too big to parse"
    return value


def _optional_id(value: str) -> str:
    return normalize_id(value) if value.strip() else ""


# Put first in a number field's Annotated metadata: refuse true/false (and NaN, infinity),
# pass the rest on to pydantic's own parsing and bounds.
NUMBER = BeforeValidator(_number)
INTEGER = BeforeValidator(_integer)

# An id (leads, reps, accounts, owners): the rule of `solver.domain.ids`, stored normalized.
Id = Annotated[str, AfterValidator(normalize_id)]
# An id that may be left empty (account, parent account, owner).
OptionalId = Annotated[str, AfterValidator(_optional_id)]


def _list_items(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        for sep in WRONG_SEPARATORS:
            if sep in item:
                raise ValueError(f"{item!r} holds {sep!r}: list items are separated by ';' in CSV "
                                 f"(by ',' in a ';'-delimited CSV; separate items in JSON/YAML)")
    return value


def _skill_keys(value: dict[str, float]) -> dict[str, float]:
    seen: dict[str, str] = {}
    for key in value:
        for sep in (*WRONG_SEPARATORS, ":", ";"):
            if sep in key:
                raise ValueError(f"skill {key!r} holds {sep!r}: skills are key:multiplier, "
                                 f"separated by ';' in CSV")
        if id_key(key) in seen:
            raise ValueError(f"skill {key!r} given twice (also as {seen[id_key(key)]!r})")
        seen[id_key(key)] = key
    return value


# A list field of a rep (territories, industries, products, segments).
Items = Annotated[tuple[str, ...], AfterValidator(_list_items)]
# Multipliers keyed by industry or product.
Skills = Annotated[
    dict[str, Annotated[float, NUMBER, Field(ge=MIN_SKILL, le=MAX_SKILL, allow_inf_nan=False)]],
    AfterValidator(_skill_keys),
]
