"""Routing rules (`solver.domain.rules`) compiled to eligibility and penalty arrays.

Two steps, like `scoring`: `compile_rule_set` encodes the rep side once (teams,
each rule's named reps); `evaluate` runs a batch of leads given as columns.
Every condition is one numpy operation over all leads: a text field is coded to
ints once per normalization (trimmed, case-folded unless a rule says otherwise),
a condition becomes a look-up table over the codes; numbers are parsed once per
field. Derived fields are computed first, with `np.searchsorted`.

Semantics, for lead i and rep j (a rule "applies" to a lead when every condition
holds, its mode is not off, and no earlier `final` rule of its group took the lead):

1. Hard admit rules fall in groups: by `group` if given, else by target kind
   ("reps" for teams and reps, "attribute:<name>" for a rep attribute), and by
   scope. Within a group the applying rules OR: lead i may go to the union of
   their named reps. A lead no rule of a group applies to is unrestricted by it
   (Salesforce / HubSpot: a lead no entry matches falls through). Groups AND:
   language and product admits must both hold. `final: true` makes a group
   first-match for the leads that rule takes (Salesforce's ordered entries).
2. Hard exclude rules always apply: a named rep is never eligible, whatever
   admitted it. So an exclusion stands beside a specialization.
3. Soft rules (admit, exclude, prefer; prefer is soft by default) each multiply
   the share of expected value kept by ``1 - weight`` where they are broken: an
   admit or prefer for the reps it does not name, an exclude for the reps it
   names. Weight defaults to the policy's `soft_penalty`. Ranked preferences keep
   ``1 - weight * tier / k`` for a rep in tier `tier` of k (0 first; none: tier k),
   so the first tier fills its capacity before the others share what is left.
4. A rule scoped to a team touches only the team's members.

Conditions: text equals / in / not_in after normalization; a blank field
equals nothing, is in no set, and passes not_equals / not_in (a blank is not
"A"). Numeric tests never match a blank; a non-blank value that is not a
number under a numeric test is an `InputError` naming the lead row and field
(silently not matching "2,000" would misroute). Rep attributes are `;`-separated
text or lists, compared trimmed and case-folded; with `lead_field`, a rep whose
list has no plain entry or holds `*` takes any value and `!x` refuses x; a
blank lead value matches only such open reps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from solver.compile.rule_leads import LeadTable, cell_text
from solver.domain.errors import InputError
from solver.domain.io import policy_place
from solver.domain.model import Lead, Rep, RuleMode
from solver.domain.rule_syntax import Step
from solver.domain.rules import (
    ORDER_OPS,
    REP_KEYS,
    Condition,
    Op,
    RoutingRule,
    RuleSet,
    Target,
    as_text,
    did_you_mean,
)


@dataclass(frozen=True)
class TeamTable:
    ids: tuple[str, ...]
    membership: np.ndarray  # bool (T, m)
    capacity: np.ndarray  # int (T,): the team's cap on open effort, -1 = none

    @property
    def disjoint_capped(self) -> bool:
        """No rep is in two capped teams: flow can route rep -> team -> sink."""
        return bool((self.membership[self.capacity >= 0].sum(axis=0) <= 1).all())


@dataclass(frozen=True)
class _Named:
    """The reps a target names: a fixed mask, or per lead by a lead field, or ranked tiers."""

    mask: np.ndarray | None = None  # bool (m,)
    lead_field: str | None = None
    labels: np.ndarray | None = None  # sorted folded attribute values (K,)
    takes: np.ndarray | None = None  # bool (K + 1, m): rep j takes label k (last row: any other)
    tier: np.ndarray | None = None  # int (m,): ranked tier, `tiers` for none
    tiers: int = 0

    def lead_codes(self, leads: LeadTable) -> np.ndarray | None:
        if self.lead_field is None or self.labels is None:
            return None
        vocab, codes = leads.codes(self.lead_field)
        k = len(self.labels)
        pos = np.minimum(np.searchsorted(self.labels, vocab), max(k - 1, 0))
        known = (self.labels[pos] == vocab) if k else np.zeros(len(vocab), dtype=bool)
        return np.where(known, pos, k)[codes]

    def rows(self, codes: np.ndarray | None) -> np.ndarray:
        """bool (n, m) or (m,): rep j is named for the leads with these codes."""
        if self.takes is not None and codes is not None:
            return self.takes[codes]
        if self.tier is not None:
            return self.tier < self.tiers
        assert self.mask is not None
        return self.mask


@dataclass(frozen=True)
class CompiledRuleSet:
    """A rule set encoded against the reps: compile once, evaluate each batch."""

    rule_set: RuleSet
    rules: tuple[RoutingRule, ...]  # every rule, policy rules first, then each team's
    rep_ids: tuple[str, ...]
    teams: TeamTable
    scope: np.ndarray  # bool (R, m): the reps each rule may touch
    named: tuple[_Named, ...]
    file: str | None = None


def rule_inputs(rule_set: RuleSet) -> tuple[set[str], set[str]]:
    """(the lead fields, the rep attributes) the rules read: all a batch needs to extract."""
    return rule_set.inputs()


def rep_attributes(reps: Sequence[Rep], extra: Mapping[str, Sequence[object]] | None = None,
                   names: set[str] | None = None) -> dict[str, list[tuple[str, ...]]]:
    """Rep fields as attributes (lists as they are, skills by key) and extra columns, or just `names`."""
    own = [k for k in Rep.model_fields if names is None or k in names]
    out = {k: [_split(getattr(rep, k)) for rep in reps] for k in own}
    return {**out, **{k: [_split(c) for c in col] for k, col in (extra or {}).items()}}


def lead_columns(leads: Sequence[Lead], extra: Mapping[str, Sequence[object]] | None = None,
                 names: set[str] | None = None) -> dict[str, Sequence[object]]:
    """Lead fields as text columns (blank for None), or just `names`; extra columns as given."""
    own = [k for k in Lead.model_fields if names is None or k in names]
    columns: dict[str, Sequence[object]] = {k: [cell_text(getattr(lead, k)) for lead in leads] for k in own}
    return {**columns, **(extra or {})}


def _split(cell: object) -> tuple[str, ...]:
    """An attribute value as its entries: a list, a mapping's keys or `;`-separated text."""
    if isinstance(cell, str):
        parts: Sequence[str] = cell.split(";")
    elif isinstance(cell, (list, tuple, dict)):
        parts = [p if isinstance(p, str) else as_text(p) for p in cell]
    else:
        parts = [] if cell is None else [as_text(cell)]
    return tuple(s for s in map(str.strip, parts) if s)


def compile_rule_set(rule_set: RuleSet, rep_ids: Sequence[str],
                     attributes: Mapping[str, Sequence[str | Sequence[str]]], *,
                     file: str | None = None) -> CompiledRuleSet:
    """Encode the rep side: team membership, each rule's scope and named reps.

    `attributes` maps a rep attribute to each rep's value, a list or `;`-separated text.
    """
    _, used = rule_inputs(rule_set)
    attrs = {k: [_split(v) for v in col] for k, col in attributes.items() if k in used}
    ids = tuple(rep_ids)
    index = {rep: j for j, rep in enumerate(ids)}
    m = len(ids)

    # `at`: where the policy names it (`Step`s), for the error's line.
    def reps_mask(names: Sequence[str], where: str, at: tuple[Step, ...]) -> np.ndarray:
        if unknown := [r for r in names if r not in index]:
            line, field = policy_place(file, at)
            raise InputError(f"{where}: no rep {unknown[0]!r} in the reps", file=file, line=line, field=field)
        mask = np.zeros(m, dtype=bool)
        mask[[index[r] for r in names]] = True
        return mask

    def attribute(name: str | None, where: str, at: tuple[Step, ...]) -> list[tuple[str, ...]]:
        if name is None or name not in attrs:
            line, field = policy_place(file, (*at, "rep_attribute"))
            raise InputError(f"{where}: the reps have no attribute {name!r} (they have "
                             f"{', '.join(sorted(attributes)) or 'none'})"
                             f"{did_you_mean(str(name), attributes)}", file=file, line=line, field=field)
        return attrs[name]

    def attribute_mask(target: Target, where: str, at: tuple[Step, ...]) -> np.ndarray:
        lists = attribute(target.rep_attribute, where, at)
        wanted = {v.lower() for v in target.values}
        return np.array([bool(wanted & {x.lower() for x in lst}) or "*" in lst for lst in lists], dtype=bool)

    membership = np.zeros((len(rule_set.teams), m), dtype=bool)
    for t, team in enumerate(rule_set.teams):
        membership[t] = reps_mask(team.members, f"team {team.id!r}", ("teams", t, "members"))
        if team.member_filter is not None:
            membership[t] |= attribute_mask(team.member_filter, f"team {team.id!r}",
                                            ("teams", t, "member_filter"))
    team_row = {team.id: t for t, team in enumerate(rule_set.teams)}

    def static(target: Target, where: str, at: tuple[Step, ...]) -> np.ndarray:
        if target.rep_attribute is not None:
            return attribute_mask(target, where, at)
        return (reps_mask(target.reps, where, (*at, REP_KEYS))
                | membership[[team_row[t] for t in target.teams]].any(axis=0))

    scoped = rule_set.scoped_rules()
    named: list[_Named] = []
    for rule, rule_at in rule_set.located_rules():
        target, where = rule.then.target, f"rule {rule.name!r}"
        at = (*rule_at, "then", rule.then.kind)
        if target.ranked:
            tier = np.full(m, len(target.ranked))
            for k, (tier_target, tier_at) in reversed(list(enumerate(target.tiers()[1:]))):
                tier[static(tier_target, where, (*at, *tier_at))] = k
            named.append(_Named(tier=tier, tiers=len(target.ranked)))
        elif target.lead_field is not None:
            named.append(_by_lead_field(attribute(target.rep_attribute, where, at),
                                        target.lead_field))
        else:
            named.append(_Named(mask=static(target, where, at)))
    scope = np.array([membership[team_row[t]] if t else np.ones(m, dtype=bool) for _, t in scoped],
                     dtype=bool).reshape(len(scoped), m)
    capacity = np.array([-1 if t.capacity is None else t.capacity for t in rule_set.teams], dtype=np.int64)
    return CompiledRuleSet(rule_set, tuple(r for r, _ in scoped), ids,
                           TeamTable(tuple(team_row), membership, capacity), scope, tuple(named), file)


def _by_lead_field(lists: list[tuple[str, ...]], lead_field: str) -> _Named:
    folded = [[x.lower() for x in lst] for lst in lists]
    labels = np.array(sorted({x.removeprefix("!") for lst in folded for x in lst if x != "*"}), dtype=str)
    k = {label: i for i, label in enumerate(labels)}
    takes = np.zeros((len(labels) + 1, len(lists)), dtype=bool)
    takes[:, [j for j, lst in enumerate(folded)  # open: no plain entry, or *; any value, blank too
              if "*" in lst or all(x.startswith("!") for x in lst)]] = True
    plain = [(k[x], j) for j, lst in enumerate(folded) for x in lst if x != "*" and x[:1] != "!"]
    refused = [(k[x[1:]], j) for j, lst in enumerate(folded) for x in lst if x[:1] == "!"]
    for pairs, value in ((plain, True), (refused, False)):  # refusals win
        if pairs:
            takes[tuple(np.array(pairs).T)] = value
    return _Named(lead_field=lead_field, labels=labels, takes=takes)


@dataclass(frozen=True)
class RuleEffect:
    """One rule's effect on one lead, for explanations."""

    rule: str
    action: str  # admit | exclude | prefer
    mode: str  # hard | soft
    weight: float | None  # soft: the share of value lost where broken
    reps: tuple[str, ...]  # the reps the rule names for this lead (ranked: in tier order)


@dataclass(frozen=True)
class RuleOutcome:
    """What the rules make of a batch; `admit` and `penalty_factor` feed the Problem."""

    admit: np.ndarray  # bool (n, m): hard admits and excludes allow rep j for lead i
    penalty_factor: np.ndarray | None  # float (n, m) in (0, 1]: value kept; None = no soft rule broken
    applies: np.ndarray  # bool (R, n): rule r took effect on lead i
    compiled: CompiledRuleSet
    lead_codes: tuple[np.ndarray | None, ...]  # per rule, for lead_field targets

    def rule_mask(self, r: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool (k, m): rule r names rep j for these leads (and applies to them), within its scope."""
        codes = self.lead_codes[r]
        named = self.compiled.named[r].rows(None if codes is None else codes[rows])
        return self.applies[r, rows][:, None] & named & self.compiled.scope[r]

    def trail(self, i: int) -> tuple[RuleEffect, ...]:
        """The rules that took effect on lead i, in rule order: computed for this lead only."""
        out = []
        for r in np.flatnonzero(self.applies[:, i]):
            rule, named = self.compiled.rules[r], self.compiled.named[r]
            reps = np.flatnonzero(self.rule_mask(int(r), np.array([i]))[0])
            if named.tier is not None:
                reps = reps[np.argsort(named.tier[reps], kind="stable")]
            out.append(RuleEffect(rule.name, rule.then.kind, rule.effective_mode.value, rule.weight,
                                  tuple(self.compiled.rep_ids[j] for j in reps)))
        return tuple(out)


def check_inputs(compiled: CompiledRuleSet, leads: LeadTable, leads_file: str | None = None) -> None:
    """InputError where `evaluate` would find one in the leads: a field the rules read that the
    leads lack, text where a derived field or a number test needs a number. Without evaluating
    a rule (no lead x rep work): the router asks it of each lead it buffers."""
    _check_fields(compiled, set(leads.text))
    leads = leads.with_derived(compiled.rule_set.derived, leads_file)
    for rule in compiled.rules:
        if rule.effective_mode is not RuleMode.OFF:
            for c in rule.when:
                if c.numbers:
                    _numbers(c, rule.name, leads, leads_file)


def evaluate(compiled: CompiledRuleSet, leads: LeadTable, *, default_weight: float = 0.25,
             leads_file: str | None = None) -> RuleOutcome:
    """Run every rule over a batch of leads at once (the semantics are in the module docstring)."""
    _check_fields(compiled, set(leads.text))
    leads = leads.with_derived(compiled.rule_set.derived, leads_file)
    n, m, rules = leads.n, len(compiled.rep_ids), compiled.rules
    admit = np.ones((n, m), dtype=bool)
    keep = np.ones((n, m))
    applies = np.zeros((len(rules), n), dtype=bool)
    groups: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    codes: list[np.ndarray | None] = []
    for r, rule in enumerate(rules):
        named, scope = compiled.named[r], compiled.scope[r]
        codes.append(named.lead_codes(leads))
        mode, kind = rule.effective_mode, rule.then.kind
        if mode is RuleMode.OFF:
            continue
        match = _matches(rule, leads, leads_file)
        if mode is RuleMode.HARD and kind == "admit":
            allowed, taken, claimed = groups.setdefault(
                (_group(rule), scope.tobytes()),
                (np.zeros((n, m), dtype=bool), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)))
            match &= ~claimed
            taken |= match
            if rule.final:
                claimed |= match
        applies[r] = match
        # Only the rows a rule applies to are touched: (k, m) work, not (n, m).
        rows = np.flatnonzero(match)
        lead_code = codes[r]
        sub = named.rows(None if lead_code is None else lead_code[rows])  # (k, m) or (m,)
        if mode is RuleMode.HARD and kind == "admit":
            allowed[rows] |= sub
        elif mode is RuleMode.HARD:  # exclude
            admit[rows] &= ~(sub & scope)
        elif named.tier is not None:  # ranked prefer
            keep[rows] *= np.where(scope, 1.0 - _weight(rule, default_weight) * named.tier / named.tiers, 1.0)
        else:
            broken = (sub if kind == "exclude" else ~sub) & scope
            keep[rows] *= np.where(broken, 1.0 - _weight(rule, default_weight), 1.0)
    for (_, scope_key), (allowed, taken, _) in groups.items():
        rows = np.flatnonzero(taken)
        admit[rows] &= allowed[rows] | ~np.frombuffer(scope_key, dtype=bool)
    factor = keep if (keep < 1.0).any() else None
    return RuleOutcome(admit, factor, applies, compiled, tuple(codes))


def _weight(rule: RoutingRule, default: float) -> float:
    return default if rule.weight is None else rule.weight


def _group(rule: RoutingRule) -> str:
    target = rule.then.target
    return rule.group or ("reps" if target.rep_attribute is None else f"attribute:{target.rep_attribute}")


def _check_fields(compiled: CompiledRuleSet, columns: set[str]) -> None:
    """Every field a rule or a derived field reads is a lead column (or a derived field)."""
    derived = compiled.rule_set.derived
    # (who reads it, the field, where the policy says so: for the error's line)
    reads: list[tuple[str, str, tuple[Step, ...]]] = [
        (f"derived {name!r}", d.source, ("derived", name, "from")) for name, d in derived.items()]
    for rule, at in compiled.rule_set.located_rules():
        reads += [(f"rule {rule.name!r}", c.field, (*at, "when")) for c in rule.when]
        if (lead_field := rule.then.target.lead_field) is not None:
            reads.append((f"rule {rule.name!r}", lead_field, (*at, "then", rule.then.kind, "lead_field")))
    for who, name, at in reads:
        if name not in columns and not (who.startswith("rule") and name in derived):
            line, field = policy_place(compiled.file, at)
            raise InputError(f"{who}: unknown lead field {name!r} (the leads have "
                             f"{', '.join(sorted(columns))}){did_you_mean(name, columns)}",
                             file=compiled.file, line=line, field=field)


def _matches(rule: RoutingRule, leads: LeadTable, leads_file: str | None) -> np.ndarray:
    match = np.ones(leads.n, dtype=bool)
    for c in rule.when:
        match &= _condition(c, rule.name, leads, leads_file)
    return match


def _numbers(c: Condition, rule: str, leads: LeadTable, leads_file: str | None) -> np.ndarray:
    """float (n,): the field a number test reads, as numbers (NaN blank); InputError naming the
    first lead whose cell is text."""
    values, bad = leads.numbers(c.field)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        text = str(leads.text[c.field][row])  # str: numpy's scalar repr is np.str_('...')
        raise InputError(f"rule {rule!r} compares {c.field} with a number, but the lead has {text!r}",
                         file=leads_file, row=row + 1, field=c.field)
    return values


def _condition(c: Condition, rule: str, leads: LeadTable, leads_file: str | None) -> np.ndarray:
    """bool (n,): one condition over every lead."""
    if c.numbers:
        values = _numbers(c, rule, leads, leads_file)
        if c.op in ORDER_OPS:
            lo, lo_in, hi, hi_in = c.interval()
            above = values >= lo if lo_in else values > lo
            return above & (values <= hi if hi_in else values < hi)
        hit = np.isin(values, np.array(c.numbers))
        return ~hit if c.op in (Op.NOT_EQUALS, Op.NOT_IN) else hit
    vocab, codes = leads.codes(c.field, trim=c.trim, case_sensitive=c.case_sensitive)
    if c.op in (Op.PRESENT, Op.ABSENT):
        table = (vocab != "") == (c.op is Op.PRESENT)
    else:
        table = np.isin(vocab, np.array([c.norm(t) for t in c.texts]))
        table = ~table if c.op in (Op.NOT_EQUALS, Op.NOT_IN) else table
    return table[codes]
