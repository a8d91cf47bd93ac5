"""`SqliteStore`: the durable lead store, a SQLite ledger of leads, decisions, runs and an audit trail.

One file holds the leads (record, lifecycle status, owner, reason and code,
effort, SLA, touch and release times), the append-only audit trail (events
with explanations), the runs, and a view of each rep's load; the tables are
in `solver.online.sqlite_schema`.

Transactions. Every public method that writes runs in one transaction; the
`transaction()` context groups several calls into one (the batch job records
its file's leads, their decisions and its summary in one), so after a crash
the file is as before that transaction or as after it, never between. Writers
take SQLite's write lock at the start (``BEGIN IMMEDIATE``) and wait up to
`timeout_s` for another's. A batch solves off the lock and checks what it read
when it records (`solver.online.batch.settle`): two overlapping jobs never
double-assign; the later one finds the leads decided and leaves them out.

Idempotency. A lead id is accepted once; later `accept` calls change nothing
(and tell a retry from a changed duplicate), and a lead's first decision is
the one recorded.

Readers. ``read_only=True`` opens with ``mode=ro`` (`solver.online.sqlite_open`):
no write lock, no waiting behind a writer, nothing written. The read methods
live in `solver.online.sqlite_reads`.

Schema. ``meta.schema_version`` is 6; a version-1 to -5 file is migrated in place
when opened for writing (`solver.online.sqlite_schema`). Times are ISO 8601
UTC strings. SQLite's errors leave this module only as `StoreError`s that name
their cause (busy, read-only, full, not a ledger) and the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online import sqlite_open, sqlite_schema
from solver.online.lifecycle import LeadStatus, status_of
from solver.online.sqlite_reads import ASSIGNED, BACKLOG, IN_UNDECIDED, UNDECIDED, LedgerReads
from solver.online.sqlite_schema import mapped, store_error
from solver.online.store import (
    Accepted,
    NestedTransactions,
    StoreError,
    StoreUnavailable,
    explanation_dict,
    first_decisions,
    iso,
    released_by,
    sort_accepts,
)

_CLOSED, _EXPIRED, _QUEUED = LeadStatus.CLOSED.value, LeadStatus.EXPIRED.value, LeadStatus.QUEUED.value


_INSERT_LEAD = ("INSERT OR IGNORE INTO leads (lead_id, record, accepted_at, status, effort, run_id, value) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_EVENT = ("INSERT INTO events (lead_id, at, kind, rep_id, from_rep_id, policy, reason, reason_code, "
                 "expected_value, explanation, run_id, arm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class SqliteStore(LedgerReads, NestedTransactions):
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
        read_only: bool = False,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = str(path)
        self.timeout_s = timeout_s
        self.read_only = read_only
        self._depth = 0
        self._writes = 0  # own writes, with `data_version` (others' commits) keys the loads cache
        self._loads_cache: tuple[tuple[int, int], dict[str, tuple[int, int, int]]] | None = None
        self._intake_cache: tuple[datetime, int, list[tuple[str, datetime]]] | None = None
        try:
            self._db = sqlite_open.connect(self.path, read_only=read_only, timeout_s=timeout_s,
                                           check_same_thread=check_same_thread)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            self._db.row_factory = sqlite3.Row
            if read_only:
                self._check_schema()
            else:
                sqlite_open.use_wal(self._db, timeout_s)  # readers (history) do not block the job
                self._db.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a commit survives power loss
                self._open_schema()
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            self._db.close()
            raise self._error(exc) from exc
        except StoreError:
            self._db.close()
            raise

    def _check_schema(self) -> None:
        """A reader's check: the file is a ledger this program reads (it migrates nothing)."""
        version = sqlite_schema.schema_version(self._db)
        if version != sqlite_schema.SCHEMA_VERSION:
            raise StoreUnavailable(
                f"{self.path} is not a usable ledger (no ledger tables)" if version is None else
                f"the ledger {self.path} is at schema version {version}; this program reads version "
                f"{sqlite_schema.SCHEMA_VERSION} (`leadsolver db upgrade --db {self.path}` migrates an older "
                "one)")

    def _open_schema(self) -> None:
        """Create a new file's tables, or migrate an older version in place (foreign keys off)."""
        with self.transaction():
            version = sqlite_schema.schema_version(self._db)
            if version is None:
                sqlite_schema.create(self._db)
            elif version == 1:
                sqlite_schema.migrate_v1(self._db)  # straight to the current version
            elif version == 2:
                sqlite_schema.migrate_v2(self._db)
            elif version == 3:
                sqlite_schema.migrate_v3(self._db)
            elif version == 4:
                sqlite_schema.migrate_v4(self._db)
            elif version == 5:
                sqlite_schema.migrate_v5(self._db)
            elif version != sqlite_schema.SCHEMA_VERSION:
                raise StoreUnavailable(f"the ledger {self.path} is at schema version {version}, newer "
                                       f"than this program's ({sqlite_schema.SCHEMA_VERSION})")

    def writable(self) -> bool:
        if self.read_only:
            return False
        if self.path != ":memory:":
            file = Path(self.path)
            if not (sqlite_open.can_write(file) and sqlite_open.disk_has_room(file)):
                return False
        try:
            return sqlite_open.probe_write(self._db, self._depth > 0, self.timeout_s)
        except sqlite3.Error:
            return False

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
        self._loads_cache = self._intake_cache = None
        # SQLite rolls the transaction back itself on some errors (a full disk, an I/O error): a
        # ROLLBACK then fails with "no transaction is active" and would hide the real error. A
        # ROLLBACK that fails otherwise leaves a hot journal, rolled back when the file is next
        # opened; the error being handled is the one to report either way.
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _execute(self, sql: str) -> None:
        try:
            self._db.execute(sql)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StoreError:
        return store_error(exc, self.path, self.timeout_s)

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

    # -- writes -------------------------------------------------------------------------------

    @mapped
    def accept(self, lead: Lead, at: datetime, run_id: int | None = None, *,
               buffered: bool = True) -> Accepted:
        status = LeadStatus.BUFFERED if buffered else LeadStatus.RECEIVED
        with self.transaction():
            cur = self._db.execute(_INSERT_LEAD, (lead.id, lead.model_dump_json(), iso(at), status.value,
                                                  lead.effort, run_id, lead.value))
            if cur.rowcount == 0:
                return Accepted.RETRY if self.record(lead.id) == lead else Accepted.CHANGED
            self._event(lead.id, at, "accepted", run_id=run_id)
        return Accepted.NEW

    @mapped
    def accept_many(self, leads: Sequence[Lead], at: datetime, run_id: int | None = None) -> list[Accepted]:
        with self.transaction():
            out, first = sort_accepts(leads, self.known(lead.id for lead in leads), self.record)
            # one statement per table for the whole file (a job accepts 50,000 leads at once)
            when, buffered = iso(at), LeadStatus.BUFFERED.value
            self._db.executemany(_INSERT_LEAD, [(lead.id, lead.model_dump_json(), when, buffered, lead.effort,
                                                 run_id, lead.value) for lead in first.values()])
            self._db.executemany(_INSERT_EVENT, [self._event_row(lead_id, at, "accepted", run_id=run_id)
                                                 for lead_id in first])
        return out

    @mapped
    def decide(self, answers: Sequence[Assignment], at: datetime, *,
               sla_due: Mapping[str, datetime] | None = None,
               explanations: Mapping[str, Any] | None = None, run_id: int | None = None) -> None:
        sla_due = sla_due or {}
        explanations = explanations or {}
        ids = [a.lead_id for a in answers]
        with self.transaction():
            todo = first_decisions(answers, self.statuses(ids))
            # one statement per table for the whole batch (a job decides 50,000 leads at once)
            when = iso(at)
            self._db.executemany(
                "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, reason_code = ?, "
                "expected_value = ?, decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id), queue = ?, "
                "arm = ?, experiment = ? WHERE lead_id = ?",
                [(status_of(a).value, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, when,
                  iso(due) if (due := sla_due.get(a.lead_id)) else None, run_id, a.queue, a.arm, a.experiment,
                  a.lead_id) for a in todo])
            self._db.executemany(_INSERT_EVENT, [
                self._event_row(a.lead_id, at, a.status, a, explanation=explanations.get(a.lead_id),
                                run_id=run_id, arm=a.arm) for a in todo])

    @mapped
    def assign_waiting(self, answer: Assignment, at: datetime, *, sla_due: datetime | None = None,
                       explanation: Any = None, run_id: int | None = None) -> bool:
        a = answer
        with self.transaction():
            row = self._db.execute(
                "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, reason_code = ?, "
                "expected_value = ?, decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id), queue = NULL "
                f"WHERE lead_id = ? AND status IN ({', '.join('?' * (len(BACKLOG) + 1))}) RETURNING arm",
                (ASSIGNED, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, iso(at),
                 iso(sla_due) if sla_due else None, run_id, a.lead_id, *BACKLOG, _QUEUED)).fetchone()
            if row is None:
                return False
            self._event(a.lead_id, at, a.status, a, explanation=explanation, run_id=run_id, arm=row["arm"])
        return True

    @mapped
    def close_waiting(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _CLOSED, iso(at), "released", run_id, (*BACKLOG, _QUEUED))

    @mapped
    def expire(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _EXPIRED, None, answer.status, run_id, BACKLOG)

    def _end_waiting(self, a: Assignment, at: datetime, status: str, released_at: str | None, kind: str,
                     run_id: int | None, was: tuple[str, ...]) -> bool:
        with self.transaction():
            row = self._db.execute(
                "UPDATE leads SET status = ?, reason = ?, reason_code = ?, released_at = ? "
                f"WHERE lead_id = ? AND status IN ({', '.join('?' * len(was))}) RETURNING arm",
                (status, a.reason, a.reason_code, released_at, a.lead_id, *was)).fetchone()
            if row is None:
                return False
            # an expired answer keeps its policy and value (`history --run` prints it as the run did)
            self._event(a.lead_id, at, kind, a if status == _EXPIRED else None, reason=a.reason,
                        reason_code=a.reason_code, run_id=run_id, arm=row["arm"])
        return True

    @mapped
    def reassign(self, answer: Assignment, from_rep_id: str, at: datetime, sla_due: datetime | None,
                 explanation: Any = None, run_id: int | None = None) -> bool:
        a = answer
        with self.transaction():
            row = self._db.execute(
                "UPDATE leads SET rep_id = ?, policy = ?, reason = ?, reason_code = ?, expected_value = ?, "
                "decided_at = ?, sla_due = ?, touched_at = NULL, reassignments = reassignments + 1 "
                "WHERE lead_id = ? AND status = ? RETURNING arm",
                (a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, iso(at),
                 iso(sla_due) if sla_due else None, a.lead_id, ASSIGNED)).fetchone()
            if row is None:
                return False
            self._event(a.lead_id, at, "reassigned", a, from_rep_id=from_rep_id, explanation=explanation,
                        run_id=run_id, arm=row["arm"])
        return True

    @mapped
    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        with self.transaction():
            self._db.execute("UPDATE leads SET sla_due = ? WHERE lead_id = ?",
                             (iso(sla_due) if sla_due else None, lead_id))

    @mapped
    def touch(self, lead_id: str, at: datetime) -> bool:
        with self.transaction():
            touched = self._mark(lead_id, at, "touched_at = ?", "touched_at IS NULL", "touched", ASSIGNED)
            if touched:  # minutes to first touch, once, for the console's grouped sums
                self._db.execute("UPDATE leads SET touch_minutes = "
                                 "(julianday(touched_at) - julianday(decided_at)) * 1440.0 WHERE lead_id = ?",
                                 (lead_id,))
        return touched

    @mapped
    def release(self, lead_id: str, at: datetime, *, by: str | None = None) -> bool:
        return self._mark(lead_id, at, "released_at = ?", "1", "released", _CLOSED, released_by(by))

    def _mark(self, lead_id: str, at: datetime, assign: str, unless: str, kind: str, status: str,
              reason: str | None = None) -> bool:
        with self.transaction():
            row = self._db.execute(
                f"UPDATE leads SET {assign}, status = ? WHERE lead_id = ? AND status = ? AND {unless} "
                "RETURNING rep_id, arm", (iso(at), status, lead_id, ASSIGNED)).fetchone()
            if row is None:
                return False
            self._event(lead_id, at, kind, rep_id=row["rep_id"], arm=row["arm"], reason=reason)
        return True

    @mapped
    def record_outcome(self, lead_id: str, at: datetime, outcome: str, *, reason: str | None = None,
                       value: float | None = None) -> bool:
        with self.transaction():
            row = self._db.execute(
                "UPDATE leads SET outcome = ?, outcome_reason = ?, outcome_value = ?, outcome_at = ? "
                f"WHERE lead_id = ? AND outcome IS NULL AND NOT {IN_UNDECIDED} RETURNING rep_id, arm",
                (outcome, reason, value, iso(at), lead_id, *UNDECIDED)).fetchone()
            if row is None:
                return False
            self._db.execute(_INSERT_EVENT, (lead_id, iso(at), outcome, row["rep_id"], None, None, reason,
                                             None, value, None, None, row["arm"]))
        return True

    @mapped
    def record_rep_change(self, rep_id: str, at: datetime, change: Mapping[str, Any], by: str) -> int:
        with self.transaction():
            cursor = self._db.execute("INSERT INTO rep_changes (rep_id, at, by, change) VALUES (?, ?, ?, ?)",
                                      (rep_id, iso(at), by, json.dumps(dict(change), sort_keys=True)))
        return int(cursor.lastrowid or 0)

    @mapped
    def save_rotation(self, pools: Mapping[str, Mapping[str, Any]]) -> None:
        with self.transaction():
            self._db.executemany("INSERT OR REPLACE INTO rotations (pool, state) VALUES (?, ?)",
                                 [(pool, json.dumps(state, sort_keys=True)) for pool, state in pools.items()])

    # -- internals ----------------------------------------------------------------------------

    def _event(self, lead_id: str, at: datetime, kind: str, answer: Assignment | None = None,
               **fields: Any) -> None:
        self._db.execute(_INSERT_EVENT, self._event_row(lead_id, at, kind, answer, **fields))

    def _event_row(self, lead_id: str, at: datetime, kind: str, answer: Assignment | None = None, *,
                   rep_id: str | None = None, from_rep_id: str | None = None, reason: str | None = None,
                   reason_code: str | None = None, explanation: Any = None,
                   run_id: int | None = None, arm: str | None = None) -> tuple[Any, ...]:
        """An events row; `arm` is the lead's as stored (its first decision's), not the answer's."""
        self._writes += 1
        if answer is not None:
            rep_id, reason, reason_code = answer.rep_id, answer.reason, answer.reason_code
        explained = explanation_dict(explanation)
        return (lead_id, iso(at), kind, rep_id, from_rep_id, answer.policy if answer else None, reason,
                reason_code, answer.expected_value if answer else None,
                json.dumps(explained) if explained else None, run_id, arm)
