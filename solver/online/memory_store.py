"""`MemoryStore`: the lead store in process memory, for the simulator's hot path and tests.

Every call is O(1) dict work (listings are O(what they return)): one row per
lead, insertion-ordered index dicts for the buffered, waiting and open leads,
and each rep's open count, effort and untouched open leads kept in numpy
arrays, updated as leads are assigned, touched, moved and released, never
recounted. With `audit` off (the router's default store) no events or
explanations are kept.

Transactions keep an undo journal (each changed lead's state before its first
change, the event and run counts), so a rollback restores every lead as it
was; a lead that left the backlog inside a rolled-back transaction rejoins it
at the end of the backlog's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np

from solver.decode.result import Assignment, keeping_arm
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus, status_of
from solver.online.memory_ledger import MemoryLedger
from solver.online.memory_rows import Row, lead_fields
from solver.online.store import (
    Accepted,
    NestedTransactions,
    OpenLead,
    RepLoads,
    WaitingLead,
    explanation_dict,
    iso,
    released_by,
)

# The lifecycle's status sets, as the hot paths test them (set membership, not a property call).
_UNDECIDED = frozenset(s for s in LeadStatus if s.undecided)
_BACKLOG = frozenset(s for s in LeadStatus if s.in_backlog)


class MemoryStore(MemoryLedger, NestedTransactions):
    """A `LeadStore` in memory (see the module docstring). Not thread-safe.

    Parameters
    ----------
    audit
        Keep the audit trail (events with explanations) for `history`. The
        router's default store turns it off: a simulation needs none of it.
    """

    def __init__(self, *, audit: bool = True) -> None:
        self.audit = audit
        self._rows: dict[str, Row] = {}
        self._undecided: dict[str, None] = {}  # insertion-ordered sets of lead ids
        self._waiting: dict[str, None] = {}
        self._open: dict[str, None] = {}
        self._rep_slot: dict[str, int] = {}
        self._rep_ids: list[str] = []
        self._count = np.zeros(16, dtype=np.int64)
        self._effort = np.zeros(16, dtype=np.int64)
        self._untouched = np.zeros(16, dtype=np.int64)  # open leads with no first response yet
        self._aligned: tuple[Sequence[str], np.ndarray | None] | None = None  # the last `loads` alignment
        self._events: list[dict[str, Any]] = []
        self._runs: list[dict[str, Any]] = []
        # (rep id, when, lead id) of every assignment, kept without `audit` too: the caps count it
        self._intake: list[tuple[str, datetime, str]] = []
        self._intake_ordered = True  # appended in time order so far: `since` is a binary search
        self._rotation: dict[str, dict[str, Any]] = {}
        self._rep_changes: list[dict[str, Any]] = []
        self._depth = 0
        self._journal: dict[str, tuple[Any, ...] | None] = {}
        self._mark: tuple[int, list[dict[str, Any]], int, dict[str, dict[str, Any]]] = (0, [], 0, {})
        self._rep_changes_mark = 0

    @property
    def explains(self) -> bool:
        return self.audit

    @property
    def durable(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release (the protocol's `close`)."""

    def writable(self) -> bool:
        """Always: memory takes writes until the process runs out of it."""
        return True

    def _begin(self) -> None:
        self._journal = {}
        self._mark = (len(self._events), list(self._runs), len(self._intake), dict(self._rotation))
        self._rep_changes_mark = len(self._rep_changes)

    def _commit(self) -> None:
        self._journal = {}

    def _rollback(self) -> None:
        try:
            self._undo()
        finally:
            self._journal = {}

    def _undo(self) -> None:
        for lead_id, state in reversed(self._journal.items()):
            row = self._rows[lead_id]
            self._unindex(row)
            if state is None:
                del self._rows[lead_id]
            else:
                row.restore(state)
                self._index(row)
        events, runs, intake, rotation = self._mark
        del self._events[events:]
        del self._intake[intake:]
        self._runs[:] = runs
        self._rotation = rotation
        del self._rep_changes[self._rep_changes_mark:]

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, kind: str, policy: str, at: datetime) -> int:
        run_id = len(self._runs) + 1
        self._runs.append({"run_id": run_id, "kind": kind, "policy": policy, "started_at": iso(at),
                           "finished_at": None, "summary": None})
        return run_id

    def finish_run(self, run_id: int, at: datetime, summary: dict[str, Any]) -> None:
        self._runs[run_id - 1] = self._runs[run_id - 1] | {"finished_at": iso(at), "summary": summary}

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._runs]

    # -- writes -------------------------------------------------------------------------------

    def accept(self, lead: Lead, at: datetime, run_id: int | None = None, *,
               buffered: bool = True) -> Accepted:
        known = self._rows.get(lead.id)
        if known is not None:
            return Accepted.RETRY if known.lead == lead else Accepted.CHANGED
        if at.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        if self._depth:
            self._journal.setdefault(lead.id, None)
        row = Row(lead, at, LeadStatus.BUFFERED if buffered else LeadStatus.RECEIVED, run_id)
        self._rows[lead.id] = row
        self._undecided[lead.id] = None
        if self.audit:
            self._event(lead.id, at, "accepted", run_id=run_id)
        return Accepted.NEW

    def accept_many(self, leads: Sequence[Lead], at: datetime, run_id: int | None = None) -> list[Accepted]:
        return [self.accept(lead, at, run_id) for lead in leads]

    def decide(self, answers: Sequence[Assignment], at: datetime, *,
               sla_due: Mapping[str, datetime] | None = None,
               explanations: Mapping[str, Any] | None = None, run_id: int | None = None) -> None:
        for a in answers:  # all or nothing: check before the first change
            if a.lead_id not in self._rows:
                raise KeyError(f"lead {a.lead_id!r} was never accepted by the store")
        for a in answers:
            row = self._rows[a.lead_id]
            if row.status not in _UNDECIDED:
                continue
            self._settle(row, status_of(a), a, at, sla_due.get(a.lead_id) if sla_due else None,
                         (explanations or {}).get(a.lead_id), run_id)

    def assign_waiting(self, answer: Assignment, at: datetime, *, sla_due: datetime | None = None,
                       explanation: Any = None, run_id: int | None = None) -> bool:
        row = self._rows.get(answer.lead_id)
        if row is None or not row.status.closable:  # the backlog, or a named queue
            return False
        self._settle(row, LeadStatus.ASSIGNED, answer, at, sla_due, explanation, run_id)
        return True

    def _settle(self, row: Row, status: LeadStatus, answer: Assignment, at: datetime,
                sla_due: datetime | None, explanation: Any, run_id: int | None) -> None:
        """Give a lead its answer: status, indexes, the rep's intake (caps) and the audit event."""
        answer = keeping_arm(answer, row.answer)
        self._change(row)
        row.status, row.answer, row.decided_at, row.sla_due = status, answer, at, sla_due
        if run_id is not None:
            row.run_id = run_id
        self._index(row)
        if answer.rep_id is not None:
            self._log_intake(answer.rep_id, at, answer.lead_id)
        if self.audit:
            self._event(answer.lead_id, at, answer.status, answer, explanation=explanation, run_id=run_id)

    def close_waiting(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        row = self._rows.get(answer.lead_id)
        if row is None or not row.status.closable:
            return False
        return self._end_waiting(answer, at, LeadStatus.CLOSED, "released", run_id)

    def expire(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, LeadStatus.EXPIRED, answer.status, run_id)

    def _end_waiting(self, answer: Assignment, at: datetime, status: LeadStatus, kind: str,
                     run_id: int | None) -> bool:
        row = self._rows.get(answer.lead_id)
        if row is None or not (row.status.closable if status is LeadStatus.CLOSED else row.status.in_backlog):
            return False
        answer = keeping_arm(answer, row.answer)
        self._change(row)
        row.status, row.answer = status, answer
        if status is LeadStatus.CLOSED:
            row.released_at = at
        self._index(row)
        if self.audit:
            # an expired answer keeps its policy and value (`history --run` prints it as the run did)
            self._event(answer.lead_id, at, kind, answer, run_id=run_id,
                        keep_rep=status is LeadStatus.EXPIRED)
        return True

    def reassign(self, answer: Assignment, from_rep_id: str, at: datetime, sla_due: datetime | None,
                 explanation: Any = None, run_id: int | None = None) -> bool:
        row = self._rows.get(answer.lead_id)
        if row is None or row.status is not LeadStatus.ASSIGNED:
            return False
        answer = keeping_arm(answer, row.answer)
        self._change(row)
        row.answer, row.decided_at, row.sla_due, row.touched_at = answer, at, sla_due, None
        row.reassignments += 1
        self._index(row)
        if answer.rep_id is not None:
            self._log_intake(answer.rep_id, at, answer.lead_id)
        if self.audit:
            self._event(answer.lead_id, at, "reassigned", answer, from_rep_id=from_rep_id,
                        explanation=explanation, run_id=run_id)
        return True

    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        row = self._rows.get(lead_id)
        if row is not None:
            self._journal_row(row)
            row.sla_due = sla_due

    def touch(self, lead_id: str, at: datetime) -> bool:
        row = self._rows.get(lead_id)
        if row is None or row.status is not LeadStatus.ASSIGNED or row.touched_at is not None:
            return False
        self._journal_row(row)
        row.touched_at = at
        rep_id = row.answer.rep_id if row.answer else None
        if rep_id is not None:  # an open lead has its owner: it leaves the owner's untouched queue
            self._untouched[self._slot(rep_id)] -= 1
        if self.audit:
            self._event(lead_id, at, "touched", rep_id=rep_id)
        return True

    def release(self, lead_id: str, at: datetime, *, by: str | None = None) -> bool:
        row = self._rows.get(lead_id)
        if row is None or row.status is not LeadStatus.ASSIGNED:
            return False
        self._change(row)
        row.status, row.released_at = LeadStatus.CLOSED, at
        self._index(row)
        if self.audit:
            self._event(lead_id, at, "released", rep_id=row.answer.rep_id if row.answer else None,
                        reason=released_by(by))
        return True

    # -- reads --------------------------------------------------------------------------------

    def status(self, lead_id: str) -> LeadStatus | None:
        row = self._rows.get(lead_id)
        return None if row is None else row.status

    def record(self, lead_id: str) -> Lead | None:
        row = self._rows.get(lead_id)
        return None if row is None else row.lead

    def decision(self, lead_id: str) -> Assignment | None:
        row = self._rows.get(lead_id)
        return None if row is None else row.answer

    def records(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        return {lead_id: row.lead for lead_id in lead_ids if (row := self._rows.get(lead_id)) is not None}

    def known(self, lead_ids: Iterable[str]) -> set[str]:
        return {lead_id for lead_id in lead_ids if lead_id in self._rows}

    def statuses(self, lead_ids: Iterable[str]) -> dict[str, LeadStatus]:
        return {lead_id: row.status for lead_id in lead_ids if (row := self._rows.get(lead_id)) is not None}

    def buffered_leads(self) -> list[tuple[Lead, datetime]]:
        rows = self._rows
        return [(rows[i].lead, rows[i].accepted_at) for i in self._undecided]

    def count_buffered(self) -> int:
        return len(self._undecided)

    def oldest_buffered_at(self) -> datetime | None:
        for lead_id in self._undecided:
            return self._rows[lead_id].accepted_at
        return None

    def open_lead(self, lead_id: str) -> OpenLead | None:
        row = self._rows.get(lead_id)
        return row.open_lead() if row is not None and row.status is LeadStatus.ASSIGNED else None

    def open_leads(self) -> list[OpenLead]:
        rows = self._rows
        return [rows[i].open_lead() for i in self._open]

    def stale_leads(self, now: datetime, max_reassignments: int) -> list[OpenLead]:
        rows = self._rows
        due = [rows[i] for i in self._open]
        due = [r for r in due if r.touched_at is None and r.sla_due is not None and r.sla_due <= now
               and r.reassignments < max_reassignments]
        due.sort(key=lambda r: (r.sla_due, r.lead.id))
        return [r.open_lead() for r in due]

    def waiting_leads(self, *, start: int = 0, limit: int | None = None,
                      since_before: datetime | None = None) -> list[WaitingLead]:
        rows = self._rows
        ids = islice(self._waiting, start, None if limit is None else start + limit)  # skips in C
        out = []
        for lead_id in ids:
            row = rows[lead_id]
            assert row.decided_at is not None and row.answer is not None
            if since_before is not None and row.decided_at > since_before:
                break
            out.append(WaitingLead(row.lead, row.decided_at, row.answer))
        return out

    def count_waiting(self) -> int:
        return len(self._waiting)

    def loads(self, rep_ids: Sequence[str] | None = None) -> RepLoads:
        n = len(self._rep_ids)
        if rep_ids is None:
            held = np.flatnonzero(self._count[:n])
            return RepLoads([self._rep_ids[k] for k in held], self._count[held], self._effort[held],
                            self._untouched[held])
        aligned = self._aligned
        if aligned is None or (aligned[0] is not rep_ids and aligned[0] != rep_ids):
            slots = [self._slot(r) for r in rep_ids]  # a new store takes the caller's order
            # None: the caller's reps hold the store's first slots in order, so views need no gather
            gather = None if slots == list(range(len(slots))) else np.array(slots, dtype=np.intp)
            aligned = self._aligned = (rep_ids, gather)
        gather = aligned[1]
        if gather is None:
            m = len(rep_ids)
            return RepLoads(rep_ids, self._count[:m], self._effort[:m], self._untouched[:m])
        return RepLoads(rep_ids, self._count[gather], self._effort[gather], self._untouched[gather])

    def history(self, lead_id: str | None = None, *, run_id: int | None = None) -> list[dict[str, Any]]:
        return [dict(e) for e in self._events if (lead_id is None or e["lead_id"] == lead_id)
                and (run_id is None or e["run_id"] == run_id)]

    def leads(self) -> list[dict[str, Any]]:
        return [lead_fields(row) for row in self._rows.values()]

    # -- internals ----------------------------------------------------------------------------

    def _journal_row(self, row: Row) -> None:
        if self._depth and row.lead.id not in self._journal:
            self._journal[row.lead.id] = row.state()

    def _change(self, row: Row) -> None:
        """Before a status or owner change: journal the row and take it out of the indexes."""
        self._journal_row(row)
        self._unindex(row)

    def _unindex(self, row: Row) -> None:
        status, lead_id = row.status, row.lead.id
        if status is LeadStatus.ASSIGNED:
            del self._open[lead_id]
            self._hold(row, -1)
        elif status in _BACKLOG:
            del self._waiting[lead_id]
        elif status in _UNDECIDED:
            del self._undecided[lead_id]

    def _index(self, row: Row) -> None:
        status, lead_id = row.status, row.lead.id
        if status is LeadStatus.ASSIGNED:
            self._open[lead_id] = None
            self._hold(row, +1)
        elif status in _BACKLOG:
            self._waiting[lead_id] = None
        elif status in _UNDECIDED:
            self._undecided[lead_id] = None

    def _hold(self, row: Row, sign: int) -> None:
        assert row.answer is not None and row.answer.rep_id is not None
        k = self._slot(row.answer.rep_id)
        self._count[k] += sign
        self._effort[k] += sign * row.lead.effort
        if row.touched_at is None:
            self._untouched[k] += sign

    def _slot(self, rep_id: str) -> int:
        k = self._rep_slot.get(rep_id)
        if k is None:
            k = self._rep_slot[rep_id] = len(self._rep_ids)
            self._rep_ids.append(rep_id)
            if k == len(self._count):  # grow by doubling: amortized O(1)
                self._count, self._effort, self._untouched = (
                    np.concatenate([held, np.zeros_like(held)])
                    for held in (self._count, self._effort, self._untouched))
        return k

    def _event(self, lead_id: str, at: datetime, kind: str, answer: Assignment | None = None, *,
               rep_id: str | None = None, from_rep_id: str | None = None, explanation: Any = None,
               run_id: int | None = None, keep_rep: bool = True, reason: str | None = None) -> None:
        if answer is not None:
            rep_id = answer.rep_id if keep_rep else None
        decided = self._rows[lead_id].answer
        self._events.append({
            "seq": len(self._events) + 1, "lead_id": lead_id, "at": iso(at), "kind": kind,
            "rep_id": rep_id, "from_rep_id": from_rep_id,
            "policy": None if answer is None or not keep_rep else answer.policy,
            "reason": reason if answer is None else answer.reason,
            "reason_code": None if answer is None or answer.reason_code is None else str(answer.reason_code),
            "expected_value": None if answer is None or not keep_rep else answer.expected_value,
            "explanation": explanation_dict(explanation), "run_id": run_id,
            "arm": None if decided is None else decided.arm,
        })


    # -- the team's changes -------------------------------------------------------------------

    def record_rep_change(self, rep_id: str, at: datetime, change: Mapping[str, Any], by: str) -> int:
        seq = len(self._rep_changes) + 1
        self._rep_changes.append({"seq": seq, "rep_id": rep_id, "at": iso(at), "by": by,
                                  "change": dict(change)})
        return seq

    def rep_changes(self, rep_id: str | None = None) -> list[dict[str, Any]]:
        return [row | {"change": dict(row["change"])} for row in self._rep_changes
                if rep_id is None or row["rep_id"] == rep_id]
