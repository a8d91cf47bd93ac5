"""Routing rules, teams, accounts and fallbacks folded into one batch's eligibility.

`route` is the step of `compile_problem` between the built-in rules (territory,
segment, industry, product) and the `Problem`: every decision here becomes an
array the policies already read (`eligible`, `penalty_factor`, `forced`) or one
they check like capacity (the team caps), so the policies keep seeing only the
Problem.

In order, for lead i:

1. Its owner: its own `owner_id`, else its account's owner, else the nearest
   owner up the account's parents (the accounts file). An owner not in the reps
   or unavailable is *inactive*.
2. The routing rules (`solver.compile.rules`): hard admits and excludes narrow
   the row, soft rules discount the value.
3. Accounts: the nearest named account up the chain (the lead's own first)
   admits only its named rep or team; a strategic-only rep takes only leads of
   named accounts.
4. Fallbacks (`policy.fallback`): an inactive owner -> `owner_inactive`; then a
   lead with no owner placing it whose hard rules admit no rep at all ->
   `no_rule_match`. A queue takes the lead out of routing (it waits for a
   person: `Problem.queued`); a team or rep replaces the row; `normal`
   ignores the routing rules (and named accounts) for it.
5. Its rotation pool: the reps its hard rules (built-in and routing rules)
   admit, keyed "team:<id>" when that is a team, "all" when it is every rep,
   else a digest of the rep ids: round robin rotates within each territory's
   queue, as a CRM's does, not one pointer across territories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from solver.compile.rule_leads import LeadTable
from solver.compile.rules import (
    CompiledRuleSet,
    RuleOutcome,
    TeamTable,
    check_inputs,
    compile_rule_set,
    evaluate,
    lead_columns,
    rule_inputs,
)
from solver.compile.scoring import ALL_REPS_POOL, RepTable
from solver.domain.errors import InputError
from solver.domain.fallback import FallbackTarget
from solver.domain.model import Account, Lead, Policy, RuleMode

NO_RULE_MATCH = "no rule admits a rep"
OWNER_INACTIVE = "the account's owner is inactive"


@dataclass(frozen=True)
class Routing:
    """What the rules, accounts and fallbacks make of a batch (see the module docstring)."""

    admitted: np.ndarray  # bool (n, m): every hard rule admits rep j for lead i (availability aside)
    penalty_factor: np.ndarray | None  # float (n, m): the routing rules' soft discounts; None: none
    owner: np.ndarray  # int (n,): the lead's active owner (rep index), -1 = none
    rules: RuleOutcome | None
    teams: TeamTable
    queued: dict[int, tuple[str, str]] = field(default_factory=dict)  # lead -> (queue, cause)
    notes: dict[int, str] = field(default_factory=dict)  # lead -> the fallback that set its row
    pool: np.ndarray | None = None  # int (n,): index into pool_keys; None: all in "all"
    pool_keys: tuple[str, ...] = (ALL_REPS_POOL,)
    # bool (n, m): False where a strategic-only rep may never take the lead (no named account);
    # None: no rep is strategic-only
    strategic: np.ndarray | None = None


@dataclass(frozen=True)
class AccountBook:
    """The accounts file resolved once: each account's owner and named account up its chain."""

    owner: dict[str, str]  # account -> its owner, else its nearest ancestor's ("" = none)
    named: dict[str, Account]  # account -> the nearest named account up the chain (itself first)

    @classmethod
    def of(cls, accounts: Sequence[Account]) -> AccountBook:
        by_id = {a.id: a for a in accounts}
        owner: dict[str, str] = {}
        named: dict[str, Account] = {}
        for account in accounts:
            chain, seen = [], set()
            at: Account | None = account
            while at is not None and at.id not in seen:  # a parent cycle stops the walk
                seen.add(at.id)
                chain.append(at)
                at = by_id.get(at.parent_id) if at.parent_id else None
            owner[account.id] = next((a.owner_id for a in chain if a.owner_id), "")
            if (first := next((a for a in chain if a.named), None)) is not None:
                named[account.id] = first
        return cls(owner, named)

    def account_of(self, lead: Lead) -> str:
        """The account the lead's chain starts at: its own if listed, else its parent."""
        return lead.account_id if lead.account_id in self.owner else lead.parent_account_id


def with_rules(table: RepTable, policy: Policy) -> RepTable:
    """The rep table with the policy's rule set compiled against it (kept until the policy changes)."""
    rule_set = policy.rule_set
    if table.rules is not None and table.rules.rule_set == rule_set:
        return table
    _, names = rule_inputs(rule_set)
    attributes = {k: v for k, v in table.attributes.items() if k in names}
    compiled = compile_rule_set(rule_set, table.ids, cast(Any, attributes), file="policy")
    return replace(table, rules=compiled)


def route(table: RepTable, leads: Sequence[Lead], owner_ids: Sequence[str], policy: Policy,
          builtin: np.ndarray, accounts: Sequence[Account] | None = None, *,
          leads_file: str = "leads", missing_blank: bool = False) -> Routing:
    """Fold the routing rules, accounts and fallbacks into the batch (the module docstring's steps)."""
    n, m = builtin.shape
    available = table.available
    index = {rep: j for j, rep in enumerate(table.ids)}
    book = AccountBook.of(accounts) if accounts else None
    if book is not None:
        starts = [book.account_of(lead) for lead in leads]
        owner_ids = [own or book.owner.get(a, "") for own, a in zip(owner_ids, starts, strict=True)]
    owner = np.fromiter((index.get(o, -1) for o in owner_ids), dtype=np.int64, count=n)
    inactive = np.fromiter((bool(o) for o in owner_ids), dtype=bool, count=n) & (
        (owner < 0) | ~available[np.maximum(owner, 0)])
    owner[inactive] = -1

    admitted = builtin.copy()
    # The rotation pool: the reps the hard rules admit (a territory's queue, as a CRM rotates),
    # availability and capacity aside, so a pool's rotation carries over from batch to batch.
    pool_row = builtin.copy()
    outcome, teams = None, _no_teams(table.m)
    if policy.has_routing_rules:
        compiled: CompiledRuleSet = with_rules(table, policy).rules  # type: ignore[assignment]
        outcome = evaluate(compiled, LeadTable.of(_lead_fields(leads, compiled, missing_blank)),
                           default_weight=policy.soft_penalty, leads_file=leads_file)
        admitted &= outcome.admit
        pool_row &= outcome.admit
        teams = compiled.teams
    named = np.zeros(n, dtype=bool)
    if book is not None:
        named_rows, named = _named_accounts(book, starts, index, teams, m)
        admitted &= named_rows
        pool_row &= named_rows
    # A strategic-only rep takes named accounts' leads only, whatever sends a lead its way (a
    # fallback's team or normal routing included): a hard rule, as availability is.
    strategic: np.ndarray | None = None
    if table.strategic_only is not None and table.strategic_only.any():
        strategic = np.ones((n, m), dtype=bool)
        strategic[:, table.strategic_only] = named[:, None]
        admitted &= strategic
        pool_row &= strategic

    fb = Fallbacks(admitted, pool_row, builtin if strategic is None else builtin & strategic, teams, index,
                   policy, strategic)
    if policy.rules.account_owner is not RuleMode.OFF:
        fb.send(np.flatnonzero(inactive), policy.fallback.owner_inactive, OWNER_INACTIVE)
    placed_by_owner = (owner >= 0) & (policy.rules.account_owner is RuleMode.HARD)
    lost = ~admitted.any(axis=1) & ~placed_by_owner & ~fb.handled
    fb.send(np.flatnonzero(lost), policy.fallback.no_rule_match, NO_RULE_MATCH)

    pool: np.ndarray | None = None
    keys: tuple[str, ...] = (ALL_REPS_POOL,)
    if policy.has_routing_rules or book is not None or fb.notes or not pool_row.all():
        pool, keys = _pools(pool_row, teams, table.ids)
    return Routing(admitted, None if outcome is None else outcome.penalty_factor, owner, outcome,
                   teams, fb.queued, fb.notes, pool, keys, strategic)


class Fallbacks:
    """Applies fallback targets to rows of the batch, recording what it did."""

    def __init__(self, admitted: np.ndarray, pool_row: np.ndarray, builtin: np.ndarray,
                 teams: TeamTable, index: Mapping[str, int], policy: Policy,
                 allowed: np.ndarray | None = None) -> None:
        self.admitted, self.pool_row, self.builtin = admitted, pool_row, builtin
        self.teams, self.index, self.policy = teams, index, policy
        # bool (n, m): what no fallback overrides (strategic-only reps); None: nothing
        self.allowed = allowed
        self.handled = np.zeros(admitted.shape[0], dtype=bool)
        self.queued: dict[int, tuple[str, str]] = {}
        self.notes: dict[int, str] = {}

    def send(self, rows: np.ndarray, target: FallbackTarget | None, cause: str) -> None:
        if target is None or rows.size == 0:
            return
        m = self.admitted.shape[1]
        self.handled[rows] = True
        if target.queue is not None:
            self.admitted[rows] = False
            self.queued.update(dict.fromkeys(rows.tolist(), (target.queue, cause)))
            return
        if target.team is not None:
            row, what = self.teams.membership[self.teams.ids.index(target.team)], f"team {target.team}"
        elif target.rep is not None:
            if target.rep not in self.index:
                raise InputError(f"fallback: no rep {target.rep!r} in the reps", file="policy",
                                 field="fallback")
            row, what = np.arange(m) == self.index[target.rep], f"rep {target.rep}"
        else:  # normal routing: the built-in rules only
            self.admitted[rows] = self.builtin[rows]
            self.pool_row[rows] = True if self.allowed is None else self.allowed[rows]
            self.notes.update(dict.fromkeys(rows.tolist(), f"fallback: {cause}; routed normally"))
            return
        allowed = row if self.allowed is None else row & self.allowed[rows]
        self.admitted[rows] = allowed
        self.pool_row[rows] = allowed
        self.notes.update(dict.fromkeys(rows.tolist(), f"fallback: {cause}; sent to {what}"))


def _no_teams(m: int) -> TeamTable:
    """A policy without teams (one with teams has routing rules: `Policy.has_routing_rules`)."""
    return TeamTable((), np.zeros((0, m), dtype=bool), np.zeros(0, dtype=np.int64))


def check_lead(compiled: CompiledRuleSet, lead: Lead) -> None:
    """InputError naming the field when the rules cannot read this lead (text under a number
    test): the service asks before it buffers a lead, so one bad lead cannot fail every batch."""
    check_leads(compiled, (lead,))


def check_leads(compiled: CompiledRuleSet, leads: Sequence[Lead]) -> None:
    """`check_lead` over several leads in one pass; the error's row is the lead's (from 1).
    Rules that read no number (no derived field, no number test) cannot refuse a lead whose
    missing fields read as blank: nothing to check then (every submit asks this)."""
    if not reads_numbers(compiled):
        return
    fields = _lead_fields(leads, compiled, missing_blank=True)
    check_inputs(compiled, LeadTable.of(fields), leads_file="lead")


def reads_numbers(compiled: CompiledRuleSet) -> bool:
    """Whether the rules read a lead field as a number somewhere (a derived field, or a number
    test of a rule that is on): only then can a lead's text make them fail."""
    return bool(compiled.rule_set.derived) or any(
        c.numbers for rule in compiled.rules if rule.effective_mode is not RuleMode.OFF for c in rule.when)


def _lead_fields(leads: Sequence[Lead], compiled: CompiledRuleSet,
                 missing_blank: bool = False) -> dict[str, Sequence[object]]:
    """The lead fields the rules read: own fields, and extra attributes some lead of the batch has.

    A field no lead has is left out, so `evaluate` names it as unknown: in a file, a typo. With
    `missing_blank` (the router, whose leads come one by one from a CRM) it is blank on every
    lead instead, as a lead without an optional attribute matches no test on it.
    """
    fields, _ = rule_inputs(compiled.rule_set)
    columns = lead_columns(leads, names=fields | {"id"})  # the ids give the batch's length
    extra = fields - set(columns)
    if missing_blank or not extra:
        present = extra
    else:
        present = {k for lead in leads for k in lead.attributes if k in extra}
    return {**columns, **{k: [lead.attributes.get(k, "") for lead in leads] for k in sorted(present)}}


def _named_accounts(book: AccountBook, starts: Sequence[str], index: Mapping[str, int],
                    teams: TeamTable, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(bool (n, m): the reps a lead's named account admits (all where none), bool (n,): named)."""
    n = len(starts)
    rows = np.ones((n, m), dtype=bool)
    named = np.zeros(n, dtype=bool)
    masks: dict[str, np.ndarray] = {}
    for i, start in enumerate(starts):
        account = book.named.get(start)
        if account is None:
            continue
        named[i] = True
        if account.id not in masks:
            masks[account.id] = _named_mask(account, index, teams, m)
        rows[i] = masks[account.id]
    return rows, named


def _named_mask(account: Account, index: Mapping[str, int], teams: TeamTable, m: int) -> np.ndarray:
    mask = np.zeros(m, dtype=bool)
    if not account.named_rep_id and not account.named_team_id:
        return ~mask  # named, with nobody named: any rep (strategic-only ones included)
    if account.named_rep_id in index:  # a named rep who is gone admits nobody: the fallback decides
        mask[index[account.named_rep_id]] = True
    if account.named_team_id:
        if account.named_team_id not in teams.ids:
            raise InputError(f"account {account.id!r}: no team {account.named_team_id!r} in the policy",
                             file="accounts", field="named_team_id")
        mask |= teams.membership[teams.ids.index(account.named_team_id)]
    return mask


def _pools(pool_row: np.ndarray, teams: TeamTable,
           rep_ids: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each lead's rotation pool (index into the keys) and the keys, from its admitted reps.

    A set that is no team is keyed by a digest of the rep ids and the row, stable from batch
    to batch while the reps stay the same.
    """
    m = pool_row.shape[1]
    packed, inverse = np.unique(np.packbits(pool_row, axis=1), axis=0, return_inverse=True)
    rows = np.unpackbits(packed, axis=1, count=m).astype(bool)  # (U, m)
    is_team = (rows[:, None, :] == teams.membership[None, :, :]).all(axis=2)  # (U, T)
    reps_digest = hashlib.sha1("\n".join(rep_ids).encode(), usedforsecurity=False).digest()
    keys = [ALL_REPS_POOL if row.all()
            else f"team:{teams.ids[int(np.argmax(team))]}" if team.any()
            else "reps:" + hashlib.sha1(reps_digest + bits.tobytes(), usedforsecurity=False).hexdigest()[:16]
            for row, team, bits in zip(rows, is_team, packed, strict=True)]
    return inverse.reshape(-1).astype(np.int64), tuple(keys)
