"""`leadsolver validate` and `leadsolver assign`: one batch of records in, assignments out.

Exit codes: 0 done, 2 bad input or usage, 1 internal failure. With
`--format json` only JSON goes to stdout; warnings and progress go to stderr.
Output files are written whole or not at all.
"""

from __future__ import annotations

import json

import click

from solver.cli.common import (
    emit,
    format_option,
    input_errors_exit_2,
    leads_option,
    out_option,
    policy_option,
    reps_option,
)
from solver.decode.batch import assign as assign_leads
from solver.decode.batch import check_solver_fits
from solver.decode.explain import Explanation
from solver.decode.result import Result
from solver.domain.errors import InputError
from solver.domain.io import csv_text, load_leads, load_policy, load_reps
from solver.domain.model import Lead, Policy, Rep
from solver.policies import policy_names
from solver.report.tables import format_rows


def load_inputs(
    reps_path: str, leads_path: str, policy_path: str | None, solver: str | None = None
) -> tuple[list[Rep], list[Lead], Policy]:
    """Load and cross-check reps, leads and policy; every problem is an InputError."""
    reps = load_reps(reps_path)
    leads = load_leads(leads_path, reps)
    policy = load_policy(policy_path)
    if solver is not None:
        policy = policy.model_copy(update={"solver": solver})
    check_solver_fits(policy, leads, leads_file=leads_path)
    return reps, leads, policy


@click.command()
@reps_option
@leads_option
@policy_option
@input_errors_exit_2
def validate(reps_path: str, leads_path: str, policy_path: str | None) -> None:
    """Check the input files; print what was read, or the first problem (exit 2)."""
    reps, leads, policy = load_inputs(reps_path, leads_path, policy_path)
    click.echo(f"ok: {len(reps)} reps, {len(leads)} leads, solver {policy.solver}")


@click.command()
@reps_option
@leads_option
@policy_option
@click.option("--solver", type=click.Choice(policy_names()), help="Override the policy's solver.")
@format_option
@out_option
@click.option("--explain", "explain_ids", multiple=True, metavar="LEAD_ID",
              help="Also explain why this lead went to its rep and not the best alternatives "
                   "(repeatable).")
@input_errors_exit_2
def assign(
    reps_path: str,
    leads_path: str,
    policy_path: str | None,
    solver: str | None,
    fmt: str,
    out_path: str | None,
    explain_ids: tuple[str, ...],
) -> None:
    """Assign a batch of leads to reps and print the result.

    Every lead comes out exactly once: assigned, or unassigned with a reason.
    """
    reps, leads, policy = load_inputs(reps_path, leads_path, policy_path, solver)
    result = assign_leads(reps, leads, policy)
    explanations = []
    for lead_id in explain_ids:
        try:
            explanations.append(result.explain(lead_id))
        except KeyError:
            raise InputError("unknown lead id", file=leads_path, field="id") from None
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
        return csv_text(("lead_id", "rep_id", "status", "reason", "expected_value", "policy"),
                        [(a.lead_id, a.rep_id or "", a.status, a.reason, a.expected_value, a.policy)
                         for a in result.assignments])
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


