"""`SqliteStore`: the durable lead store, a SQLite ledger of leads, decisions, runs and an audit trail.

One file holds the leads (record, lifecycle status, owner, reason and code,
effort, SLA, touch and release times), the append-only audit trail (events
with explanations), the runs, and a view of each rep's load; the tables are
in `solver.online.sqlite_schema`.

Transactions. Every public method that writes runs in one transaction; the
`transaction()` context groups several calls into one (the batch job wraps a
whole run in it), so after a crash the file is as before the run or as after
it, never between. Writers take SQLite's write lock at the start
(``BEGIN IMMEDIATE``): two overlapping jobs queue instead of both reading
"not yet assigned" and double-assigning; the second waits up to `timeout_s`.

Idempotency. A lead id is accepted once; later `accept` calls return False and
change nothing, and a lead's first decision is the one recorded.

Schema. ``meta.schema_version`` is 2; a version-1 file is migrated in place
when opened (`solver.online.sqlite_schema`). Times are ISO 8601 UTC strings.
SQLite's errors leave this module only as `StoreError`s.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online import sqlite_schema
from solver.online.lifecycle import LeadStatus, decision_status, status_of
from solver.online.sqlite_schema import answer_of, mapped, open_lead_of, store_error
from solver.online.store import (
    EVENT_FIELDS,
    LEAD_FIELDS,
    NestedTransactions,
    OpenLead,
    RepLoads,
    StoreUnavailable,
    WaitingLead,
    explanation_dict,
    iso,
)

_ASSIGNED, _CLOSED, _EXPIRED = LeadStatus.ASSIGNED.value, LeadStatus.CLOSED.value, LeadStatus.EXPIRED.value
_UNDECIDED = tuple(s.value for s in LeadStatus if s.undecided)
_BACKLOG = tuple(s.value for s in LeadStatus if s.in_backlog)
_IN_UNDECIDED = f"status IN ({', '.join('?' * len(_UNDECIDED))})"
_IN_BACKLOG = f"status IN ({', '.join('?' * len(_BACKLOG))})"


class SqliteStore(NestedTransactions):
    """A SQLite ledger file (created on first use). Not shared between threads.

    Parameters
    ----------
    path
        The database file; ``":memory:"`` gives a throwaway ledger for tests.
    timeout_s
        How long a writer waits for another writer's transaction (cron overlap).
    synchronous
        "FULL" (default): a commit survives power loss (an fsync per commit).
        "NORMAL": a commit survives a crash or restart of the process, not of
        the machine; commits skip the fsync (milliseconds on most disks).
    check_same_thread
        False lets a caller that serializes all access itself (the HTTP
        service, under one lock) use the ledger from more than one thread.
    """

    explains = True
    durable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout_s: float = 600.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        check_same_thread: bool = True,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE).
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                       check_same_thread=check_same_thread)
            self._db.row_factory = sqlite3.Row
            self._depth = 0
            self._writes = 0  # own writes, with `data_version` (others' commits) keys the loads cache
            self._loads_cache: tuple[tuple[int, int], dict[str, tuple[int, int]]] | None = None
            self._db.execute("PRAGMA journal_mode=WAL")  # readers (history) do not block the job
            self._db.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a committed run survives power loss
            self._open_schema()
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise store_error(exc) from exc

    def _open_schema(self) -> None:
        """Create a new file's tables, or migrate an older version in place (foreign keys off)."""
        with self.transaction():
            version = sqlite_schema.schema_version(self._db)
            if version is None:
                sqlite_schema.create(self._db)
            elif version == 1:
                sqlite_schema.migrate_v1(self._db)
            elif version != sqlite_schema.SCHEMA_VERSION:
                raise StoreUnavailable(f"ledger schema version {version} is newer than this program's "
                                       f"({sqlite_schema.SCHEMA_VERSION})")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin(self) -> None:
        self._execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._execute("COMMIT")

    def _rollback(self) -> None:
        self._loads_cache = None
        self._execute("ROLLBACK")

    def _execute(self, sql: str) -> None:
        try:
            self._db.execute(sql)
        except sqlite3.Error as exc:
            raise store_error(exc) from exc

    # -- runs ---------------------------------------------------------------------------------

    @mapped
    def start_run(self, kind: str, policy: str, at: datetime) -> int:
        with self.transaction():
            cur = self._db.execute("INSERT INTO runs (kind, policy, started_at) VALUES (?, ?, ?)",
                                   (kind, policy, iso(at)))
        return int(cur.lastrowid or 0)

    @mapped
    def finish_run(self, run_id: int, at: datetime, summary: dict[str, Any]) -> None:
        with self.transaction():
            self._db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?",
                             (iso(at), json.dumps(summary), run_id))

    @mapped
    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        return [dict(r) | {"summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows]

    # -- writes -------------------------------------------------------------------------------

    @mapped
    def accept(self, lead: Lead, at: datetime, run_id: int | None = None, *, buffered: bool = True) -> bool:
        status = LeadStatus.BUFFERED if buffered else LeadStatus.RECEIVED
        with self.transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO leads (lead_id, record, accepted_at, status, effort, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (lead.id, lead.model_dump_json(), iso(at), status.value, lead.effort, run_id))
            if cur.rowcount == 0:
                return False
            self._event(lead.id, at, "accepted", run_id=run_id)
        return True

    @mapped
    def decide(self, answers: Sequence[Assignment], at: datetime, *,
               sla_due: Mapping[str, datetime] | None = None,
               explanations: Mapping[str, Any] | None = None, run_id: int | None = None) -> None:
        sla_due = sla_due or {}
        explanations = explanations or {}
        with self.transaction():
            for a in answers:
                due = sla_due.get(a.lead_id)
                cur = self._db.execute(
                    "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, reason_code = ?, "
                    "expected_value = ?, decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id) "
                    f"WHERE lead_id = ? AND {_IN_UNDECIDED}",
                    (status_of(a).value, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value,
                     iso(at), iso(due) if due else None, run_id, a.lead_id, *_UNDECIDED))
                if cur.rowcount == 0:
                    self._require_known(a.lead_id)
                    continue
                self._event(a.lead_id, at, a.status, a, explanation=explanations.get(a.lead_id),
                            run_id=run_id)

    @mapped
    def assign_waiting(self, answer: Assignment, at: datetime, *, sla_due: datetime | None = None,
                       explanation: Any = None, run_id: int | None = None) -> bool:
        a = answer
        with self.transaction():
            cur = self._db.execute(
                "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, reason_code = ?, "
                "expected_value = ?, decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id) "
                f"WHERE lead_id = ? AND {_IN_BACKLOG}",
                (_ASSIGNED, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, iso(at),
                 iso(sla_due) if sla_due else None, run_id, a.lead_id, *_BACKLOG))
            if cur.rowcount == 0:
                return False
            self._event(a.lead_id, at, a.status, a, explanation=explanation, run_id=run_id)
        return True

    @mapped
    def close_waiting(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _CLOSED, iso(at), "released", run_id)

    @mapped
    def expire(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _EXPIRED, None, answer.status, run_id)

    def _end_waiting(self, a: Assignment, at: datetime, status: str, released_at: str | None, kind: str,
                     run_id: int | None) -> bool:
        with self.transaction():
            cur = self._db.execute(
                "UPDATE leads SET status = ?, reason = ?, reason_code = ?, released_at = ? "
                f"WHERE lead_id = ? AND {_IN_BACKLOG}",
                (status, a.reason, a.reason_code, released_at, a.lead_id, *_BACKLOG))
            if cur.rowcount == 0:
                return False
            self._event(a.lead_id, at, kind, reason=a.reason, reason_code=a.reason_code, run_id=run_id)
        return True

    @mapped
    def reassign(self, answer: Assignment, from_rep_id: str, at: datetime, sla_due: datetime | None,
                 explanation: Any = None, run_id: int | None = None) -> bool:
        a = answer
        with self.transaction():
            cur = self._db.execute(
                "UPDATE leads SET rep_id = ?, policy = ?, reason = ?, reason_code = ?, expected_value = ?, "
                "decided_at = ?, sla_due = ?, touched_at = NULL, reassignments = reassignments + 1 "
                "WHERE lead_id = ? AND status = ?",
                (a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, iso(at),
                 iso(sla_due) if sla_due else None, a.lead_id, _ASSIGNED))
            if cur.rowcount == 0:
                return False
            self._event(a.lead_id, at, "reassigned", a, from_rep_id=from_rep_id, explanation=explanation,
                        run_id=run_id)
        return True

    @mapped
    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        with self.transaction():
            self._db.execute("UPDATE leads SET sla_due = ? WHERE lead_id = ?",
                             (iso(sla_due) if sla_due else None, lead_id))

    @mapped
    def touch(self, lead_id: str, at: datetime) -> bool:
        return self._mark(lead_id, at, "touched_at = ?", "touched_at IS NULL", "touched", _ASSIGNED)

    @mapped
    def release(self, lead_id: str, at: datetime) -> bool:
        return self._mark(lead_id, at, "released_at = ?", "1", "released", _CLOSED)

    def _mark(self, lead_id: str, at: datetime, assign: str, unless: str, kind: str, status: str) -> bool:
        with self.transaction():
            row = self._db.execute(
                f"UPDATE leads SET {assign}, status = ? WHERE lead_id = ? AND status = ? AND {unless} "
                "RETURNING rep_id", (iso(at), status, lead_id, _ASSIGNED)).fetchone()
            if row is None:
                return False
            self._event(lead_id, at, kind, rep_id=row["rep_id"])
        return True

    # -- reads --------------------------------------------------------------------------------

    @mapped
    def status(self, lead_id: str) -> LeadStatus | None:
        row = self._db.execute("SELECT status FROM leads WHERE lead_id = ?", (lead_id,)).fetchone()
        return None if row is None else LeadStatus(row[0])

    @mapped
    def decision(self, lead_id: str) -> Assignment | None:
        row = self._db.execute(f"SELECT * FROM leads WHERE lead_id = ? AND NOT {_IN_UNDECIDED}",
                               (lead_id, *_UNDECIDED)).fetchone()
        return None if row is None else answer_of(row)

    @mapped
    def known(self, lead_ids: Iterable[str]) -> set[str]:
        ids = list(lead_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):  # SQLite limits bound parameters per statement
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._db.execute(
                f"SELECT lead_id FROM leads WHERE lead_id IN ({marks})", chunk))
        return found

    @mapped
    def buffered_leads(self) -> list[tuple[Lead, datetime]]:
        rows = self._db.execute(f"SELECT record, accepted_at FROM leads WHERE {_IN_UNDECIDED} "
                                "ORDER BY accepted_at, rowid", _UNDECIDED)
        return [(Lead.model_validate_json(r["record"]), datetime.fromisoformat(r["accepted_at"]))
                for r in rows]

    @mapped
    def count_buffered(self) -> int:
        sql = f"SELECT COUNT(*) FROM leads WHERE {_IN_UNDECIDED}"
        return int(self._db.execute(sql, _UNDECIDED).fetchone()[0])

    @mapped
    def oldest_buffered_at(self) -> datetime | None:
        row = self._db.execute(f"SELECT MIN(accepted_at) FROM leads WHERE {_IN_UNDECIDED}",
                               _UNDECIDED).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    @mapped
    def open_lead(self, lead_id: str) -> OpenLead | None:
        row = self._db.execute("SELECT * FROM leads WHERE lead_id = ? AND status = ?",
                               (lead_id, _ASSIGNED)).fetchone()
        return None if row is None else open_lead_of(row)

    @mapped
    def open_leads(self) -> list[OpenLead]:
        rows = self._db.execute("SELECT * FROM leads WHERE status = ? ORDER BY decided_at, rowid",
                                (_ASSIGNED,))
        return [open_lead_of(r) for r in rows]

    @mapped
    def stale_leads(self, now: datetime, max_reassignments: int) -> list[OpenLead]:
        rows = self._db.execute(
            "SELECT * FROM leads WHERE status = ? AND touched_at IS NULL AND sla_due <= ? "
            "AND reassignments < ? ORDER BY sla_due, lead_id", (_ASSIGNED, iso(now), max_reassignments))
        return [open_lead_of(r) for r in rows]

    @mapped
    def waiting_leads(self, *, start: int = 0, limit: int | None = None,
                      since_before: datetime | None = None) -> list[WaitingLead]:
        since = "" if since_before is None else " AND decided_at <= ?"
        rows = self._db.execute(
            f"SELECT * FROM leads WHERE {_IN_BACKLOG}{since} ORDER BY decided_at, rowid LIMIT ? OFFSET ?",
            (*_BACKLOG, *(() if since_before is None else (iso(since_before),)),
             -1 if limit is None else limit, start))
        return [WaitingLead(Lead.model_validate_json(r["record"]), datetime.fromisoformat(r["decided_at"]),
                            answer_of(r)) for r in rows]

    @mapped
    def count_waiting(self) -> int:
        sql = f"SELECT COUNT(*) FROM leads WHERE {_IN_BACKLOG}"
        return int(self._db.execute(sql, _BACKLOG).fetchone()[0])

    @mapped
    def loads(self, rep_ids: Sequence[str] | None = None) -> RepLoads:
        held = self._held()
        ids = list(held) if rep_ids is None else rep_ids
        count = np.array([held.get(r, (0, 0))[0] for r in ids], dtype=np.int64)
        effort = np.array([held.get(r, (0, 0))[1] for r in ids], dtype=np.int64)
        return RepLoads(ids, count, effort)

    def _held(self) -> dict[str, tuple[int, int]]:
        """Open leads and effort per rep, cached until this connection or another one writes."""
        version = (int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._writes)
        if self._loads_cache is None or self._loads_cache[0] != version:
            rows = self._db.execute("SELECT rep_id, open_leads, effort FROM rep_loads")
            self._loads_cache = (version, {r[0]: (int(r[1]), int(r[2])) for r in rows})
        return self._loads_cache[1]

    @mapped
    def history(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM events" + (" WHERE lead_id = ?" if lead_id else "") + " ORDER BY seq"
        rows = self._db.execute(sql, (lead_id,) if lead_id else ())
        return [{k: r[k] for k in EVENT_FIELDS}
                | {"explanation": json.loads(r["explanation"]) if r["explanation"] else None} for r in rows]

    @mapped
    def leads(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM leads ORDER BY accepted_at, rowid")
        return [{k: r[k] for k in LEAD_FIELDS if k not in ("status", "lifecycle")}
                | {"status": decision_status(LeadStatus(r["status"]), r["rep_id"]),
                   "lifecycle": r["status"]}
                for r in rows]

    # -- internals ----------------------------------------------------------------------------

    def _require_known(self, lead_id: str) -> None:
        if self._db.execute("SELECT 1 FROM leads WHERE lead_id = ?", (lead_id,)).fetchone() is None:
            raise KeyError(f"lead {lead_id!r} was never accepted by the store")

    def _event(self, lead_id: str, at: datetime, kind: str, answer: Assignment | None = None, *,
               rep_id: str | None = None, from_rep_id: str | None = None, reason: str | None = None,
               reason_code: str | None = None, explanation: Any = None, run_id: int | None = None) -> None:
        self._writes += 1
        if answer is not None:
            rep_id, reason, reason_code = answer.rep_id, answer.reason, answer.reason_code
        explained = explanation_dict(explanation)
        self._db.execute(
            "INSERT INTO events (lead_id, at, kind, rep_id, from_rep_id, policy, reason, reason_code, "
            "expected_value, explanation, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (lead_id, iso(at), kind, rep_id, from_rep_id, answer.policy if answer else None, reason,
             reason_code, answer.expected_value if answer else None,
             json.dumps(explained) if explained else None, run_id))
