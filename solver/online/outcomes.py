"""What happens to a lead after routing: first touch, release, and its disposition (won, lost, ...).

A CRM knows when a rep first answered a lead, when the lead was worked or
closed, and how it ended. `leadsolver events` (and the router's `touch` and
`release`) bring that back into the ledger: a touch stops the SLA clock; a
release frees the owner's capacity (a lead still in the backlog or in a named
queue is closed with no rep); a person may assign a queued (or waiting) lead to a
rep (`assign`); a disposition (`DISPOSITIONS`: won with its deal
value, lost, disqualified with one of `DISQUALIFY_REASONS`, or closed) is
recorded once, as an event `history` shows, and releases the lead too. Each
step is idempotent: applying the same events again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from solver.decode.reasons import ASSIGNED, ReasonCode
from solver.decode.result import Assignment, with_reason
from solver.online.lifecycle import LeadStatus
from solver.online.store import LeadStore

DISPOSITIONS = ("won", "lost", "disqualified", "closed")
ACTIONS = ("touch", "release", "close", "won", "lost", "disqualified", "assign")
MANUAL = "manual"  # the `policy` of a lead a person assigned
DISQUALIFY_REASONS = ("not_ready", "not_a_fit", "not_interested", "bad_data", "unreachable", "no_budget",
                      "no_authority", "other")


@dataclass(frozen=True)
class LeadEvent:
    """One line of an events file, validated (`solver.cli.events` reads them)."""

    lead_id: str
    action: str  # one of ACTIONS
    at: datetime
    reason: str | None = None  # disqualified: one of DISQUALIFY_REASONS
    value: float | None = None  # won: the deal's value
    rep_id: str | None = None  # assign: the rep a person gave a queued (or waiting) lead


def release(store: LeadStore, lead_id: str, at: datetime, run_id: int | None = None, *,
            by: str | None = None) -> bool:
    """Free the lead's capacity: an open lead is released, one in the backlog or a queue is closed
    with no rep (its answer final). False if it was neither (already closed, final, or undecided)."""
    status = store.status(lead_id)
    if status is not None and status.closable:
        answer = store.decision(lead_id)
        assert answer is not None
        reason = (ReasonCode.CLOSED_IN_QUEUE.reason(queue=answer.queue) if status is LeadStatus.QUEUED
                  else ReasonCode.CLOSED_WHILE_WAITING.reason())
        if store.close_waiting(with_reason(answer, reason), at, run_id):
            return True
        # another router on the store placed it meanwhile: release it there
    return store.release(lead_id, at, by=by)


def assign(store: LeadStore, lead_id: str, rep_id: str, at: datetime, run_id: int | None = None) -> bool:
    """A person gives a lead in a named queue (or the backlog) its rep; False if it waits no more."""
    answer = store.decision(lead_id)
    if answer is None or store.status(lead_id) not in (LeadStatus.QUEUED, LeadStatus.WAITING,
                                                       LeadStatus.DEFERRED):
        return False
    where = f"the queue {answer.queue}" if answer.queue else "the backlog"
    reason = ReasonCode.ASSIGNED_BY_PERSON.reason(where=where)
    return store.assign_waiting(Assignment(lead_id, rep_id, ASSIGNED, reason, 0.0, MANUAL, reason.code),
                                at, run_id=run_id)


def apply(store: LeadStore, event: LeadEvent, run_id: int | None = None) -> bool:
    """Apply one event; False if it changed nothing (already applied, or nothing to do)."""
    if event.action == "touch":
        return store.touch(event.lead_id, event.at)
    if event.action == "assign":
        return assign(store, event.lead_id, event.rep_id or "", event.at, run_id)
    freed = release(store, event.lead_id, event.at, run_id)
    if event.action == "release":
        return freed
    outcome = "closed" if event.action == "close" else event.action
    return store.record_outcome(event.lead_id, event.at, outcome, reason=event.reason,
                                value=event.value) or freed
