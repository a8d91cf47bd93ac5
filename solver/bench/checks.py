"""An independent checker of the hard rules, written from the data contract alone.

The benchmark must catch a policy that breaks a rule *and* a compile step that
builds the wrong eligibility mask, so this module deliberately does not use
`Problem.violations`, `Problem.eligible` or `solver.compile.scoring`: it re-derives every
hard rule from the pydantic records, one plain function per rule family, in the
words of DESIGN.md ("Data contract"). It is slow (pure Python, O(n) look-ups)
and meant for benchmarks and tests, never for the hot path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from solver.domain.model import Lead, Policy, Rep, RuleMode
from solver.domain.rules import Target

# Rule dimension -> (the lead's field, the rep's list field).
_DIMENSIONS = {
    "territory": ("territory", "territories"),
    "segment": ("segment", "segments"),
    "industry": ("industry", "industries"),
    "product": ("product", "products"),
}


def rule_admits(dimension: str, lead: Lead, rep: Rep) -> bool:
    """A hard rule admits the rep when its list is empty, holds `*` (territory), or has the lead's value.

    A lead with an empty field matches only unrestricted reps.
    """
    lead_field, rep_field = _DIMENSIONS[dimension]
    allowed = getattr(rep, rep_field)
    if not allowed or (dimension == "territory" and "*" in allowed):
        return True
    label = getattr(lead, lead_field)
    return bool(label) and label in allowed


def account_owner(lead: Lead, reps_by_id: dict[str, Rep], policy: Policy) -> Rep | None:
    """The rep the owner rule fixes for this lead: a hard rule and an available owner, else None."""
    if policy.rules.account_owner is not RuleMode.HARD or not lead.owner_id:
        return None
    owner = reps_by_id.get(lead.owner_id)
    return owner if owner is not None and owner.available else None


def check_assignment(
    reps: Sequence[Rep],
    leads: Sequence[Lead],
    policy: Policy,
    owners: Sequence[str | None],
    batches: Sequence[Sequence[int]] | None = None,
) -> list[str]:
    """Every broken hard rule of an assignment, as sentences; empty when it is feasible.

    `owners[i]` is the rep id given to `leads[i]`, or None for unassigned.
    `batches` lists the lead indices of each decision, in decision order, for a
    stream routed in micro-batches or one by one (None: all leads in one batch).
    Capacity and grouping hold per decision: an owner-rule lead arriving after
    its owner filled up may pass the cap, as it would in one batch.
    """
    if len(owners) != len(leads):  # conservation: every lead comes out exactly once
        return [f"{len(owners)} owners for {len(leads)} leads"]
    reps_by_id = {rep.id: rep for rep in reps}
    problems: list[str] = []
    for lead, rep_id in zip(leads, owners, strict=True):
        if rep_id is not None and rep_id not in reps_by_id:
            problems.append(f"lead {lead.id} given to unknown rep {rep_id!r}")
            continue
        rep = reps_by_id.get(rep_id) if rep_id is not None else None
        problems += _owner_rule(lead, rep, reps_by_id, policy)
        if rep is not None and account_owner(lead, reps_by_id, policy) is None:
            problems += _eligibility(lead, rep, policy)
    used: dict[str, int] = defaultdict(int)  # effort held from earlier decisions
    for batch in batches if batches is not None else [range(len(leads))]:
        batch_leads = [leads[i] for i in batch]
        batch_owners = [owners[i] for i in batch]
        kept, routed = _effort_by_rep(batch_leads, reps_by_id, policy, batch_owners)
        problems += _team_caps(reps_by_id, policy, kept, routed, used)
        problems += _capacity(reps, kept, routed, used)
        if policy.rules.account_grouping:
            problems += _grouping(batch_leads, batch_owners)
    return problems


def _owner_rule(lead: Lead, rep: Rep | None, reps_by_id: dict[str, Rep], policy: Policy) -> list[str]:
    """A lead whose account has an available owner goes to that owner (hard owner rule)."""
    owner = account_owner(lead, reps_by_id, policy)
    if owner is not None and (rep is None or rep.id != owner.id):
        return [f"lead {lead.id} not given to its account owner {owner.id}"]
    return []


def _eligibility(lead: Lead, rep: Rep, policy: Policy) -> list[str]:
    """Availability and the hard territory/segment/industry/product rules."""
    if not rep.available:
        return [f"lead {lead.id} given to unavailable rep {rep.id}"]
    return [
        f"lead {lead.id} given to rep {rep.id} against the {dimension} rule"
        for dimension in _DIMENSIONS
        if getattr(policy.rules, dimension) is RuleMode.HARD and not rule_admits(dimension, lead, rep)
    ]


def _effort_by_rep(
    leads: Sequence[Lead], reps_by_id: dict[str, Rep], policy: Policy, owners: Sequence[str | None],
) -> tuple[dict[str, int], dict[str, int]]:
    """(effort of owner-rule leads per rep, effort of every other lead per rep) in one decision."""
    kept: dict[str, int] = defaultdict(int)
    routed: dict[str, int] = defaultdict(int)
    for lead, rep_id in zip(leads, owners, strict=True):
        if rep_id is None:
            continue
        owner = account_owner(lead, reps_by_id, policy)
        if owner is not None and owner.id == rep_id:
            kept[rep_id] += lead.effort
        else:
            routed[rep_id] += lead.effort
    return kept, routed


def _capacity(
    reps: Sequence[Rep], kept: dict[str, int], routed: dict[str, int], used: dict[str, int],
) -> list[str]:
    """open_leads + earlier effort + this batch's effort <= capacity; owner-rule leads may pass the cap.

    Owner-rule leads still use capacity, so a rep they push to (or past) its cap
    must get no other lead in the batch. `used` (effort of earlier batches per
    rep) is updated with this batch.
    """
    problems = [
        f"rep {rep.id} over capacity: {rep.open_leads} open + {used[rep.id]} earlier + {kept[rep.id]} kept "
        f"+ {routed[rep.id]} routed > {rep.capacity}"
        for rep in reps
        if routed[rep.id] > 0
        and rep.open_leads + used[rep.id] + kept[rep.id] + routed[rep.id] > rep.capacity
    ]
    for rep_id in set(kept) | set(routed):
        used[rep_id] += kept[rep_id] + routed[rep_id]
    return problems


def _team_caps(
    reps_by_id: dict[str, Rep], policy: Policy, kept: dict[str, int], routed: dict[str, int],
    used: dict[str, int],
) -> list[str]:
    """A capped team's members hold at most its cap: their open leads + earlier effort + this
    batch's; owner-rule leads may pass it (as a rep's capacity), so then nothing else goes in.

    Members are the team's listed reps and, with a member filter, the reps whose attribute (or
    own list field) holds one of its values, read from the records. Runs before `_capacity`
    updates `used` with this batch.
    """
    problems = []
    for team in policy.teams:
        if team.capacity is None:
            continue
        members = {r for r in team.members if r in reps_by_id} | _filtered(team.member_filter, reps_by_id)
        team_kept = sum(kept.get(r, 0) for r in members)
        team_routed = sum(routed.get(r, 0) for r in members)
        held = sum(reps_by_id[r].open_leads + used[r] for r in members)
        if team_routed and held + team_kept + team_routed > team.capacity:
            problems.append(f"team {team.id} over its cap: {held} held + {team_kept} kept + "
                            f"{team_routed} routed > {team.capacity}")
    return problems


def _filtered(member_filter: Target | None, reps_by_id: dict[str, Rep]) -> set[str]:
    """The reps a team's member filter takes: the attribute lists one of its values (or `*`)."""
    if member_filter is None or member_filter.rep_attribute is None:
        return set()
    name, wanted = member_filter.rep_attribute, {v.casefold() for v in member_filter.values}
    out = set()
    for rep in reps_by_id.values():
        raw = rep.attributes.get(name, getattr(rep, name, ""))
        entries = raw.split(";") if isinstance(raw, str) else [str(x) for x in (raw or ())]
        folded = {e.strip().casefold() for e in entries}
        if folded & wanted or "*" in folded:
            out.add(rep.id)
    return out


def _grouping(leads: Sequence[Lead], owners: Sequence[str | None]) -> list[str]:
    """With account grouping on, the placed leads of one account (or parent account) share one owner."""
    reps_of: dict[str, set[str]] = defaultdict(set)
    for lead, rep_id in zip(leads, owners, strict=True):
        key = lead.parent_account_id or lead.account_id
        if key and rep_id is not None:
            reps_of[key].add(rep_id)
    return [f"account {key} split over reps {', '.join(sorted(r))}"
            for key, r in sorted(reps_of.items()) if len(r) > 1]
