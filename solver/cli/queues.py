"""`leadsolver queues`: the leads that fallbacks sent to named queues, waiting for a person.

A policy's fallback (`fallback.no_rule_match` / `owner_inactive: {queue: NAME}`)
takes a lead out of routing into a named queue; the ledger keeps it there
(status ``queued``) until `leadsolver events` releases or closes it. This
command lists them, oldest first, with a count per queue. It opens the ledger
read-only, as `history` does. A `--queue` that neither the ledger (a queue any of
its leads went to) nor `--policy` (its `fallback.queues`) knows is an error with
a did-you-mean: a typo would list no leads as if the queue were empty.
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
from solver.domain.columns import closest
from solver.domain.errors import InputError
from solver.domain.io import csv_text, load_policy
from solver.online.store import StoreError
from solver.report.tables import format_rows

_COLUMNS = ("queue", "lead_id", "accepted_at", "decided_at", "reason")


@click.command("queues")
@db_option
@click.option("--queue", "queue", metavar="NAME", help="Only this queue's leads.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="The policy: the queues of its fallback.queues are known to --queue before any lead "
                   "went to them.")
@format_option
@out_option
@input_errors_exit_2
def queues(db_path: str, queue: str | None, policy_path: str | None, fmt: str, out_path: str | None) -> None:
    """List the leads waiting in named queues (a fallback's review queue, ...), oldest first."""
    refuse_to_overwrite(out_path, ledger=db_path)
    check_ledger_exists(db_path)
    declared = load_policy(policy_path).fallback.queues if policy_path else ()
    ledger = _open_ledger(db_path, 600.0, read_only=True)
    try:
        leads = ledger.queued_leads(queue)
        if queue is not None and not leads and queue not in declared:
            # a queue with no lead waiting: one the ledger has seen (all left it), or a typo
            seen = {row["queue"] for row in ledger.leads() if row["queue"]}
            _known_queue(queue, seen | set(declared), policy_path is not None)
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


def _known_queue(queue: str, known: set[str], with_policy: bool) -> None:
    """Refuse a --queue no lead of the ledger went to and the policy does not declare."""
    if queue in known:
        return
    near = closest(queue, known)
    hint = f"; did you mean {near!r}?" if near else ""
    where = ("the ledger or the policy" if with_policy
             else "the ledger (give --policy for its fallback.queues)")
    names = ", ".join(sorted(known)) or "none"
    raise InputError(f"--queue {queue!r}: no such queue in {where}; known queues: {names}{hint}")
