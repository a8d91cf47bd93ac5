"""The compact syntax of routing-rule conditions (`solver.domain.rules`): operators and their parsing.

`parse_when` turns the forms a policy may write (``"employees >= 2000"``,
``{industry: {in: [A, B]}}``, ``"email present"``) into canonical condition
dicts; `never_holds` finds conditions on one field that no value can pass.
Kept apart from the record types so each module stays readable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic_core import ErrorDetails, PydanticCustomError


class Op(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    BETWEEN = "between"
    PRESENT = "present"
    ABSENT = "absent"


ORDER_OPS = frozenset({Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN})
SET_OPS = frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN})
OP_ALIASES = {"eq": "equals", "=": "equals", "==": "equals", "ne": "not_equals", "!=": "not_equals",
            "not": "not_equals", ">": "gt", ">=": "ge", "<": "lt", "<=": "le"}
_OPTIONS = ("case_sensitive", "trim", "inclusive")
_SUGAR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|==|=|>|<)\s*(.*?)\s*$")
_LEADING_OP = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(.*?)\s*$")
_PRESENCE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s+(?:is\s+)?(present|absent)\s*$", re.IGNORECASE)


# A step of a document path: a key, a list item's index, or a key's spellings (`("team", "teams")`).
Step = str | int | tuple[str, ...]
# Maps a path of the data validated to where its file writes it (a scenario's variant).
Locate = Callable[[tuple[Step, ...]], tuple[Step, ...]]


def fail(message: str, at: tuple[Step, ...] = (), also: tuple[Step, ...] = ()) -> PydanticCustomError:
    """A validator's error. `at` is where in the document it is, when the validator knows better
    than pydantic's loc (a cross-check over the whole policy: the second rule of a name, the key
    naming an unknown team), relative to the model that raises it: `error_path` reads it back.
    `also` is a second place the error is about (the first of two rules of one name), relative to
    the same model: `error_also` reads it back, for the reader to name its line."""
    ctx = {**({"at": at} if at else {}), **({"also": also} if also else {})}
    return PydanticCustomError("rule", message, ctx or None)


def error_path(err: ErrorDetails) -> tuple[Step, ...]:
    """Where in the document a validation error is: its loc, followed by the path its validator
    gave (`fail(..., at=...)`) if it gave one."""
    return (*err["loc"], *(err.get("ctx") or {}).get("at", ()))


def error_also(err: ErrorDetails) -> tuple[Step, ...] | None:
    """The second place a validation error is about (`fail(..., also=...)`), as a path from the
    document's root like `error_path`'s; None if it gave none."""
    also = (err.get("ctx") or {}).get("also")
    return (*err["loc"], *also) if also else None


def path_field(path: Sequence[Step]) -> str | None:
    """A document path as an error's field: its keys (a key's first spelling) and list items'
    indices, from 0 (`routing_rules[2].then.admit.team`)."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            name = step if isinstance(step, str) else step[0]
            out = f"{out}.{name}" if out else name
    return out or None


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_text(value: object) -> str:
    """A YAML scalar as the text a CSV cell would hold (3 -> "3", true -> "true")."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value).strip()


def number(value: object, what: str) -> float:
    x = _scalar(value) if isinstance(value, str) else value
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    raise fail(f"{what} needs a number, got {value!r}")



def empty_interval(iv: tuple[float, bool, float, bool]) -> bool:
    lo, lo_in, hi, hi_in = iv
    return lo > hi or (lo == hi and not (lo_in and hi_in))


def within(iv: tuple[float, bool, float, bool], x: float) -> bool:
    lo, lo_in, hi, hi_in = iv
    return (lo < x or (lo == x and lo_in)) and (x < hi or (x == hi and hi_in))


def _sugar_value(op: str, rest: str, written: str) -> str | float:
    """The value after an operator of the compact form; one that starts with an operator's sign is a
    mistyped operator ('=>' read as '=' and '> 1000', a test no lead passes), not a value."""
    if rest[:1] in ("<", ">", "=", "!"):
        raise fail(f"cannot read condition {written!r}: {op + rest[0]!r} is no operator; use one of "
                   f">=, <=, !=, ==, =, >, < (for a value that starts with {rest[0]!r}: "
                   "{field: {equals: ...}})")
    return _scalar(rest)


def _parse_test(field: str, spec: Any) -> list[dict[str, Any]]:
    """One `when` entry (field -> test) in canonical condition dicts."""
    if isinstance(spec, str) and (m := _LEADING_OP.match(spec)):
        return [{"field": field, "op": m[1], "value": _sugar_value(m[1], m[2], f"{field}: {spec}")}]
    if isinstance(spec, list):
        return [{"field": field, "op": "in", "value": spec}]
    if not isinstance(spec, dict):
        if spec is None:
            raise fail(f"field {field!r}: no test given (use absent: true for a blank field)")
        return [{"field": field, "op": "equals", "value": spec}]
    options = {k: spec[k] for k in _OPTIONS if k in spec}
    ops = [(k, v) for k, v in spec.items() if k not in _OPTIONS]
    if not ops:
        raise fail(f"field {field!r}: no operator given")
    out = []
    for key, arg in ops:
        op = OP_ALIASES.get(key, key)
        if op not in Op.__members__.values():
            known = ", ".join(o.value for o in Op)
            raise fail(f"field {field!r}: unknown operator {key!r}; expected one of {known}")
        if op == "not_equals" and isinstance(arg, list):
            op = "not_in"
        if op in ("present", "absent"):
            if not isinstance(arg, bool):
                raise fail(f"field {field!r}: {op} takes true or false, got {arg!r}")
            flipped = "absent" if op == "present" else "present"  # present: false is absent
            out.append({"field": field, "op": op if arg else flipped, **options})
        else:
            out.append({"field": field, "op": op, "value": arg, **options})
    return out


def _scalar(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


def parse_when(raw: Any) -> list[Any]:
    """The compact `when` forms as canonical condition dicts (Condition objects pass through)."""
    items = [] if raw is None else raw if isinstance(raw, (list, tuple)) else [raw]
    out: list[Any] = []
    for item in items:
        if isinstance(item, BaseModel) or (isinstance(item, dict) and {"field", "op"} <= item.keys()):
            out.append(item)
        elif isinstance(item, dict):
            for field, spec in item.items():
                out += _parse_test(str(field), spec)
        elif isinstance(item, str) and (m := _PRESENCE.match(item)):
            out.append({"field": m[1], "op": m[2].lower()})
        elif isinstance(item, str) and (m := _SUGAR.match(item)):
            out.append({"field": m[1], "op": m[2], "value": _sugar_value(m[2], m[3], item)})
        else:
            raise fail(f"cannot read condition {item!r}; write e.g. 'employees >= 2000' "
                        "or {industry: {in: [A, B]}}")
    return out


class ConditionLike(Protocol):
    """What `never_holds` reads of a condition (`solver.domain.rules.Condition`)."""

    @property
    def op(self) -> Op: ...
    @property
    def texts(self) -> tuple[str, ...]: ...
    @property
    def numbers(self) -> tuple[float, ...]: ...
    def interval(self) -> tuple[float, bool, float, bool]: ...
    def norm(self, text: str) -> str: ...


def never_holds(conditions: Sequence[ConditionLike]) -> str | None:
    """Why conditions on one field can never hold together (None if they can)."""
    ops = {c.op for c in conditions}
    if Op.ABSENT in ops and ops - {Op.ABSENT, Op.NOT_EQUALS, Op.NOT_IN}:
        return "absent beside a test that needs a value"
    lo, lo_in, hi, hi_in = -math.inf, False, math.inf, False
    allowed: set[float] | None = None
    for c in conditions:
        if c.op in ORDER_OPS:
            a, a_in, b, b_in = c.interval()
            lo, lo_in = max((lo, lo_in), (a, a_in), key=lambda p: (p[0], not p[1]))
            hi, hi_in = min((hi, hi_in), (b, b_in), key=lambda p: (p[0], p[1]))
        elif c.op in (Op.EQUALS, Op.IN) and c.numbers:
            allowed = set(c.numbers) if allowed is None else allowed & set(c.numbers)
    if empty_interval((lo, lo_in, hi, hi_in)):
        return "the numeric bounds leave no value"
    if allowed is not None and not any(within((lo, lo_in, hi, hi_in), x) for x in allowed):
        return "no listed number passes every test"
    sets = [{c.norm(t) for t in c.texts} for c in conditions if c.op in (Op.EQUALS, Op.IN) and c.texts]
    refused = {c.norm(t) for c in conditions if c.op in (Op.NOT_EQUALS, Op.NOT_IN) for t in c.texts}
    if sets and not set.intersection(*sets) - refused:
        return "no listed value passes every test"
    return None
