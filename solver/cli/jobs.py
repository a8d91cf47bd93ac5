"""`leadsolver run` (the scheduled, idempotent batch job) and `leadsolver history` (the audit trail).

`run` is meant for cron: it assigns the leads of the file that the ledger has
not seen, in one transaction with the ledger's write lock held, so

- running it twice assigns nothing new (the second run skips every lead);
- two overlapping runs queue on the lock: the second sees the first's leads;
- a run killed at any point leaves the ledger as before it (rolled back on
  the next open), and the next run does the work; a run killed after its
  commit, or whose --out cannot be written, is printed again by
  `history --run ID|last`.

`history` opens the ledger read-only: it never waits behind a run and reads a
ledger on a read-only file or folder. Ledger failures (busy, read-only, full,
not a ledger) exit 2 with one line naming the cause and the path.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from solver.cli.batch import Inputs, read_team, rule_lines, warn_typos
from solver.cli.common import (
    LEDGER_HELP,
    accounts_option,
    check_ledger_exists,
    columns_option,
    emit,
    format_option,
    input_errors_exit_2,
    leads_option,
    ledger_name,
    now_option,
    out_option,
    parse_now,
    policy_option,
    refuse_to_overwrite,
    reps_option,
    warn_forgotten_winner,
)
from solver.decode.batch import check_solver_fits
from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS, ReasonCode
from solver.decode.result import Assignment
from solver.domain.errors import InputError
from solver.domain.io import csv_text, load_leads
from solver.domain.labels import unmatched_values
from solver.domain.model import Lead
from solver.online.experiment import (
    attributed,
    experiment_lines,
    experiment_runs,
    experiment_starts,
    promoted,
)
from solver.online.router import Router
from solver.online.store import LeadStore, StoreError
from solver.online.stores import open_store
from solver.report.tables import format_rows

# `run` shows its progress by default on a terminal from this many leads (a few seconds' run).
PROGRESS_FROM_LEADS = 10_000

db_option = click.option("--db", "db_path", required=True, metavar="PATH|URL",
                         help=f"The ledger: {LEDGER_HELP}; created by `run` when missing.")


@click.command("run")
@db_option
@reps_option
@leads_option
@policy_option
@columns_option
@accounts_option
@click.option("--reassign-stale", is_flag=True,
              help="Also move leads untouched past the policy's SLA to another rep.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for the ledger's write lock (another writer's transaction).")
@click.option("--progress/--no-progress", default=None,
              help="Show the run's stages on stderr [default: on a terminal, from 10,000 leads].")
@now_option
@format_option
@out_option
@input_errors_exit_2
def run_job(db_path: str, reps_path: str, leads_path: str, policy_path: str | None,
            columns_path: str | None, accounts_path: str | None, reassign_stale: bool,
            lock_timeout: float, progress: bool | None, now_text: str | None, fmt: str,
            out_path: str | None) -> None:
    """Assign the leads the ledger has not seen yet, record them, print the result.

    Idempotent: leads already in the ledger are skipped, so a re-run after a
    crash or an overlapping cron run never assigns a lead twice (a lead sent
    again with other content is warned about; its first version is kept).
    Leads waiting in the backlog from earlier runs are placed when a rep has
    room, or expire after the policy's sla.max_backlog_hours; the summary
    counts them apart. Each run has an id: `history --run ID|last` prints its
    result again (a report lost to a kill or a failed --out). A leads file
    with no leads is a day with nothing new: the backlog and SLA work still
    run, and the summary counts 0 new leads (exit 0).
    """
    refuse_to_overwrite(out_path, ledger=db_path, reps=reps_path, leads=leads_path, policy=policy_path,
                        columns=columns_path, accounts=accounts_path)
    bar = Stages(progress)
    now = parse_now(now_text)
    inputs = _job_inputs(reps_path, leads_path, policy_path, columns_path, accounts_path)
    reps, leads, policy = inputs.reps, inputs.leads, inputs.policy
    bar.show(f"read {len(leads):,} leads", len(leads))
    if policy.has_routing_rules and leads:
        # the rules against the file's leads, as `validate` checks them: a rule that reads a field
        # the leads lack fails here, before the ledger is opened (a bad input writes nothing)
        rule_lines(inputs, policy_path, leads_path)
    ledger = _open_ledger(db_path, lock_timeout)

    def changed(k: int, lead: Lead) -> None:
        click.echo(f"warning: {leads_path}, row {k + 1}, field 'id': lead {lead.id!r} is already in the "
                   "ledger with other content; the first version is kept", err=True)

    try:
        with ledger.transaction():
            # a stopped experiment's winner routes (`promoted`): the run records and prints its solver
            policy = promoted(policy, ledger)
            warn_forgotten_winner(policy, ledger)  # the section removed too soon
            run_id = ledger.start_run("job", policy.solver, now)
            known = ledger.known(lead.id for lead in leads)
            router = Router(reps, policy, ledger, run_id=run_id, accounts=inputs.accounts,
                            clock=lambda: now)
            router.on_stage = bar.show
            carried = router.pending  # accepted earlier (e.g. by the service) but never decided
            waiting = set(router.backlog)  # answered "waits" by an earlier run or the service
        done: list[tuple[list[Assignment], list[Assignment], dict[str, Any]]] = []

        def finish(assignments: list[Assignment]) -> None:
            """The SLA moves and the run's summary, in the transaction of the batch's decisions."""
            moved = router.reassign_stale(now) if reassign_stale else []
            summary = _summary(run_id, policy.solver, router.solve_status, len(leads), len(known), carried,
                               waiting, assignments, moved)
            ledger.finish_run(run_id, now if now_text else datetime.now(UTC), summary)
            done.append((assignments, moved, summary))

        # the batch is solved off the ledger's lock (a service on the same ledger routes urgent
        # leads meanwhile); the file's leads are accepted with their decisions
        router.route(leads, now, on_conflict=changed, on_commit=finish)
        assignments, moved, summary = done[-1]
    except StoreError as exc:  # busy, read-only, full, not a ledger: each names its cause and path
        raise InputError(str(exc)) from None
    finally:
        ledger.close()
    bar.show(f"run {run_id} committed")
    try:
        emit(_render(assignments + moved, summary, fmt), out_path)
    except OSError as exc:
        again = f"leadsolver history --db {ledger_name(db_path)} --run {run_id}"
        raise InputError(f"cannot write the report ({exc.strerror or exc}); run {run_id} is recorded: "
                         f"print it again with `{again}`",
                         file=out_path) from None


@click.command("history")
@db_option
@click.option("--lead", "lead_id", metavar="ID", help="Only this lead's events.")
@click.option("--run", "run_ref", metavar="ID|last",
              help="A run's result again, as `run` printed it (`last`: the latest run).")
@format_option
@out_option
@input_errors_exit_2
def history(db_path: str, lead_id: str | None, run_ref: str | None, fmt: str, out_path: str | None) -> None:
    """Show the audit trail: who got each lead, when, by which policy, why, and every move."""
    refuse_to_overwrite(out_path, ledger=db_path)
    if run_ref is not None and lead_id is not None:  # a run's result is printed whole, as `run` did
        raise InputError("--lead and --run show different things: give one (a run's result is "
                         "printed whole; `--lead ID` is one lead's trail)", field="lead")
    check_ledger_exists(db_path)
    ledger = _open_ledger(db_path, 600.0, read_only=True)
    try:
        if run_ref is not None:
            emit(_render(*_run_result(ledger, run_ref, db_path), fmt), out_path)
            return
        events = ledger.history(lead_id)
        leads = [row for row in ledger.leads() if lead_id is None or row["lead_id"] == lead_id]
        experiments = experiment_runs(ledger)  # starts and stops (issue 15)
    except StoreError as exc:
        raise InputError(str(exc)) from None
    finally:
        ledger.close()
    if lead_id is not None and not leads:
        raise InputError(f"lead {lead_id!r} is not in the ledger", file=ledger_name(db_path), field="lead")
    if fmt == "json":
        records = [run["summary"] | {"at": run["started_at"]} for run in experiments]
        # each lead's experiment as the report counts it: decided before the ledger recorded names,
        # by the experiments' start times
        leads = list(attributed(leads, experiment_starts(experiments)))
        text = json.dumps({"leads": leads, "events": events, "experiments": records}, indent=2) + "\n"
    else:
        columns: tuple[str, ...] = ("seq", "at", "lead_id", "kind", "rep_id", "from_rep_id", "policy",
                                    "reason")
        if any(e["arm"] for e in events):  # an experiment's ledger: which arm decided each lead
            columns = (*columns[:7], "arm", "reason")
        rows = [tuple("" if e[c] is None else str(e[c]) for c in columns) for e in events]
        text = csv_text(columns, rows) if fmt == "csv" else format_rows(columns, rows) + "\n"
        if fmt == "table":
            text += "".join(line + "\n" for line in experiment_lines(experiments))
    emit(text, out_path)


def _job_inputs(reps_path: str, leads_path: str, policy_path: str | None, columns_path: str | None,
                accounts_path: str | None) -> Inputs:
    """The run's inputs, checked as `assign` checks them (`read_inputs`), except that a leads file
    without leads (a header only) is none (cron's "nothing new"), not an error. An empty file is
    still one: no header at all is a broken export, and the run records nothing."""
    team = read_team(reps_path, policy_path, columns_path=columns_path, accounts_path=accounts_path)
    policy, columns, reps, accounts = team.policy, team.columns, team.reps, team.accounts
    leads = load_leads(leads_path, reps, policy=policy, columns=columns, allow_empty=True)
    check_solver_fits(policy, leads, leads_file=leads_path, policy_file=policy_path)
    inputs = Inputs(reps, leads, policy, columns, accounts,
                    unmatched_values(reps, leads, policy, leads_file=leads_path, columns=columns))
    warn_typos(inputs)
    return inputs


def _open_ledger(db_path: str, timeout_s: float, *, read_only: bool = False) -> LeadStore:
    try:
        return open_store(db_path, timeout_s=timeout_s, read_only=read_only)
    except StoreError as exc:  # the message names the cause and the path
        raise InputError(str(exc)) from None


def _run_result(ledger: LeadStore, run_ref: str, db_path: str) -> tuple[list[Assignment], dict[str, Any]]:
    """A job run's decisions and summary, as `run` printed them, from the ledger's audit trail."""
    runs = {r["run_id"]: r for r in ledger.runs() if r["kind"] == "job"}
    if run_ref == "last":  # the last finished run (a run killed midway stays unfinished)
        runs = {run_id: r for run_id, r in runs.items() if r["summary"] is not None}
        run = runs[max(runs)] if runs else None
    else:
        run = runs.get(int(run_ref)) if run_ref.isdigit() else None
    if run is None or run["summary"] is None:
        raise InputError(f"no finished run {run_ref} in the ledger", file=ledger_name(db_path), field="run")
    # `run` prints its decisions in the order it recorded them: expired, first decisions, from
    # the backlog, reassigned; the acceptances between them are not decisions
    decided = [e for e in ledger.history(run_id=run["run_id"])
               if e["kind"] in ("assigned", "unassigned", "reassigned")]
    return [Assignment(e["lead_id"], e["rep_id"], ASSIGNED if e["rep_id"] else UNASSIGNED_STATUS, e["reason"],
                       e["expected_value"], e["policy"], e["reason_code"] and ReasonCode(e["reason_code"]))
            for e in decided], run["summary"]


class Stages:
    """The run's progress on stderr: a bar on a terminal, one line a stage otherwise."""

    STEPS = 6  # read, accepted, solved, explained, recorded, committed

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = enabled
        self.started = time.perf_counter()
        self.done = 0
        self.tty = sys.stderr.isatty()

    def show(self, stage: str, leads: int = 0) -> None:
        if self.enabled is None:  # decided once the file is read: long runs only, on a terminal
            self.enabled = self.tty and leads >= PROGRESS_FROM_LEADS
        if not self.enabled:
            return
        self.done = min(self.done + 1, self.STEPS)
        filled = "#" * (20 * self.done // self.STEPS)
        text = f"run [{filled:<20}] {stage} ({time.perf_counter() - self.started:.1f} s)"
        end = "\n" if not self.tty or self.done == self.STEPS else ""
        click.echo(("\r" if self.tty else "") + text, err=True, nl=False)
        click.echo(end, err=True, nl=False)


def _summary(run_id: int, policy: str, solve_status: str | None, in_file: int, known: int, carried: int,
             waiting: set[str], assignments: list[Assignment], moved: list[Assignment]) -> dict[str, Any]:
    """Counts of this run. `leads` are first decisions; backlogged leads are counted apart."""
    new = [a for a in assignments if a.lead_id not in waiting]
    old = [a for a in assignments if a.lead_id in waiting]
    assigned = sum(a.status == ASSIGNED for a in new)
    queued = sum(a.queue is not None for a in new)
    from_backlog = sum(a.status == ASSIGNED for a in old)
    return {
        "run_id": run_id,
        "policy": policy,
        "solve_status": solve_status,  # the batch solve's; None when the run had nothing to solve
        "counts": {
            "leads_in_file": in_file,
            "already_in_ledger": known,
            "carried_over": carried,
            "leads": len(new),
            "assigned": assigned,
            "unassigned": len(new) - assigned,
            "queued": queued,  # of the unassigned: in a named queue (`leadsolver queues`)
            "from_backlog": from_backlog,
            "backlog_expired": len(old) - from_backlog,
            "reassigned": len(moved),
        },
        "expected_value": round(sum(a.expected_value for a in assignments), 6),
    }


def _render(assignments: list[Assignment], summary: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        fields = [f.name for f in dataclasses.fields(Assignment)]  # asdict, without its deep copies
        records = [{name: getattr(a, name) for name in fields} for a in assignments]
        return json.dumps({"assignments": records, "summary": summary}, indent=2) + "\n"
    # the table and CSV keep their columns; the reason code is in the JSON
    columns = ("lead_id", "rep_id", "status", "reason", "expected_value", "policy")
    rows = [tuple("" if getattr(a, c) is None else str(getattr(a, c)) for c in columns) for a in assignments]
    if fmt == "csv":
        return csv_text(columns, rows)
    c = summary["counts"]
    return (format_rows(columns, rows) + "\n\n"
            f"run {summary['run_id']} ({summary['policy']}): {c['leads']} new leads, {c['assigned']} "
            f"assigned, {c['unassigned']} unassigned; from the backlog {c['from_backlog']} assigned, "
            f"{c['backlog_expired']} expired; {c['reassigned']} reassigned; "
            f"{c['already_in_ledger']} already in the ledger\n")

