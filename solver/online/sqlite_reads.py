"""The SQLite ledger's reads: the lookups and listings of `LeadStore`, as a mixin of `SqliteStore`.

Apart from the writes so that each module stays readable; both share the
connection (`_db`) and the status sets below. Reads run in the caller's
transaction when there is one (the router reads and decides in one).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.ledger_stats import period_start
from solver.online.lifecycle import LeadStatus, decision_status
from solver.online.sqlite_schema import answer_of, mapped, open_lead_of
from solver.online.store import (
    EVENT_FIELDS,
    LEAD_FIELDS,
    REP_CHANGE_FIELDS,
    IntakeCache,
    OpenLead,
    RepLoads,
    WaitingLead,
    cached_intake,
    intake_after,
    iso,
)

ASSIGNED = LeadStatus.ASSIGNED.value
QUEUED = LeadStatus.QUEUED.value
CLOSED = LeadStatus.CLOSED.value
UNDECIDED = tuple(s.value for s in LeadStatus if s.undecided)
BACKLOG = tuple(s.value for s in LeadStatus if s.in_backlog)
IN_UNDECIDED = f"status IN ({', '.join('?' * len(UNDECIDED))})"
IN_BACKLOG = f"status IN ({', '.join('?' * len(BACKLOG))})"


class LedgerReads:
    """The read methods of `SqliteStore` (see `LeadStore` for each one's contract)."""

    path: str
    timeout_s: float
    _db: sqlite3.Connection
    _writes: int
    _loads_cache: tuple[tuple[int, int], dict[str, tuple[int, int, int]]] | None
    _intake_cache: IntakeCache | None

    @mapped
    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        return [dict(r) | {"summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows]

    # -- reads --------------------------------------------------------------------------------

    @mapped
    def status(self, lead_id: str) -> LeadStatus | None:
        row = self._db.execute("SELECT status FROM leads WHERE lead_id = ?", (lead_id,)).fetchone()
        return None if row is None else LeadStatus(row[0])

    @mapped
    def record(self, lead_id: str) -> Lead | None:
        row = self._db.execute("SELECT record FROM leads WHERE lead_id = ?", (lead_id,)).fetchone()
        return None if row is None else Lead.model_validate_json(row[0])

    @mapped
    def decision(self, lead_id: str) -> Assignment | None:
        row = self._db.execute(f"SELECT * FROM leads WHERE lead_id = ? AND NOT {IN_UNDECIDED}",
                               (lead_id, *UNDECIDED)).fetchone()
        return None if row is None else answer_of(row)

    @mapped
    def known(self, lead_ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._by_ids("lead_id", lead_ids)}

    @mapped
    def statuses(self, lead_ids: Iterable[str]) -> dict[str, LeadStatus]:
        return {r[0]: LeadStatus(r[1]) for r in self._by_ids("lead_id, status", lead_ids)}

    @mapped
    def records(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        return {r[0]: Lead.model_validate_json(r[1]) for r in self._by_ids("lead_id, record", lead_ids)}

    def _by_ids(self, columns: str, lead_ids: Iterable[str]) -> Iterator[sqlite3.Row]:
        """`columns` of the leads with these ids, 500 ids a statement (SQLite limits bound parameters)."""
        ids = list(lead_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(f"SELECT {columns} FROM leads WHERE lead_id IN ({marks})", chunk)

    @mapped
    def buffered_leads(self) -> list[tuple[Lead, datetime]]:
        rows = self._db.execute(f"SELECT record, accepted_at FROM leads WHERE {IN_UNDECIDED} "
                                "ORDER BY accepted_at, rowid", UNDECIDED)
        return [(Lead.model_validate_json(r["record"]), datetime.fromisoformat(r["accepted_at"]))
                for r in rows]

    @mapped
    def count_buffered(self) -> int:
        sql = f"SELECT COUNT(*) FROM leads WHERE {IN_UNDECIDED}"
        return int(self._db.execute(sql, UNDECIDED).fetchone()[0])

    @mapped
    def oldest_buffered_at(self) -> datetime | None:
        row = self._db.execute(f"SELECT MIN(accepted_at) FROM leads WHERE {IN_UNDECIDED}",
                               UNDECIDED).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    @mapped
    def open_lead(self, lead_id: str) -> OpenLead | None:
        row = self._db.execute("SELECT * FROM leads WHERE lead_id = ? AND status = ?",
                               (lead_id, ASSIGNED)).fetchone()
        return None if row is None else open_lead_of(row)

    @mapped
    def open_leads(self) -> list[OpenLead]:
        rows = self._db.execute("SELECT * FROM leads WHERE status = ? ORDER BY decided_at, rowid",
                                (ASSIGNED,))
        return [open_lead_of(r) for r in rows]

    @mapped
    def stale_leads(self, now: datetime, max_reassignments: int) -> list[OpenLead]:
        rows = self._db.execute(
            "SELECT * FROM leads WHERE status = ? AND touched_at IS NULL AND sla_due <= ? "
            "AND reassignments < ? ORDER BY sla_due, lead_id", (ASSIGNED, iso(now), max_reassignments))
        return [open_lead_of(r) for r in rows]

    @mapped
    def waiting_leads(self, *, start: int = 0, limit: int | None = None,
                      since_before: datetime | None = None) -> list[WaitingLead]:
        since = "" if since_before is None else " AND decided_at <= ?"
        rows = self._db.execute(
            f"SELECT * FROM leads WHERE {IN_BACKLOG}{since} ORDER BY decided_at, rowid LIMIT ? OFFSET ?",
            (*BACKLOG, *(() if since_before is None else (iso(since_before),)),
             -1 if limit is None else limit, start))
        return [WaitingLead(Lead.model_validate_json(r["record"]), datetime.fromisoformat(r["decided_at"]),
                            answer_of(r)) for r in rows]

    @mapped
    def count_waiting(self) -> int:
        sql = f"SELECT COUNT(*) FROM leads WHERE {IN_BACKLOG}"
        return int(self._db.execute(sql, BACKLOG).fetchone()[0])

    @mapped
    def loads(self, rep_ids: Sequence[str] | None = None) -> RepLoads:
        held = self._held()
        ids = list(held) if rep_ids is None else rep_ids
        table = np.array([held.get(r, (0, 0, 0)) for r in ids], dtype=np.int64).reshape(len(ids), 3)
        return RepLoads(ids, table[:, 0], table[:, 1], table[:, 2])

    def _held(self) -> dict[str, tuple[int, int, int]]:
        """Open leads, effort and untouched open leads per rep, cached until this connection or
        another one writes."""
        version = (int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._writes)
        if self._loads_cache is None or self._loads_cache[0] != version:
            rows = self._db.execute("SELECT rep_id, COUNT(*), SUM(effort), SUM(touched_at IS NULL) "
                                    "FROM leads WHERE status = ? GROUP BY rep_id", (ASSIGNED,))
            self._loads_cache = (version, {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows})
        return self._loads_cache[1]

    @mapped
    def pipeline_value(self, rep_ids: Sequence[str], since: datetime) -> np.ndarray:
        # decided_at is the lead's current owner's assignment time (a move resets it); ISO UTC
        # text sorts as time, as `intake` compares it
        rows = self._db.execute(
            "SELECT rep_id, SUM(json_extract(record, '$.value')) FROM leads WHERE status IN (?, ?) "
            "AND decided_at >= ? AND rep_id IS NOT NULL GROUP BY rep_id", (ASSIGNED, CLOSED, iso(since)))
        value = {r[0]: float(r[1] or 0.0) for r in rows}
        return np.array([value.get(r, 0.0) for r in rep_ids], dtype=np.float64)

    @mapped
    def intake(self, since: datetime) -> list[tuple[str, datetime]]:
        # a rollback of this connection's own writes drops the cache (`SqliteStore._rollback`);
        # the last seq first: every event up to it is committed (or this connection's own)
        top = int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
        rows = self._db.execute(
            "SELECT rep_id, at FROM events WHERE seq > ? AND seq <= ? AND kind IN ('assigned', "
            "'reassigned') AND at >= ? AND rep_id IS NOT NULL ORDER BY seq",
            (intake_after(self._intake_cache, since), top, iso(since)))
        self._intake_cache = cached_intake(self._intake_cache, since, top,
                                           [(r[0], datetime.fromisoformat(r[1])) for r in rows])
        return list(self._intake_cache[2])

    @mapped
    def rotation(self) -> dict[str, dict[str, Any]]:
        return {r[0]: json.loads(r[1]) for r in self._db.execute("SELECT pool, state FROM rotations")}

    # -- the console's grouped figures (`solver.online.ledger_stats.LedgerStats`) ------------

    @mapped
    def rep_periods(self, since: datetime, until: datetime, bucket: str,
                    now: datetime) -> list[dict[str, Any]]:
        # One query per period over the covering index leads_period, grouped by rep alone: no
        # record is read, no per-lead Python, and each sort holds at most one row per rep (one
        # GROUP BY period, rep over eight weeks sorted 8,000 groups: three times slower).
        step = timedelta(days=7 if bucket == "week" else 1)
        start, out = period_start(since, "week" if bucket == "week" else "day"), []
        while start < until:
            low, high = max(start, since), min(start + step, until)
            rows = self._db.execute("""
                SELECT rep_id, COUNT(*) AS leads, TOTAL(value) AS pipeline, COUNT(touched_at) AS touched,
                       TOTAL(touch_minutes) AS touch_minutes,
                       SUM(sla_due IS NOT NULL AND ((touched_at IS NOT NULL AND touched_at > sla_due)
                                                    OR (touched_at IS NULL AND sla_due < ?))) AS breaches
                FROM leads INDEXED BY leads_period
                WHERE rep_id IS NOT NULL AND decided_at >= ? AND decided_at < ? GROUP BY rep_id""",
                                    (iso(now), iso(low), iso(high)))
            period = start.date().isoformat()
            out += [{"period": period, **dict(r)} for r in rows]
            start += step
        return out

    @mapped
    def sla_clocks(self, now: datetime, within: timedelta, limit: int) -> tuple[int, list[dict[str, Any]]]:
        # The status as a literal: the partial index leads_sla_open holds exactly these leads.
        open_untouched = (f"leads INDEXED BY leads_sla_open WHERE status = '{ASSIGNED}' "
                          "AND touched_at IS NULL AND sla_due IS NOT NULL")
        overdue = self._db.execute(f"SELECT COUNT(*) FROM {open_untouched} AND sla_due <= ?",
                                   (iso(now),)).fetchone()[0]
        rows = self._db.execute(
            f"SELECT lead_id, rep_id, sla_due FROM {open_untouched} AND sla_due > ? "
            "AND sla_due <= ? ORDER BY sla_due, lead_id LIMIT ?", (iso(now), iso(now + within), limit))
        return int(overdue), [dict(r) for r in rows]

    @mapped
    def status_counts(self) -> dict[str, int]:
        # One count per status off the index leads_by_status (closed leads, the most, are counted
        # there without reading a row); the named queues' few leads grouped by queue.
        counts = {status.value: int(self._db.execute("SELECT COUNT(*) FROM leads WHERE status = ?",
                                                     (status.value,)).fetchone()[0]) for status in LeadStatus}
        for queue, n in self._db.execute("SELECT queue, COUNT(*) FROM leads WHERE status = ? GROUP BY queue",
                                         (QUEUED,)):
            counts[f"queue:{queue}"] = n
        return {status: n for status, n in counts.items() if n}

    @mapped
    def rep_changes(self, rep_id: str | None = None) -> list[dict[str, Any]]:
        only = "" if rep_id is None else " WHERE rep_id = ?"
        rows = self._db.execute(f"SELECT * FROM rep_changes{only} ORDER BY seq",
                                () if rep_id is None else (rep_id,))
        return [{k: r[k] for k in REP_CHANGE_FIELDS} | {"change": json.loads(r["change"])} for r in rows]

    @mapped
    def queued_leads(self, queue: str | None = None) -> list[dict[str, Any]]:
        only = "" if queue is None else " AND queue = ?"
        rows = self._db.execute(f"SELECT * FROM leads WHERE status = ?{only} ORDER BY decided_at, rowid",
                                (QUEUED, *(() if queue is None else (queue,))))
        return [self._lead_row(r) for r in rows]

    @mapped
    def history(self, lead_id: str | None = None, *, run_id: int | None = None) -> list[dict[str, Any]]:
        where = {"lead_id = ?": lead_id, "run_id = ?": run_id}
        where = {clause: value for clause, value in where.items() if value is not None}
        sql = ("SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY seq")
        rows = self._db.execute(sql, tuple(where.values()))
        return [{k: r[k] for k in EVENT_FIELDS}
                | {"explanation": json.loads(r["explanation"]) if r["explanation"] else None} for r in rows]

    @mapped
    def leads(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM leads ORDER BY accepted_at, rowid")
        return [self._lead_row(r) for r in rows]

    @staticmethod
    def _lead_row(r: sqlite3.Row) -> dict[str, Any]:
        return ({k: r[k] for k in LEAD_FIELDS if k not in ("status", "lifecycle")}
                | {"status": decision_status(LeadStatus(r["status"]), r["rep_id"]), "lifecycle": r["status"]})
