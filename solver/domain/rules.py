"""The routing-rule language: teams, derived lead fields and rules on any lead field.

What a policy file may say (the compact form; `solver.compile.rules` states what it means)::

    teams:
      - id: enterprise
        members: [R1, R2]                 # and/or member_filter: {rep_attribute: region, in: [EMEA]}
        capacity: 40                      # optional: the team's total open effort
        rules: [...]                      # optional: rules that touch only the team's members
    derived:
      segment: {from: employees, thresholds: [[200, SMB], [2000, MM]], above: ENT}
    routing_rules:
      - name: public sector to gov team
        when: {industry: {in: [Public Sector, Government]}}
        then: {admit: {team: government}}         # mode defaults to hard (prefer: soft)
      - name: big and likely
        when: ["employees >= 2000", "probability >= 20"]
        then: {prefer: {ranked: [{reps: [R1]}, {team: enterprise}]}}
        weight: 0.3

`when` (all must hold): a mapping of lead field -> test, a string such as
``"employees >= 2000"`` / ``"email present"``, or a list of these. A test is a
scalar (equals), a list (in), a string led by an operator (``">= 2000"``) or a
mapping of operators, all of which apply (``{ge: 200, lt: 2000}``): equals,
not_equals (not), in, not_in, gt, ge, lt, le, between ([low, high], ``inclusive:
both|left|right|neither``, default both), present / absent (``present: true``),
and the options ``case_sensitive`` (false) and ``trim`` (true). Equals / in whose
values are all numbers compare numerically; other text compares trimmed, folded.

A target (`admit`, `exclude`, `prefer`) names ``team`` / ``teams`` and/or
``reps``, or a ``rep_attribute`` with ``in: [...]`` (the rep lists one of them)
or ``lead_field: f`` (the rep's list holds the lead's f; a rep whose list has no
plain entry or holds ``*`` takes any value, ``!x`` entries refuse x), or, for
prefer only, ``ranked: [target, ...]`` tiers. A derived field maps a number to a
label: ``v < 200`` -> SMB, ``200 <= v < 2000`` -> MM, ``v >= 2000`` -> ENT;
blank or a no-value marker (``n/a``, ``-``, ``unknown``, ...) -> ``missing`` (default "");
other text is an error naming the lead's row (guessing would misroute).

Caught here, naming the rule and the field: an unknown operator, a wrong type, an
empty set, conditions that can never hold, an unknown team. Lead fields, reps and
rep attributes come with the data: `solver.compile.rules` checks those.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from solver.domain.columns import closest
from solver.domain.errors import InputError
from solver.domain.fields import INTEGER, MAX_CAPACITY, NUMBER
from solver.domain.modes import RuleMode
from solver.domain.rule_syntax import (
    OP_ALIASES,
    ORDER_OPS,
    SET_OPS,
    Op,
    Step,
    as_text,
    empty_interval,
    error_path,
    fail,
    is_number,
    never_holds,
    number,
    parse_when,
    path_field,
)

__all__ = ["ORDER_OPS", "SET_OPS", "Action", "Condition", "Derived", "Op", "RoutingRule", "RuleSet",
           "Target", "Team", "as_text", "is_number", "load_rule_set", "never_holds", "parse_when"]



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    """One test of one lead field. Canonical form: ``{field, op, value}``."""

    field: Annotated[str, Field(min_length=1)]
    op: Op
    texts: tuple[str, ...] = ()  # equals / not_equals / in / not_in on text
    numbers: tuple[float, ...] = ()  # ordering ops; equals / in when every value is a number
    inclusive: Literal["both", "left", "right", "neither"] = "both"  # between only
    case_sensitive: bool = False
    trim: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_value(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "value" not in data:
            return data
        data = dict(data)
        value, op = data.pop("value"), OP_ALIASES.get(str(data.get("op")), data.get("op"))
        data["op"] = op
        if op in ("present", "absent"):
            return data
        if op in ("gt", "ge", "lt", "le"):
            data["numbers"] = (number(value, op),)
        elif op == "between":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise fail(f"between needs [low, high], got {value!r}")
            data["numbers"] = tuple(number(v, "between") for v in value)
        else:
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if op in ("equals", "not_equals") and len(values) != 1:
                raise fail(f"{op} takes one value; use {'in' if op == 'equals' else 'not_in'} for a set")
            if bad := [v for v in values if isinstance(v, (dict, list, tuple)) or v is None]:
                raise fail(f"{op} compares with text or numbers, got {bad[0]!r}")
            if values and all(is_number(v) for v in values):
                data["numbers"] = tuple(float(v) for v in values)
            else:
                data["texts"] = tuple(as_text(v) for v in values)
        return data

    @model_validator(mode="after")
    def _arity(self) -> Condition:
        op, given = self.op, len(self.texts) + len(self.numbers)
        if op in (Op.PRESENT, Op.ABSENT) and given:
            raise fail(f"{op} takes no value")
        if op in ORDER_OPS and (self.texts or len(self.numbers) != (2 if op is Op.BETWEEN else 1)):
            raise fail(f"{op} needs {'two numbers' if op is Op.BETWEEN else 'a number'}")
        if op in SET_OPS and not given:
            raise fail(f"{op} needs a non-empty set of values")
        if self.texts and self.numbers:
            raise fail("values are either all text or all numbers")
        if op is Op.BETWEEN and empty_interval(self.interval()):
            raise fail(f"between {list(self.numbers)} ({self.inclusive}) can never hold")
        return self

    def interval(self) -> tuple[float, bool, float, bool]:
        """(low, low included, high, high included): the numbers an ordering op admits."""
        inf = math.inf
        if self.op is Op.BETWEEN:
            lo, hi = self.numbers
            return lo, self.inclusive in ("both", "left"), hi, self.inclusive in ("both", "right")
        x = self.numbers[0]
        return {Op.GT: (x, False, inf, False), Op.GE: (x, True, inf, False),
                Op.LT: (-inf, False, x, False), Op.LE: (-inf, False, x, True)}[self.op]

    def norm(self, text: str) -> str:
        """Text as this condition compares it (the same folding the compiler applies to leads)."""
        text = text.strip() if self.trim else text
        return text if self.case_sensitive else text.lower()


class Target(_Strict):
    """Which reps an action names: teams and/or reps, or reps by an attribute, or ranked tiers."""

    teams: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    rep_attribute: str | None = None
    values: tuple[str, ...] = Field((), alias="in")  # the rep's attribute lists one of these
    lead_field: str | None = None  # the rep's attribute lists the lead's value of this field
    ranked: tuple[Target, ...] = ()  # prefer only: tier 0 first

    @model_validator(mode="before")
    @classmethod
    def _sugar(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for one, many in (("team", "teams"), ("rep", "reps"), ("equals", "in")):
            if one in data:
                data[many] = data.pop(one)
        for key in ("teams", "reps", "in"):
            if isinstance(data.get(key), (str, int, float)):
                data[key] = [data[key]]
            if isinstance(data.get(key), list):
                data[key] = [as_text(v) for v in data[key]]
        return data

    @model_validator(mode="after")
    def _one_form(self) -> Target:
        if (self.values or self.lead_field) and self.rep_attribute is None:
            raise fail("in / lead_field need a rep_attribute")
        forms = [bool(self.teams or self.reps), self.rep_attribute is not None, bool(self.ranked)]
        if sum(forms) != 1:
            raise fail("a target names teams/reps, or a rep_attribute, or ranked tiers (one of them)")
        if self.rep_attribute is not None and bool(self.values) == bool(self.lead_field):
            raise fail(f"rep_attribute {self.rep_attribute!r} needs either in: [...] or lead_field")
        if any(t.ranked or t.lead_field for t in self.ranked):
            raise fail("a ranked tier names teams, reps or rep_attribute with in: [...]")
        return self

    def team_ids(self) -> set[str]:
        return set(self.teams).union(*(t.teams for t in self.ranked))

    def tiers(self) -> tuple[tuple[Target, tuple[Step, ...]], ...]:
        """This target and its ranked tiers, each with its path under the action (`("ranked", 1)`)."""
        return ((self, ()), *((t, ("ranked", k)) for k, t in enumerate(self.ranked)))


class Action(_Strict):
    kind: Literal["admit", "exclude", "prefer"]
    target: Target


class RoutingRule(_Strict):
    """A rule: when every condition holds for a lead, the action applies to it."""

    name: Annotated[str, Field(min_length=1)]
    when: tuple[Condition, ...] = ()
    then: Action
    # None: hard for admit and exclude, soft for prefer (a preference is soft by nature).
    mode: RuleMode | None = None
    weight: Annotated[float, NUMBER, Field(gt=0, le=1, allow_inf_nan=False)] | None = None  # share lost
    group: str | None = None  # hard admits of one group OR together; default: by target kind
    final: bool = False  # a lead this hard admit takes skips later admits of its group

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_rule(cls, data: Any, handler: Any) -> RoutingRule:
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(data, dict) and not name:
            # Rules are named in explanations and validate's report: a rule needs its name first.
            raise fail("every rule needs a name (name: ...), used in explanations and reports")
        if isinstance(data, dict):
            try:
                data = {**data, "when": parse_when(data.get("when")), "then": _action(data.get("then"))}
            except PydanticCustomError as exc:
                raise fail(f"rule {name!r}: {exc.message()}") from None
        try:
            rule: RoutingRule = handler(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
            if err["loc"][:1] == ("when",) and len(err["loc"]) > 1 and isinstance(err["loc"][1], int):
                cond = data["when"][err["loc"][1]]  # a dict here: parse_when made it
                where = f"field {cond.get('field') if isinstance(cond, dict) else cond.field!r}"
            raise fail(f"rule {name!r}: {where}: {err['msg']}") from None
        return rule

    @model_validator(mode="after")
    def _consistent(self) -> RoutingRule:
        if self.then.kind == "prefer" and self.mode is RuleMode.HARD:
            raise fail(f"rule {self.name!r}: prefer is soft; use admit for a hard rule")
        if self.then.target.ranked and self.then.kind != "prefer":
            raise fail(f"rule {self.name!r}: ranked tiers are for prefer")
        for field in {c.field for c in self.when}:
            why = never_holds(tuple(c for c in self.when if c.field == field))
            if why:
                raise fail(f"rule {self.name!r}: field {field!r}: the conditions can never hold ({why})",
                           at=("when",))
        return self

    @property
    def effective_mode(self) -> RuleMode:
        return self.mode or (RuleMode.SOFT if self.then.kind == "prefer" else RuleMode.HARD)


def _action(raw: Any) -> Any:
    if not isinstance(raw, dict) or "kind" in raw:
        return raw
    if len(raw) != 1 or next(iter(raw)) not in ("admit", "exclude", "prefer"):
        raise fail(f"then needs exactly one of admit, exclude, prefer; got {sorted(raw)}")
    ((kind, target),) = raw.items()
    return {"kind": kind, "target": target}


class Team(_Strict):
    """A set of reps with an optional cap on their total open effort and rules of its own."""

    id: Annotated[str, Field(min_length=1)]
    members: tuple[str, ...] = ()
    member_filter: Target | None = None  # rep_attribute with in: [...]
    # The same bounds as a rep's capacity (10**30 overflowed numpy: exit 1; `true` is no number).
    capacity: Annotated[int, INTEGER, Field(ge=0, le=MAX_CAPACITY)] | None = None
    rules: tuple[RoutingRule, ...] = ()  # apply to (and only touch) the team's members

    @model_validator(mode="after")
    def _has_members(self) -> Team:
        f = self.member_filter
        if f is not None and not (f.rep_attribute and f.values):
            raise fail(f"team {self.id!r}: member_filter needs rep_attribute and in: [...]")
        if not self.members and f is None:
            raise fail(f"team {self.id!r}: give members or a member_filter")
        return self


class Derived(_Strict):
    """A label from a number: the first threshold the value is below, else `above`."""

    source: str = Field(alias="from")
    thresholds: tuple[tuple[Annotated[float, NUMBER, Field(allow_inf_nan=False)],
                            Annotated[str, Field(min_length=1)]], ...]
    above: Annotated[str, Field(min_length=1)]
    missing: str = ""  # the label of a blank value or a no-value marker (n/a, -, unknown, ...)

    @model_validator(mode="after")
    def _increasing(self) -> Derived:
        bounds = [t for t, _ in self.thresholds]
        if not bounds or any(b <= a for a, b in itertools.pairwise(bounds)):
            raise fail(f"thresholds must be one or more strictly increasing numbers, got {bounds}")
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        return (*(label for _, label in self.thresholds), self.above)


class RuleSet(_Strict):
    """The teams, derived fields and routing rules of one policy."""

    teams: tuple[Team, ...] = ()
    derived: dict[str, Derived] = Field(default_factory=dict)
    routing_rules: tuple[RoutingRule, ...] = ()

    def scoped_rules(self) -> tuple[tuple[RoutingRule, str | None], ...]:
        """Every rule with the team it is scoped to (None: all reps): policy rules first."""
        return tuple((r, team) for r, team, _ in self._rules())

    def located_rules(self) -> tuple[tuple[RoutingRule, tuple[Step, ...]], ...]:
        """Every rule with its path in the policy document (`("teams", 0, "rules", 1)`), in the
        order of `scoped_rules`: for an error to name the rule's line."""
        return tuple((r, at) for r, _, at in self._rules())

    def _rules(self) -> tuple[tuple[RoutingRule, str | None, tuple[Step, ...]], ...]:
        return (*((r, None, ("routing_rules", i)) for i, r in enumerate(self.routing_rules)),
                *((r, t.id, ("teams", k, "rules", i)) for k, t in enumerate(self.teams)
                  for i, r in enumerate(t.rules)))

    def inputs(self) -> tuple[set[str], set[str]]:
        """(the lead fields, the rep attributes) the rules read (derived labels left out)."""
        fields = {d.source for d in self.derived.values()}
        attributes = {t.member_filter.rep_attribute for t in self.teams if t.member_filter}
        for rule, _ in self.scoped_rules():
            target = rule.then.target
            fields |= {c.field for c in rule.when} | {f for f in [target.lead_field] if f}
            attributes |= {t.rep_attribute for t in (target, *target.ranked)}
        return fields - set(self.derived), {a for a in attributes if a is not None}

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        """Cross-checks over the set, each error at the line of what it is about (the second of
        two teams or rules of one name, the key naming an unknown team, the rule's `when`)."""
        ids = [t.id for t in self.teams]
        if (twice := _second(ids)) is not None:
            raise fail(f"team {ids[twice]!r} is defined twice", at=("teams", twice, "id"))
        located = self.located_rules()
        names = [r.name for r, _ in located]
        if (twice := _second(names)) is not None:
            # Policy rules come before the teams' here, not always in the file: the reader, which
            # has the lines, points at the later of the two and names the other's line.
            rule, at = located[twice]
            first = located[names.index(rule.name)][1]
            raise fail(f"rule {rule.name!r}: two rules share this name", at=(*at, "name"),
                       also=(*first, "name"))
        for rule, at in located:
            for target, tier in rule.then.target.tiers():
                if unknown := [t for t in target.teams if t not in ids]:
                    raise fail(f"rule {rule.name!r}: field 'team': {unknown_team(unknown[0], ids)}",
                               at=(*at, "then", rule.then.kind, *tier, TEAM_KEYS))
            for c in rule.when:
                derived = self.derived.get(c.field)
                if derived is not None:
                    _check_derived_test(rule.name, c, derived, at=(*at, "when"))
        return self


# The keys a target may name its teams and its reps with (`Target._sugar`): a document path's step.
TEAM_KEYS = ("team", "teams")
REP_KEYS = ("rep", "reps")


def unknown_team(name: str, known: Collection[str]) -> str:
    """What to say of a team name that is no team of the policy, with the closest one's name."""
    return f"no team {name!r} in teams{did_you_mean(name, known)}"


def did_you_mean(name: str, known: Collection[str]) -> str:
    """`; did you mean 'x'?` for the one of `known` that `name` is most likely a typo of, or ""."""
    near = closest(name, known)
    return f"; did you mean {near!r}?" if near else ""


def _second(names: list[str]) -> int | None:
    """The index of the first name given before (its repeat: the one to point at); None if none is."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            return i
        seen.add(name)
    return None


def _check_derived_test(rule: str, c: Condition, derived: Derived, at: tuple[Step, ...]) -> None:
    """A derived field holds one of its labels: numeric tests and unknown labels are mistakes."""
    if c.numbers:
        raise fail(f"rule {rule!r}: field {c.field!r}: a derived label is text, not a number", at=at)
    labels = {c.norm(x) for x in (*derived.labels, derived.missing)}
    if c.op in (Op.EQUALS, Op.IN) and not labels & {c.norm(t) for t in c.texts}:
        raise fail(f"rule {rule!r}: field {c.field!r}: can never hold; the labels are "
                    f"{', '.join(derived.labels)}", at=at)


def load_rule_set(data: Mapping[str, Any], *, file: str | None = None) -> RuleSet:
    """Validate the rule keys of a policy document; an error names the file, the rule and the field."""
    try:
        return RuleSet.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise InputError(message, file=file, field=path_field(error_path(err))) from None
