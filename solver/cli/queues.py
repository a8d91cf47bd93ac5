"""`leadsolver queues`: the leads that fallbacks sent to named queues, waiting for a person.

A policy's fallback (`fallback.no_rule_match` / `owner_inactive: {queue: NAME}`)
takes a lead out of routing into a named queue; the ledger keeps it there
(status ``queued``) until `leadsolver events` releases or closes it. This
command lists them, oldest first, with a count per queue. It opens the ledger
read-only, as `history` does.
"""

from __future__ import annotations

import json
from collections import Counter

import click

from solver.cli.common import (
    check_ledger_exists,
    emit,
    format_option,
    input_errors_exit_2,
    out_option,
    refuse_to_overwrite,
)
from solver.cli.jobs import _open_ledger, db_option
from solver.domain.errors import InputError
from solver.domain.io import csv_text
from solver.online.store import StoreError
from solver.report.tables import format_rows

_COLUMNS = ("queue", "lead_id", "accepted_at", "decided_at", "reason")


@click.command("queues")
@db_option
@click.option("--queue", "queue", metavar="NAME", help="Only this queue's leads.")
@format_option
@out_option
@input_errors_exit_2
def queues(db_path: str, queue: str | None, fmt: str, out_path: str | None) -> None:
    """List the leads waiting in named queues (a fallback's review queue, ...), oldest first."""
    refuse_to_overwrite(out_path, ledger=db_path)
    check_ledger_exists(db_path)
    ledger = _open_ledger(db_path, 600.0, read_only=True)
    try:
        leads = ledger.queued_leads(queue)
    except StoreError as exc:
        raise InputError(str(exc)) from None
    finally:
        ledger.close()
    counts = dict(sorted(Counter(row["queue"] for row in leads).items()))
    if fmt == "json":
        text = json.dumps({"queues": counts, "leads": leads}, indent=2) + "\n"
    else:
        rows = [tuple("" if row[c] is None else str(row[c]) for c in _COLUMNS) for row in leads]
        if fmt == "csv":
            text = csv_text(_COLUMNS, rows)
        else:
            per_queue = ", ".join(f"{name}: {n}" for name, n in counts.items()) or "none"
            text = format_rows(_COLUMNS, rows) + f"\n\n{len(leads)} queued leads ({per_queue})\n"
    emit(text, out_path)
