"""Cross-checks of a policy against the team it routes: every rep it names must exist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from solver.domain.errors import InputError
from solver.domain.ids import id_key
from solver.domain.io import policy_place
from solver.domain.model import Policy, Rep
from solver.domain.rule_syntax import Locate, Step
from solver.domain.rules import REP_KEYS, did_you_mean


def check_policy_reps(policy: Policy, reps: Sequence[Rep], *, policy_file: str | None,
                      at: tuple[Step, ...] = (),
                      locate: Locate | None = None,
                      removed: Mapping[str, str] | None = None) -> None:
    """Every rep the policy names (fallbacks, caps, team members, rule targets) is a rep.

    Checked when the files are read, so `validate` catches what would otherwise
    fail only on the day a lead needs that fallback. The error names the line of
    the key that names the rep (the policy file is read again for it) and its path
    as the field; `at` is where the policy is in its file (`("policy",)` in a scenario), and
    `locate` maps a path of the policy's data to where the file writes it (a scenario's variant).
    `removed` is {rep id: the key that took it out of `reps`} (a scenario's `team.remove_reps[0]`):
    a policy naming such a rep is told so, the rep being in the reps file.
    """
    rep_ids = {r.id for r in reps}
    # (the rep named, where in the policy document)
    named: list[tuple[str, tuple[Step, ...]]] = []
    for where, fallback in (("no_rule_match", policy.fallback.no_rule_match),
                            ("owner_inactive", policy.fallback.owner_inactive)):
        if fallback is not None and fallback.rep is not None:
            named.append((fallback.rep, ("fallback", where, "rep")))
    named += [(rep_id, ("caps", "reps", rep_id)) for rep_id in policy.caps.reps]
    named += [(rep_id, ("teams", k, "members")) for k, t in enumerate(policy.teams) for rep_id in t.members]
    for rule, rule_at in policy.rule_set.located_rules():
        for target, tier in rule.then.target.tiers():
            named += [(rep_id, (*rule_at, "then", rule.then.kind, *tier, REP_KEYS)) for rep_id in target.reps]
    for rep_id, path in named:
        if rep_id in rep_ids:
            continue
        if removed and rep_id in removed:
            message = f"{rep_id!r} names a rep that {removed[rep_id]} takes out of the team"
        else:
            near = {id_key(r): r for r in rep_ids}.get(id_key(rep_id))  # the same id in another form
            hint = f"; did you mean {near!r}?" if near else did_you_mean(rep_id, rep_ids)
            message = f"{rep_id!r} names no rep in the reps file{hint}"
        line, field = policy_place(policy_file, (*at, *path), locate)
        raise InputError(message, file=policy_file, line=line, field=field)
