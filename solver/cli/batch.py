"""`leadsolver validate` and `leadsolver assign`: one batch of records in, assignments out.

Exit codes: 0 done, 2 bad input or usage, 1 internal failure. With
`--format json` only JSON goes to stdout; warnings and progress go to stderr.
Output files are written whole or not at all.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from solver.cli.common import (
    emit,
    format_option,
    input_errors_exit_2,
    input_options,
    now_option,
    out_option,
    parse_now,
    refuse_to_overwrite,
)
from solver.compile.rules import LeadTable, compile_rule_set, evaluate, lead_columns, rep_attributes
from solver.decode.batch import assign as assign_leads
from solver.decode.batch import check_solver_fits
from solver.decode.explain import Explanation
from solver.decode.result import Result
from solver.domain.accounts import load_accounts
from solver.domain.columns import ColumnMap, Kind
from solver.domain.errors import InputError
from solver.domain.io import InputWarning, csv_text, load_columns, load_leads, load_policy, load_reps
from solver.domain.labels import unmatched_values
from solver.domain.model import Account, Lead, Policy, Rep
from solver.domain.policy_checks import check_policy_reps
from solver.domain.records import column_plan
from solver.policies import policy_names
from solver.report.tables import format_rows


@dataclass(frozen=True)
class Inputs:
    """What a batch command read: the records, and what reading them found worth saying."""

    reps: list[Rep]
    leads: list[Lead]
    policy: Policy
    columns: ColumnMap  # the mapping used: the policy's, the --columns file over it
    accounts: list[Account] | None
    typos: list[str]  # lead values that match no rep or rule (solver.domain.labels)


@dataclass(frozen=True)
class TeamInputs:
    """What routing needs besides the leads: the policy, the column mapping, reps, accounts."""

    policy: Policy
    columns: ColumnMap
    reps: list[Rep]
    accounts: list[Account] | None


def read_team(reps_path: str, policy_path: str | None, *, columns_path: str | None = None,
              accounts_path: str | None = None, solver: str | None = None) -> TeamInputs:
    """The policy, the mapping (the policy's, a --columns file over it), the reps read through it
    and checked against the policy, and the accounts: every command reads a team this way."""
    policy = load_policy(policy_path)
    if solver is not None:
        policy = policy.model_copy(update={"solver": solver})
    columns = policy.column_map.merged(load_columns(columns_path) if columns_path else None)
    reps = load_reps(reps_path, policy=policy, columns=columns)
    check_policy_reps(policy, reps, policy_file=policy_path or "policy")
    accounts = load_accounts(accounts_path, reps, policy=policy) if accounts_path else None
    return TeamInputs(policy, columns, reps, accounts)


def read_inputs(reps_path: str, leads_path: str, policy_path: str | None, solver: str | None = None,
                *, columns_path: str | None = None, accounts_path: str | None = None) -> Inputs:
    """Load and cross-check every input file; every problem is an InputError."""
    team = read_team(reps_path, policy_path, columns_path=columns_path, accounts_path=accounts_path,
                     solver=solver)
    policy, columns, reps, accounts = team.policy, team.columns, team.reps, team.accounts
    leads = load_leads(leads_path, reps, policy=policy, columns=columns)
    check_solver_fits(policy, leads, leads_file=leads_path, policy_file=policy_path)
    typos = unmatched_values(reps, leads, policy, leads_file=leads_path, columns=columns)
    return Inputs(reps, leads, policy, columns, accounts, typos)


def load_inputs(
    reps_path: str, leads_path: str, policy_path: str | None, solver: str | None = None, *,
    columns_path: str | None = None, accounts_path: str | None = None,
) -> tuple[list[Rep], list[Lead], Policy]:
    """Load and cross-check reps, leads and policy; lead values that match nothing are warned."""
    inputs = read_inputs(reps_path, leads_path, policy_path, solver, columns_path=columns_path,
                         accounts_path=accounts_path)
    warn_typos(inputs)
    return inputs.reps, inputs.leads, inputs.policy


def warn_typos(inputs: Inputs) -> None:
    """The lead values that match no rep or rule, on stderr: the batch goes on."""
    for line in inputs.typos:
        warnings.warn(line, InputWarning, stacklevel=3)


@click.command()
@input_options
@input_errors_exit_2
def validate(reps_path: str, leads_path: str, policy_path: str | None, columns_path: str | None,
             accounts_path: str | None) -> None:
    """Check the input files; print what was read, or the first problem (exit 2).

    Then the column mapping used (and how many records took a field from a
    later column of its list where the first was blank), what each routing
    rule does to these leads, and the lead values that match no rep or rule
    (likely typos).
    """
    inputs = read_inputs(reps_path, leads_path, policy_path, columns_path=columns_path,
                         accounts_path=accounts_path)
    lines = [f"ok: {len(inputs.reps)} reps, {len(inputs.leads)} leads, solver {inputs.policy.solver}",
             *mapping_lines(inputs, reps_path, leads_path)]
    if inputs.accounts is not None:
        lines.append(f"accounts: {len(inputs.accounts)} ({sum(a.named for a in inputs.accounts)} named)")
    if inputs.policy.has_routing_rules:
        lines += rule_lines(inputs, policy_path, leads_path)
    if inputs.typos:
        lines.append(f"values that match no rep or rule ({len(inputs.typos)}):")
        lines += [f"  {line}" for line in inputs.typos]
    for line in lines:
        click.echo(line)


def mapping_lines(inputs: Inputs, reps_path: str, leads_path: str) -> list[str]:
    """The column mapping, which export column became which field in each file, and how many
    records took a field from a further column where the first was blank."""
    if inputs.columns == ColumnMap():
        return []
    lines = [f"columns: {inputs.columns.describe()}"]
    files: tuple[tuple[str, type[Lead] | type[Rep], Kind, int], ...] = (
        (leads_path, Lead, "leads", len(inputs.leads)), (reps_path, Rep, "reps", len(inputs.reps)))
    for path, model, kind, total in files:
        plan, used = column_plan(Path(path), kind, set(model.model_fields), inputs.columns.wanted(kind))
        if plan.renames:
            lines.append(f"  {path}: " + ", ".join(f"{src} -> {f}" for src, f in plan.renames.items()))
        for field, (first, *further) in plan.fallbacks.items():
            lines += [f"  {path}: {field} from {column} where {first} is blank: "
                      f"{used[field, column]} of {total} {kind}" for column in further]
    return lines


def rule_lines(inputs: Inputs, policy_path: str | None, leads_path: str) -> list[str]:
    """Each routing rule: its mode, how many of the leads it applies to, and the reps it names."""
    reps, leads, policy = inputs.reps, inputs.leads, inputs.policy
    # Every column, so that a rule reading one a file lacks is told which the records have.
    rep_keys = dict.fromkeys(k for rep in reps for k in rep.attributes)
    rep_extra = {k: [r.attributes.get(k, "") for r in reps] for k in rep_keys}
    keys = dict.fromkeys(k for lead in leads for k in lead.attributes)
    lead_extra = {k: [lead.attributes.get(k, "") for lead in leads] for k in keys}
    compiled = compile_rule_set(policy.rule_set, [r.id for r in reps],
                                rep_attributes(reps, rep_extra, names=set(Rep.model_fields) - {"attributes"}),
                                file=policy_path)
    table = LeadTable.of(lead_columns(leads, lead_extra, names=set(Lead.model_fields) - {"attributes"}))
    outcome = evaluate(compiled, table, default_weight=policy.soft_penalty, leads_file=leads_path)
    verb = {"admit": "admits", "exclude": "excludes", "prefer": "prefers"}
    lines = [f"routing rules ({len(compiled.rules)}):"]
    for r, rule in enumerate(compiled.rules):
        mode, kind = rule.effective_mode.value, rule.then.kind
        matched = np.flatnonzero(outcome.applies[r])
        named = int(outcome.rule_mask(r, matched).any(axis=0).sum()) if matched.size else 0
        what = "off" if mode == "off" else (f"matches {matched.size} of {len(leads)} leads; "
                                            f"{verb[kind]} {named} of {len(reps)} reps for them")
        lines.append(f"  {rule.name} ({mode} {kind}): {what}")
    return lines


@click.command()
@input_options
@click.option("--solver", type=click.Choice(policy_names()), help="Override the policy's solver.")
@format_option
@out_option
@click.option("--explain", "explain_ids", multiple=True, metavar="LEAD_ID",
              help="Also explain why this lead went to its rep and not the best alternatives "
                   "(repeatable).")
@now_option
@input_errors_exit_2
def assign(
    reps_path: str,
    leads_path: str,
    policy_path: str | None,
    columns_path: str | None,
    accounts_path: str | None,
    solver: str | None,
    fmt: str,
    out_path: str | None,
    explain_ids: tuple[str, ...],
    now_text: str | None,
) -> None:
    """Assign a batch of leads to reps and print the result.

    Every lead comes out exactly once: assigned, or unassigned with a reason.
    Reps with working hours or leave are taken as they are now (or at --now):
    off shift, a rep takes only the leads no rep on shift may take, if it is
    back first; on leave, none.
    """
    now = parse_now(now_text)
    refuse_to_overwrite(out_path, reps=reps_path, leads=leads_path, policy=policy_path,
                        columns=columns_path, accounts=accounts_path)
    inputs = read_inputs(reps_path, leads_path, policy_path, solver, columns_path=columns_path,
                         accounts_path=accounts_path)
    warn_typos(inputs)
    if inputs.policy.has_routing_rules and inputs.leads:
        # the rules against every column of the leads, as `validate` and `run` check them: a rule
        # reading a field the leads lack names the policy file and the columns they do have
        rule_lines(inputs, policy_path, leads_path)
    result = assign_leads(inputs.reps, inputs.leads, inputs.policy, accounts=inputs.accounts,
                          leads_file=leads_path, now=now)
    explanations = []
    for lead_id in explain_ids:
        try:
            explanations.append(result.explain(lead_id))
        except KeyError:
            raise InputError(f"--explain {lead_id!r}: no lead of the file has this id", file=leads_path,
                             field="id") from None
    text = render(result, fmt, explanations)
    emit(text, out_path)


def render(result: Result, fmt: str, explanations: list[Explanation] | None = None) -> str:
    """The result as JSON, CSV or a table (with the explanations asked for)."""
    if fmt == "json":
        data = result.to_dict()
        if explanations:
            data["explanations"] = [e.to_dict() for e in explanations]
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        return csv_text(("lead_id", "rep_id", "status", "reason", "expected_value", "policy",
                         "reason_code", "queue"),
                        [(a.lead_id, a.rep_id or "", a.status, a.reason, a.expected_value, a.policy,
                          a.reason_code or "", a.queue or "") for a in result.assignments])
    return render_table(result, explanations or [])


def render_table(result: Result, explanations: list[Explanation]) -> str:
    """Assignments as a table, then the summary and the explanations in words."""
    s = result.summary
    if s is None:
        raise ValueError("render_table needs a result decoded with its summary")
    rows = [(a.lead_id, a.rep_id or "-", f"{a.expected_value:,.2f}", a.reason) for a in result.assignments]
    lines = [format_rows(("lead", "rep", "expected value", "reason"), rows), ""]
    counts = s.counts
    fair = s.fairness
    lines.append(
        f"policy {s.policy} ({s.status}): {counts.assigned} of {counts.leads} assigned, "
        f"{counts.unassigned} unassigned; expected value {s.expected_value:,.2f}; "
        f"objective {_fmt(s.objective)}, bound {_fmt(s.bound)}"
    )
    lines.append(
        f"fairness: Jain {fair.jain:.3f}, Gini {fair.gini:.3f}, max deviation "
        f"{fair.max_deviation:.3f}; solve {s.solve_time_s * 1000:.1f} ms, compile "
        f"{s.compile_time_s * 1000:.1f} ms"
    )
    for reason, n in counts.unassigned_by_reason.items():
        lines.append(f"  unassigned, {reason}: {n}")
    for e in explanations:
        lines.append("")
        to = e.assigned_to
        lines.append(f"lead {e.lead_id} -> {to.rep_id if to else 'unassigned'}: {e.why}")
        for alt in e.alternatives:
            lines.append(f"  not {alt.rep.rep_id} (expected value {alt.rep.expected_value:,.2f}): "
                         f"{alt.why_not}")
    return "\n".join(lines) + "\n"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


