"""Cross-checks of a policy against the team it routes: every rep it names must exist."""

from __future__ import annotations

from collections.abc import Sequence

from solver.domain.errors import InputError
from solver.domain.ids import id_key
from solver.domain.model import Policy, Rep


def check_policy_reps(policy: Policy, reps: Sequence[Rep], *, policy_file: str | None) -> None:
    """Every rep the policy names (fallbacks, caps, team members, rule targets) is a rep.

    Checked when the files are read, so `validate` catches what would otherwise
    fail only on the day a lead needs that fallback.
    """
    rep_ids = {r.id for r in reps}
    named: list[tuple[str, str]] = []
    for where, fallback in (("fallback.no_rule_match", policy.fallback.no_rule_match),
                            ("fallback.owner_inactive", policy.fallback.owner_inactive)):
        if fallback is not None and fallback.rep is not None:
            named.append((where, fallback.rep))
    named += [("caps.reps", rep_id) for rep_id in policy.caps.reps]
    named += [(f"teams.{t.id}.members", rep_id) for t in policy.teams for rep_id in t.members]
    for rule, _ in policy.rule_set.scoped_rules():
        target = rule.then.target
        for tier in (target, *target.ranked):
            named += [(f"routing_rules.{rule.name}", rep_id) for rep_id in tier.reps]
    for where, rep_id in named:
        if rep_id not in rep_ids:
            near = {id_key(r): r for r in rep_ids}.get(id_key(rep_id))
            hint = f"; did you mean {near!r}?" if near else ""
            raise InputError(f"{rep_id!r} names no rep in the reps file{hint}", file=policy_file, field=where)

