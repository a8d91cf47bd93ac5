"""`MemoryStore`'s ledger beside the leads' lifecycle: intake for the caps, rotations, queues, outcomes.

A mixin, apart so that each module stays readable; it shares the store's rows
and lists (declared below) and its undo journal.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from solver.decode.result import Assignment
from solver.online.lifecycle import LeadStatus
from solver.online.memory_rows import Row, lead_fields
from solver.online.store import iso


class MemoryLedger:
    """The `LeadStore` methods of issue 13 for `MemoryStore` (see `LeadStore` for each contract)."""

    audit: bool
    _rows: dict[str, Row]
    _events: list[dict[str, Any]]
    _intake: list[tuple[str, datetime, str]]  # (rep id, when, lead id) of every assignment
    _intake_ordered: bool
    _rotation: dict[str, dict[str, Any]]

    def _journal_row(self, row: Row) -> None:
        raise NotImplementedError

    def record_outcome(self, lead_id: str, at: datetime, outcome: str, *, reason: str | None = None,
                       value: float | None = None) -> bool:
        row = self._rows.get(lead_id)
        if row is None or row.status.undecided or row.outcome is not None:
            return False
        self._journal_row(row)
        row.outcome = (outcome, reason, value, at)
        if self.audit:
            self._events.append(_event_fields(self._events, lead_id, at, outcome, row.answer, reason, value))
        return True

    def save_rotation(self, pools: Mapping[str, Mapping[str, Any]]) -> None:
        self._rotation.update({pool: dict(state) for pool, state in pools.items()})

    def _log_intake(self, rep_id: str, at: datetime, lead_id: str) -> None:
        """Log an assignment (the caps' intake, the pipeline's value)."""
        if self._intake and at < self._intake[-1][1]:
            self._intake_ordered = False  # a caller's clock went back: `since` scans from then on
        self._intake.append((rep_id, at, lead_id))

    def _intake_since(self, since: datetime) -> Iterator[tuple[str, datetime, str]]:
        """The log's entries at or after `since`: a binary search while the log is in time order."""
        if not self._intake_ordered:
            return (entry for entry in self._intake if entry[1] >= since)
        first = bisect.bisect_left(self._intake, since, key=lambda entry: entry[1])
        return itertools.islice(self._intake, first, None)

    def intake(self, since: datetime) -> list[tuple[str, datetime]]:
        return [(rep, at) for rep, at, _ in self._intake_since(since)]

    def pipeline_value(self, rep_ids: Sequence[str], since: datetime) -> np.ndarray:
        # A lead with an owner decided at or after `since` was logged then: its current row
        # says whether that owner still holds it (a lead moved since counts for its new owner).
        slots = {rep_id: k for k, rep_id in enumerate(rep_ids)}
        value = np.zeros(len(rep_ids), dtype=np.float64)
        seen: set[str] = set()
        for _, _, lead_id in self._intake_since(since):
            if lead_id in seen:
                continue
            seen.add(lead_id)
            row = self._rows[lead_id]
            k = slots.get(row.answer.rep_id) if row.answer and row.answer.rep_id else None
            if k is not None and row.decided_at is not None and row.decided_at >= since:
                value[k] += row.lead.value
        return value

    def rotation(self) -> dict[str, dict[str, Any]]:
        return {pool: dict(state) for pool, state in self._rotation.items()}

    def queued_leads(self, queue: str | None = None) -> list[dict[str, Any]]:
        rows = [r for r in self._rows.values() if r.status is LeadStatus.QUEUED
                and (queue is None or (r.answer is not None and r.answer.queue == queue))]
        rows.sort(key=lambda r: r.decided_at or r.accepted_at)  # stable: acceptance order on ties
        return [lead_fields(r) for r in rows]


def _event_fields(events: list[dict[str, Any]], lead_id: str, at: datetime, kind: str,
                  answer: Assignment | None, reason: str | None, value: float | None) -> dict[str, Any]:
    """A disposition's event (as `SqliteStore.record_outcome` writes it): the owner and arm of the
    lead's `answer`."""
    return {"seq": len(events) + 1, "lead_id": lead_id, "at": iso(at), "kind": kind,
            "rep_id": answer.rep_id if answer else None, "from_rep_id": None, "policy": None,
            "reason": reason, "reason_code": None, "expected_value": value, "explanation": None,
            "run_id": None, "arm": answer.arm if answer else None}
