"""The PostgreSQL ledger's reads: the lookups and listings of `LeadStore`, as a mixin of `PostgresStore`.

Apart from the writes so that each module stays readable; both share the
connection (`_db`, rows as dicts). A read inside the caller's transaction
runs after the ledger's lock was taken, so it sees every decision committed
before (READ COMMITTED: each statement reads the latest commits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus, decision_status
from solver.online.pg_open import mapped
from solver.online.pg_schema import answer_of, open_lead_of, shown
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
)

if TYPE_CHECKING:
    import psycopg

ASSIGNED = LeadStatus.ASSIGNED.value
QUEUED = LeadStatus.QUEUED.value
CLOSED = LeadStatus.CLOSED.value
UNDECIDED = [s.value for s in LeadStatus if s.undecided]
BACKLOG = [s.value for s in LeadStatus if s.in_backlog]


class LedgerReads:
    """The read methods of `PostgresStore` (see `LeadStore` for each one's contract)."""

    url: str
    timeout_s: float
    _db: psycopg.Connection[dict[str, Any]]
    _intake_cache: IntakeCache | None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return self._db.execute(sql, params).fetchone()

    @mapped
    def runs(self) -> list[dict[str, Any]]:
        return [shown(r) for r in self._rows("SELECT run_id, kind, policy, started_at, finished_at, summary "
                                             "FROM runs ORDER BY run_id")]

    # -- reads --------------------------------------------------------------------------------

    @mapped
    def status(self, lead_id: str) -> LeadStatus | None:
        row = self._one("SELECT status FROM leads WHERE lead_id = %s", (lead_id,))
        return None if row is None else LeadStatus(row["status"])

    @mapped
    def record(self, lead_id: str) -> Lead | None:
        row = self._one("SELECT record FROM leads WHERE lead_id = %s", (lead_id,))
        return None if row is None else Lead.model_validate(row["record"])

    @mapped
    def decision(self, lead_id: str) -> Assignment | None:
        row = self._one("SELECT * FROM leads WHERE lead_id = %s AND NOT status = ANY(%s)",
                        (lead_id, UNDECIDED))
        return None if row is None else answer_of(row)

    @mapped
    def known(self, lead_ids: Iterable[str]) -> set[str]:
        ids = list(lead_ids)
        return {r["lead_id"] for r in self._rows("SELECT lead_id FROM leads WHERE lead_id = ANY(%s)", (ids,))}

    @mapped
    def statuses(self, lead_ids: Iterable[str]) -> dict[str, LeadStatus]:
        rows = self._rows("SELECT lead_id, status FROM leads WHERE lead_id = ANY(%s)", (list(lead_ids),))
        return {r["lead_id"]: LeadStatus(r["status"]) for r in rows}

    @mapped
    def records(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        rows = self._rows("SELECT lead_id, record FROM leads WHERE lead_id = ANY(%s)", (list(lead_ids),))
        return {r["lead_id"]: Lead.model_validate(r["record"]) for r in rows}

    @mapped
    def buffered_leads(self) -> list[tuple[Lead, datetime]]:
        rows = self._rows("SELECT record, accepted_at FROM leads WHERE status = ANY(%s) "
                          "ORDER BY accepted_at, n", (UNDECIDED,))
        return [(Lead.model_validate(r["record"]), r["accepted_at"]) for r in rows]

    @mapped
    def count_buffered(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM leads WHERE status = ANY(%s)", (UNDECIDED,))
        return int(row["n"]) if row else 0

    @mapped
    def oldest_buffered_at(self) -> datetime | None:
        row = self._one("SELECT MIN(accepted_at) AS at FROM leads WHERE status = ANY(%s)", (UNDECIDED,))
        return None if row is None else row["at"]

    @mapped
    def open_lead(self, lead_id: str) -> OpenLead | None:
        row = self._one("SELECT * FROM leads WHERE lead_id = %s AND status = %s", (lead_id, ASSIGNED))
        return None if row is None else open_lead_of(row)

    @mapped
    def open_leads(self) -> list[OpenLead]:
        return [open_lead_of(r) for r in self._rows("SELECT * FROM leads WHERE status = %s "
                                                    "ORDER BY decided_at, n", (ASSIGNED,))]

    @mapped
    def stale_leads(self, now: datetime, max_reassignments: int) -> list[OpenLead]:
        rows = self._rows(
            "SELECT * FROM leads WHERE status = %s AND touched_at IS NULL AND sla_due <= %s "
            "AND reassignments < %s ORDER BY sla_due, lead_id", (ASSIGNED, now, max_reassignments))
        return [open_lead_of(r) for r in rows]

    @mapped
    def waiting_leads(self, *, start: int = 0, limit: int | None = None,
                      since_before: datetime | None = None) -> list[WaitingLead]:
        since = "" if since_before is None else " AND decided_at <= %s"
        rows = self._rows(
            f"SELECT * FROM leads WHERE status = ANY(%s){since} ORDER BY decided_at, n LIMIT %s OFFSET %s",
            (BACKLOG, *(() if since_before is None else (since_before,)), limit, start))
        return [WaitingLead(Lead.model_validate(r["record"]), r["decided_at"], answer_of(r)) for r in rows]

    @mapped
    def count_waiting(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM leads WHERE status = ANY(%s)", (BACKLOG,))
        return int(row["n"]) if row else 0

    @mapped
    def loads(self, rep_ids: Sequence[str] | None = None) -> RepLoads:
        rows = self._rows("SELECT rep_id, COUNT(*) AS n, SUM(effort) AS effort, "
                          "COUNT(*) FILTER (WHERE touched_at IS NULL) AS untouched "
                          "FROM leads WHERE status = %s GROUP BY rep_id", (ASSIGNED,))
        held = {r["rep_id"]: (int(r["n"]), int(r["effort"]), int(r["untouched"])) for r in rows}
        ids = list(held) if rep_ids is None else rep_ids
        table = np.array([held.get(r, (0, 0, 0)) for r in ids], dtype=np.int64).reshape(len(ids), 3)
        return RepLoads(ids, table[:, 0], table[:, 1], table[:, 2])

    @mapped
    def pipeline_value(self, rep_ids: Sequence[str], since: datetime) -> np.ndarray:
        # decided_at is the lead's current owner's assignment time (a move resets it)
        rows = self._rows(
            "SELECT rep_id, SUM((record->>'value')::double precision) AS value FROM leads "
            "WHERE status IN (%s, %s) AND decided_at >= %s AND rep_id IS NOT NULL GROUP BY rep_id",
            (ASSIGNED, CLOSED, since))
        value = {r["rep_id"]: float(r["value"] or 0.0) for r in rows}
        return np.array([value.get(r, 0.0) for r in rep_ids], dtype=np.float64)

    @mapped
    def intake(self, since: datetime) -> list[tuple[str, datetime]]:
        # Every writer holds the ledger's lock while it writes, so events commit in seq order:
        # once a seq is visible, every lower one is committed (or rolled back for good). A
        # rollback of this connection's own writes drops the cache (`PostgresStore._rollback`).
        # The last seq and the assignments after the cached ones, in one round trip:
        rows = self._rows(
            "WITH top AS (SELECT COALESCE(MAX(seq), 0) AS top FROM events) "
            "SELECT top.top, e.rep_id, e.at FROM top LEFT JOIN events e ON e.seq > %s "
            "AND e.seq <= top.top AND e.kind IN ('assigned', 'reassigned') AND e.at >= %s "
            "AND e.rep_id IS NOT NULL ORDER BY e.seq",
            (intake_after(self._intake_cache, since), since))
        top = int(rows[0]["top"]) if rows else 0
        self._intake_cache = cached_intake(self._intake_cache, since, top,
                                           [(r["rep_id"], r["at"]) for r in rows if r["rep_id"] is not None])
        return list(self._intake_cache[2])

    @mapped
    def rotation(self) -> dict[str, dict[str, Any]]:
        return {r["pool"]: r["state"] for r in self._rows("SELECT pool, state FROM rotations")}

    @mapped
    def queued_leads(self, queue: str | None = None) -> list[dict[str, Any]]:
        only = "" if queue is None else " AND queue = %s"
        rows = self._rows(f"SELECT * FROM leads WHERE status = %s{only} ORDER BY decided_at, n",
                          (QUEUED, *(() if queue is None else (queue,))))
        return [self._lead_row(r) for r in rows]

    @mapped
    def history(self, lead_id: str | None = None, *, run_id: int | None = None) -> list[dict[str, Any]]:
        where = {"lead_id = %s": lead_id, "run_id = %s": run_id}
        where = {clause: value for clause, value in where.items() if value is not None}
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        rows = map(shown, self._rows(sql, tuple(where.values())))
        return [{k: row[k] for k in EVENT_FIELDS} for row in rows]

    # -- the console's grouped figures (`solver.online.ledger_stats.LedgerStats`) ---------------

    @mapped
    def rep_periods(self, since: datetime, until: datetime, bucket: str,
                    now: datetime) -> list[dict[str, Any]]:
        # date_trunc('week') starts on Monday, as `ledger_stats.period_start`; times are UTC
        rows = self._rows(
            "SELECT to_char(date_trunc(%s, decided_at), 'YYYY-MM-DD') AS period, rep_id, COUNT(*) AS leads, "
            "SUM((record->>'value')::double precision) AS pipeline, COUNT(touched_at) AS touched, "
            "SUM(EXTRACT(EPOCH FROM touched_at - decided_at) / 60) AS touch_minutes, "
            "COUNT(*) FILTER (WHERE sla_due IS NOT NULL AND ((touched_at IS NOT NULL "
            "AND touched_at > sla_due) OR (touched_at IS NULL AND sla_due < %s))) AS breaches "
            "FROM leads WHERE rep_id IS NOT NULL AND decided_at >= %s AND decided_at < %s GROUP BY 1, 2",
            ("week" if bucket == "week" else "day", now, since, until))
        return [{"period": r["period"], "rep_id": r["rep_id"], "leads": int(r["leads"]),
                 "pipeline": float(r["pipeline"] or 0.0), "touched": int(r["touched"]),
                 "touch_minutes": float(r["touch_minutes"] or 0.0), "breaches": int(r["breaches"])}
                for r in rows]

    @mapped
    def status_counts(self) -> dict[str, int]:
        counts = {r["status"]: int(r["n"]) for r in self._rows(
            "SELECT status, COUNT(*) AS n FROM leads GROUP BY status")}
        for r in self._rows("SELECT queue, COUNT(*) AS n FROM leads WHERE status = %s GROUP BY queue",
                            (QUEUED,)):
            counts[f"queue:{r['queue']}"] = int(r["n"])
        return counts

    @mapped
    def sla_clocks(self, now: datetime, within: timedelta, limit: int) -> tuple[int, list[dict[str, Any]]]:
        # the partial index leads_sla_open holds exactly these leads
        open_untouched = "status = 'assigned' AND touched_at IS NULL AND sla_due IS NOT NULL"
        overdue = self._one(f"SELECT COUNT(*) AS n FROM leads WHERE {open_untouched} AND sla_due <= %s",
                            (now,))
        rows = self._rows(
            f"SELECT lead_id, rep_id, sla_due FROM leads WHERE {open_untouched} AND sla_due > %s "
            "AND sla_due <= %s ORDER BY sla_due, lead_id LIMIT %s", (now, now + within, limit))
        return int(overdue["n"]) if overdue else 0, [shown(r) for r in rows]

    @mapped
    def rep_changes(self, rep_id: str | None = None) -> list[dict[str, Any]]:
        only = "" if rep_id is None else " WHERE rep_id = %s"
        rows = self._rows(f"SELECT * FROM rep_changes{only} ORDER BY seq",
                          () if rep_id is None else (rep_id,))
        return [{k: row[k] for k in REP_CHANGE_FIELDS} for row in map(shown, rows)]

    @mapped
    def leads(self) -> list[dict[str, Any]]:
        return [self._lead_row(r) for r in self._rows("SELECT * FROM leads ORDER BY accepted_at, n")]

    @staticmethod
    def _lead_row(r: dict[str, Any]) -> dict[str, Any]:
        row = shown(r)
        return ({k: row[k] for k in LEAD_FIELDS if k not in ("status", "lifecycle")}
                | {"status": decision_status(LeadStatus(r["status"]), r["rep_id"]), "lifecycle": r["status"]})
