"""`leadsolver run` (the scheduled, idempotent batch job) and `leadsolver history` (the audit trail).

`run` is meant for cron: it assigns the leads of the file that the ledger has
not seen, in one transaction with the ledger's write lock held, so

- running it twice assigns nothing new (the second run skips every lead);
- two overlapping runs queue on the lock: the second sees the first's leads;
- a run killed at any point leaves the ledger as before it (rolled back on
  the next open), and the next run does the work.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from solver.cli.batch import load_inputs
from solver.cli.common import (
    emit,
    format_option,
    input_errors_exit_2,
    leads_option,
    out_option,
    policy_option,
    reps_option,
)
from solver.decode.reasons import ASSIGNED
from solver.decode.result import Assignment
from solver.domain.errors import InputError
from solver.online.router import Router
from solver.online.store import LeadStore, StoreBusy, StoreError
from solver.online.stores import open_store
from solver.report.tables import format_rows

db_option = click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False),
                         help="The SQLite ledger file (created by `run` when missing).")


@click.command("run")
@db_option
@reps_option
@leads_option
@policy_option
@click.option("--reassign-stale", is_flag=True,
              help="Also move leads untouched past the policy's SLA to another rep.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for an overlapping run to finish.")
@format_option
@out_option
@input_errors_exit_2
def run_job(db_path: str, reps_path: str, leads_path: str, policy_path: str | None,
            reassign_stale: bool, lock_timeout: float, fmt: str, out_path: str | None) -> None:
    """Assign the leads the ledger has not seen yet, record them, print the result.

    Idempotent: leads already in the ledger are skipped, so a re-run after a
    crash or an overlapping cron run never assigns a lead twice. Leads waiting
    in the backlog from earlier runs are placed when a rep has room, or expire
    after the policy's sla.max_backlog_hours; the summary counts them apart.
    """

    reps, leads, policy = load_inputs(reps_path, leads_path, policy_path)
    now = datetime.now(UTC)
    ledger = _open_ledger(db_path, lock_timeout)
    try:
        with ledger.transaction():
            run_id = ledger.start_run("job", policy.solver, now)
            known = ledger.known(lead.id for lead in leads)
            router = Router(reps, policy, ledger, run_id=run_id)
            carried = router.pending  # accepted earlier (e.g. by the service) but never decided
            waiting = set(router.backlog)  # answered "waits" by an earlier run or the service
            assignments = router.route(leads, now)
            moved = router.reassign_stale(now) if reassign_stale else []
            summary = _summary(run_id, policy.solver, len(leads), len(known), carried, waiting,
                               assignments, moved)
            ledger.finish_run(run_id, datetime.now(UTC), summary)
    except StoreBusy:
        raise  # an overlapping run held the lock past --lock-timeout: a crash, not bad input
    except StoreError as exc:
        raise InputError(str(exc), file=db_path) from None
    finally:
        ledger.close()
    emit(_render(assignments + moved, summary, fmt), out_path)


@click.command("history")
@db_option
@click.option("--lead", "lead_id", metavar="ID", help="Only this lead's events.")
@format_option
@out_option
@input_errors_exit_2
def history(db_path: str, lead_id: str | None, fmt: str, out_path: str | None) -> None:
    """Show the audit trail: who got each lead, when, by which policy, why, and every move."""
    if not Path(db_path).is_file():
        raise InputError("no ledger at this path", file=db_path)
    ledger = _open_ledger(db_path, 600.0)
    try:
        events = ledger.history(lead_id)
        leads = [row for row in ledger.leads() if lead_id is None or row["lead_id"] == lead_id]
    finally:
        ledger.close()
    if lead_id is not None and not leads:
        raise InputError(f"lead {lead_id!r} is not in the ledger", file=db_path, field="lead")
    if fmt == "json":
        text = json.dumps({"leads": leads, "events": events}, indent=2) + "\n"
    else:
        columns = ("seq", "at", "lead_id", "kind", "rep_id", "from_rep_id", "policy", "reason")
        rows = [tuple("" if e[c] is None else str(e[c]) for c in columns) for e in events]
        text = _csv(columns, rows) if fmt == "csv" else format_rows(columns, rows) + "\n"
    emit(text, out_path)


def _open_ledger(db_path: str, timeout_s: float) -> LeadStore:
    try:
        return open_store(db_path, timeout_s=timeout_s)
    except StoreBusy:
        raise
    except StoreError as exc:
        raise InputError(str(exc), file=db_path) from None


def _summary(run_id: int, policy: str, in_file: int, known: int, carried: int, waiting: set[str],
             assignments: list[Assignment], moved: list[Assignment]) -> dict[str, Any]:
    """Counts of this run. `leads` are first decisions; backlogged leads are counted apart."""
    new = [a for a in assignments if a.lead_id not in waiting]
    old = [a for a in assignments if a.lead_id in waiting]
    assigned = sum(a.status == ASSIGNED for a in new)
    from_backlog = sum(a.status == ASSIGNED for a in old)
    return {
        "run_id": run_id,
        "policy": policy,
        "counts": {
            "leads_in_file": in_file,
            "already_in_ledger": known,
            "carried_over": carried,
            "leads": len(new),
            "assigned": assigned,
            "unassigned": len(new) - assigned,
            "from_backlog": from_backlog,
            "backlog_expired": len(old) - from_backlog,
            "reassigned": len(moved),
        },
        "expected_value": round(sum(a.expected_value for a in assignments), 6),
    }


def _render(assignments: list[Assignment], summary: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"assignments": [asdict(a) for a in assignments], "summary": summary},
                          indent=2) + "\n"
    # the table and CSV keep their columns; the reason code is in the JSON
    columns = ("lead_id", "rep_id", "status", "reason", "expected_value", "policy")
    rows = [tuple("" if getattr(a, c) is None else str(getattr(a, c)) for c in columns) for a in assignments]
    if fmt == "csv":
        return _csv(columns, rows)
    c = summary["counts"]
    return (format_rows(columns, rows) + "\n\n"
            f"run {summary['run_id']} ({summary['policy']}): {c['leads']} new leads, {c['assigned']} "
            f"assigned, {c['unassigned']} unassigned; from the backlog {c['from_backlog']} assigned, "
            f"{c['backlog_expired']} expired; {c['reassigned']} reassigned; "
            f"{c['already_in_ledger']} already in the ledger\n")


def _csv(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()
