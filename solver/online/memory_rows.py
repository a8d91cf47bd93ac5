"""The rows of `MemoryStore`: one mutable record per lead, and its `leads()` view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus, decision_status
from solver.online.store import OpenLead, iso


class Row:
    """One lead's state (mutable: the store updates it in place)."""

    __slots__ = (
        "accepted_at",
        "answer",
        "decided_at",
        "lead",
        "outcome",
        "reassignments",
        "released_at",
        "run_id",
        "sla_due",
        "status",
        "touched_at",
    )

    def __init__(self, lead: Lead, accepted_at: datetime, status: LeadStatus, run_id: int | None) -> None:
        self.lead = lead
        self.accepted_at = accepted_at
        self.status = status
        self.answer: Assignment | None = None
        self.decided_at: datetime | None = None
        self.sla_due: datetime | None = None
        self.touched_at: datetime | None = None
        self.released_at: datetime | None = None
        self.reassignments = 0
        self.run_id = run_id
        self.outcome: tuple[str, str | None, float | None, datetime] | None = None  # what, why, value, when

    def state(self) -> tuple[Any, ...]:
        return (self.status, self.answer, self.decided_at, self.sla_due, self.touched_at,
                self.released_at, self.reassignments, self.run_id, self.outcome)

    def restore(self, state: tuple[Any, ...]) -> None:
        (self.status, self.answer, self.decided_at, self.sla_due, self.touched_at,
         self.released_at, self.reassignments, self.run_id, self.outcome) = state

    def open_lead(self) -> OpenLead:
        assert self.answer is not None and self.answer.rep_id is not None and self.decided_at is not None
        return OpenLead(self.lead, self.answer.rep_id, self.decided_at,
                        None if self.touched_at else self.sla_due, self.touched_at is not None,
                        self.reassignments)


def lead_fields(row: Row) -> dict[str, Any]:
    """The row as `LeadStore.leads()` shows it (`solver.online.store.LEAD_FIELDS`)."""
    a = row.answer
    what, why, value, when = row.outcome or (None, None, None, None)

    def time(at: datetime | None) -> str | None:
        return None if at is None else iso(at)

    return {
        "lead_id": row.lead.id, "accepted_at": iso(row.accepted_at),
        "status": decision_status(row.status, a.rep_id if a else None), "lifecycle": str(row.status),
        "rep_id": a.rep_id if a else None, "policy": a.policy if a else None,
        "reason": a.reason if a else None,
        "reason_code": None if a is None or a.reason_code is None else str(a.reason_code),
        "expected_value": a.expected_value if a else None, "effort": row.lead.effort,
        "decided_at": time(row.decided_at), "sla_due": time(row.sla_due), "touched_at": time(row.touched_at),
        "released_at": time(row.released_at), "reassignments": row.reassignments, "run_id": row.run_id,
        "queue": a.queue if a else None, "outcome": what, "outcome_reason": why, "outcome_value": value,
        "outcome_at": time(when), "arm": a.arm if a else None,
        "experiment": a.experiment if a else None,
    }
