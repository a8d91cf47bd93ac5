"""The `leadsolver` command.

Exit codes: 0 done, 2 bad input or usage, 1 internal failure. With
`--format json` only JSON goes to stdout; warnings and progress go to stderr.
Output files are written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from typing import Any

import click

from solver.batch import assign as assign_leads
from solver.batch import check_solver_fits
from solver.cli_common import (
    emit,
    format_option,
    format_rows,
    input_errors_exit_2,
    leads_option,
    out_option,
    policy_option,
    reps_option,
    show_warning,
)
from solver.errors import InputError
from solver.io import load_leads, load_policy, load_reps
from solver.model import POLICY_NAMES, Lead, Policy, Rep
from solver.result import Result


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="leadsolver")
def main() -> None:
    """Route sales leads to reps: hard rules, value-weighted fit, fairness to quota."""
    warnings.showwarning = show_warning


@main.command()
@reps_option
@leads_option
@policy_option
@input_errors_exit_2
def validate(reps_path: str, leads_path: str, policy_path: str | None) -> None:
    """Check the input files; print what was read, or the first problem (exit 2)."""
    reps, leads, policy = load_inputs(reps_path, leads_path, policy_path)
    click.echo(f"ok: {len(reps)} reps, {len(leads)} leads, solver {policy.solver}")


@main.command()
@reps_option
@leads_option
@policy_option
@click.option("--solver", type=click.Choice(POLICY_NAMES), help="Override the policy's solver.")
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


def render(result: Result, fmt: str, explanations: list[dict[str, Any]] | None = None) -> str:
    if fmt == "json":
        data = result.to_dict()
        if explanations:
            data["explanations"] = explanations
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["lead_id", "rep_id", "status", "reason", "expected_value", "policy"])
        for a in result.assignments:
            writer.writerow([a.lead_id, a.rep_id or "", a.status, a.reason, a.expected_value, a.policy])
        return buf.getvalue()
    return render_table(result, explanations or [])


def render_table(result: Result, explanations: list[dict[str, Any]]) -> str:
    s = result.summary
    rows = [(a.lead_id, a.rep_id or "-", f"{a.expected_value:,.2f}", a.reason) for a in result.assignments]
    lines = [format_rows(("lead", "rep", "expected value", "reason"), rows), ""]
    counts = s["counts"]
    fair = s["fairness"]
    lines.append(
        f"policy {s['policy']} ({s['status']}): {counts['assigned']} of {counts['leads']} assigned, "
        f"{counts['unassigned']} unassigned; expected value {s['expected_value']:,.2f}; "
        f"objective {_fmt(s['objective'])}, bound {_fmt(s['bound'])}"
    )
    lines.append(
        f"fairness: Jain {fair['jain']:.3f}, Gini {fair['gini']:.3f}, max deviation "
        f"{fair['max_deviation']:.3f}; solve {s['solve_time_s'] * 1000:.1f} ms, compile "
        f"{s['compile_time_s'] * 1000:.1f} ms"
    )
    for reason, n in counts["unassigned_by_reason"].items():
        lines.append(f"  unassigned, {reason}: {n}")
    for e in explanations:
        lines.append("")
        to = e["assigned_to"]
        lines.append(f"lead {e['lead_id']} -> {to['rep_id'] if to else 'unassigned'}: {e['why']}")
        for alt in e["alternatives"]:
            lines.append(f"  not {alt['rep_id']} (expected value {alt['expected_value']:,.2f}): "
                         f"{alt['why_not']}")
    return "\n".join(lines) + "\n"


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


# Subcommands that live in their own modules: one import and one add_command each.
# (Imported here, after `main` exists, so those modules may import solver.cli_common freely.)
from solver.cli_bench import bench  # noqa: E402
from solver.cli_jobs import history, run_job  # noqa: E402
from solver.cli_serve import serve  # noqa: E402
from solver.cli_simulate import learn, simulate  # noqa: E402

main.add_command(bench)
main.add_command(run_job)
main.add_command(history)
main.add_command(simulate)
main.add_command(learn)
main.add_command(serve)


def run() -> None:  # pragma: no cover - console entry for `python -m solver`
    try:
        main(standalone_mode=True)
    except Exception as exc:  # internal failure: one line, exit 1
        click.echo(f"internal error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    run()
