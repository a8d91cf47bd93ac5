"""`PostgresStore`: the lead store in a PostgreSQL database, for several routers and jobs at once.

The same ledger as `SqliteStore` (leads, decisions, runs, the audit trail, a
view of each rep's load; tables in `solver.online.pg_schema`), in a database
that several processes on several machines share: two service replicas
behind a load balancer and the scheduled job.

Concurrency. Every writing transaction begins by taking the ledger's
advisory lock (``pg_advisory_xact_lock``, `pg_schema.LEDGER_LOCK`, one per
schema), held until it commits or rolls back: the database's counterpart of
SQLite's ``BEGIN IMMEDIATE``. An urgent lead's router reads the reps' loads,
the caps' intake and the rotations inside the transaction that records its
decision (`store.atomic`), so no other router's decision lands between its
reads and its write; a batch is read under the lock, solved off it and
checked in the transaction that records it (`solver.online.batch.settle`):
no cap or capacity is exceeded, and a buffered lead is decided once (a batch
leaves out the leads another replica decided meanwhile, and solves again
those whose seats were taken). The lock is released if the process dies (its
connection closes), so a killed replica blocks nobody; the leads it had
accepted but not decided are buffered rows that the next micro-batch of any
replica decides. Locks are waited for up to `timeout_s` (``lock_timeout``),
then `StoreBusy`.

Batch leadership (`store.BatchLeadership`). Of the service replicas on one
ledger, the one holding a session advisory lock (`pg_schema.BATCH_LEADER_LOCK`)
solves the micro-batches; the others answer urgent leads and buffer normal
ones. Its connection's end (a crash, kill -9) releases the lock, and the next
replica to tick takes it and decides the buffer, the dead one's leads with it.

Idempotency. A lead id is accepted once (``INSERT ... ON CONFLICT DO
NOTHING``); a lead's first decision is the one recorded, so a client retrying
a lead id on another replica gets the first answer.

Readers (``read_only=True``) run read-only transactions and take no lock.
psycopg's errors leave this module only as `StoreError`s naming their cause
(`solver.online.pg_open`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from psycopg import Error as DriverError
from psycopg.rows import dict_row
from psycopg.types.json import Json

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online import pg_open, pg_schema
from solver.online.lifecycle import LeadStatus, status_of
from solver.online.pg_open import mapped, store_error
from solver.online.pg_reads import ASSIGNED, BACKLOG, UNDECIDED, LedgerReads
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

_INSERT_LEAD = ("INSERT INTO leads (lead_id, record, accepted_at, status, effort, run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (lead_id) DO NOTHING")
# A lead and its "accepted" event in one statement (one round trip on the urgent path): nothing
# at all when the id is known.
_ACCEPT_ONE = (f"WITH new AS ({_INSERT_LEAD} RETURNING lead_id, accepted_at, run_id) "
               "INSERT INTO events (lead_id, at, kind, run_id) "
               "SELECT lead_id, accepted_at, 'accepted', run_id FROM new")
# The identity columns a copy gives values to (leads.n numbers the leads in the order copied).
_IDENTITY = {"runs": "run_id", "events": "seq", "rep_changes": "seq"}
_INSERT_EVENT = ("INSERT INTO events (lead_id, at, kind, rep_id, from_rep_id, policy, reason, reason_code, "
                 f"expected_value, explanation, run_id, arm) VALUES ({', '.join(['%s'] * 12)})")


class PostgresStore(LedgerReads, NestedTransactions):
    """A ledger in a PostgreSQL database, by URL (its tables created or migrated on first use).

    Parameters
    ----------
    url
        ``postgresql://user:password@host:port/dbname``; the ledger lives in the
        connection's schema (``?options=-csearch_path%3Dname`` picks another).
    timeout_s
        How long a writer waits for another writer's transaction (lock_timeout).
    synchronous
        "FULL" (default): a commit is on the server's disk before it returns.
        "NORMAL": ``synchronous_commit = off``; a crash of the server may lose
        the last fraction of a second of commits (one of this process loses none).
    check_same_thread
        Accepted for `open_store`'s signature; a psycopg connection may be
        used from any thread (one at a time: the service's gate serialises it).
    read_only
        Read-only transactions: nothing written, no lock taken, no migration.
    """

    explains = True
    durable = True

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 600.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        check_same_thread: bool = True,
        read_only: bool = False,
    ) -> None:
        self.url = url
        self.path = pg_open.redacted(url)  # what messages name, as a SQLite store's file path
        self.timeout_s = timeout_s
        self.read_only = read_only
        self._depth = 0
        self._intake_cache = None
        self._synchronous: Literal["FULL", "NORMAL"] = synchronous
        self._connect()
        try:
            if read_only:
                pg_schema.check(self._db, self.path)
            else:
                pg_schema.upgrade(self._db, self.path)
        except DriverError as exc:
            self._db.close()
            raise store_error(exc, url, timeout_s) from exc
        except StoreError:
            self._db.close()
            raise

    def _connect(self) -> None:
        db = pg_open.connect(self.url, read_only=self.read_only, timeout_s=self.timeout_s,
                             synchronous=self._synchronous)
        db.row_factory = dict_row  # type: ignore[assignment]
        self._db = db  # type: ignore[assignment]
        self._leading = False  # a new connection holds no session lock

    @mapped
    def lead_batches(self) -> bool:
        """`BatchLeadership`: lead the micro-batches if no other connection does (a session
        advisory lock, kept until this connection closes: a dead leader's is released with it)."""
        self._reconnect_if_lost()
        if not self._leading and not self.read_only:
            row = self._one(pg_schema.TRY_LEAD_BATCHES_SQL)
            self._leading = bool(row and row["leading"])
        return self._leading

    def _reconnect_if_lost(self) -> None:
        """A new connection where the last one was lost (the server restarted, a failover, a
        network cut): the call that found it lost failed (StoreUnavailable), the next ones work.
        Only between transactions: one in progress died with its connection."""
        if not self._depth and (self._db.broken or self._db.closed):
            self._db.close()
            self._intake_cache = None
            self._connect()

    @mapped
    def writable(self) -> bool:
        """A real write probe: a run row inserted and rolled back (a savepoint inside a transaction).

        A read-only server (a standby, a read-only user) or a lost connection is
        not writable; another writer holding the ledger's lock is (busy, not broken).
        """
        if self.read_only:
            return False
        try:
            self._reconnect_if_lost()
        except StoreError:
            return False
        probe = ("INSERT INTO runs (run_id, kind, policy, started_at) OVERRIDING SYSTEM VALUE "
                 "VALUES (-pg_backend_pid(), 'probe', 'probe', now())")
        try:
            self._db.execute("SAVEPOINT write_probe" if self._depth else "BEGIN")
            try:
                self._db.execute(probe)
            finally:
                self._db.execute("ROLLBACK TO SAVEPOINT write_probe" if self._depth else "ROLLBACK")
        except DriverError:
            return False
        return True

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin(self) -> None:
        self._reconnect_if_lost()
        try:
            self._db.execute("BEGIN" if self.read_only else pg_schema.BEGIN_LOCKED_SQL)
        except DriverError as exc:
            self._rollback()
            raise store_error(exc, self.url, self.timeout_s) from exc

    def _commit(self) -> None:
        try:
            self._db.execute("COMMIT")
        except DriverError as exc:
            self._rollback()
            raise store_error(exc, self.url, self.timeout_s) from exc

    def _rollback(self) -> None:
        self._intake_cache = None
        # A lost connection cannot roll back (the server already has); the error being handled
        # is the one to report either way.
        with contextlib.suppress(DriverError):
            self._db.execute("ROLLBACK")

    # -- runs ---------------------------------------------------------------------------------

    @mapped
    def start_run(self, kind: str, policy: str, at: datetime) -> int:
        iso(at)  # a naive time is the caller's error, as in every store
        with self.transaction():
            row = self._one("INSERT INTO runs (kind, policy, started_at) VALUES (%s, %s, %s) "
                            "RETURNING run_id", (kind, policy, at))
        return int(row["run_id"]) if row else 0

    @mapped
    def finish_run(self, run_id: int, at: datetime, summary: dict[str, Any]) -> None:
        iso(at)
        with self.transaction():
            self._db.execute("UPDATE runs SET finished_at = %s, summary = %s WHERE run_id = %s",
                             (at, Json(summary), run_id))

    # -- writes -------------------------------------------------------------------------------

    @mapped
    def accept(self, lead: Lead, at: datetime, run_id: int | None = None, *,
               buffered: bool = True) -> Accepted:
        iso(at)
        status = LeadStatus.BUFFERED if buffered else LeadStatus.RECEIVED
        with self.transaction():
            cur = self._db.execute(_ACCEPT_ONE, (lead.id, Json(lead.model_dump(mode="json")), at,
                                                 status.value, lead.effort, run_id))
            if cur.rowcount == 0:
                return Accepted.RETRY if self.record(lead.id) == lead else Accepted.CHANGED
        return Accepted.NEW

    @mapped
    def accept_many(self, leads: Sequence[Lead], at: datetime, run_id: int | None = None) -> list[Accepted]:
        iso(at)
        with self.transaction():
            out, first = sort_accepts(leads, self.known(lead.id for lead in leads), self.record)
            buffered = LeadStatus.BUFFERED.value
            with self._db.cursor() as cur:  # one pipelined statement per table (a job's 50,000 leads)
                cur.executemany(_INSERT_LEAD, [(lead.id, Json(lead.model_dump(mode="json")), at, buffered,
                                                lead.effort, run_id) for lead in first.values()])
                cur.executemany(_INSERT_EVENT, [self._event_row(lead_id, at, "accepted", run_id=run_id)
                                                for lead_id in first])
        return out

    @mapped
    def decide(self, answers: Sequence[Assignment], at: datetime, *,
               sla_due: Mapping[str, datetime] | None = None,
               explanations: Mapping[str, Any] | None = None, run_id: int | None = None) -> None:
        iso(at)
        sla_due = sla_due or {}
        explanations = explanations or {}
        ids = [a.lead_id for a in answers]
        with self.transaction():
            # FOR UPDATE: the rows stay as read until this transaction ends (the ledger's lock
            # already keeps other writers out; this keeps a writer that skipped it out too)
            todo = first_decisions(answers, {r["lead_id"]: r["status"] for r in self._rows(
                "SELECT lead_id, status FROM leads WHERE lead_id = ANY(%s) FOR UPDATE", (ids,))})
            with self._db.pipeline(), self._db.cursor() as cur:  # both statements, one round trip
                cur.executemany(
                    "UPDATE leads SET status = %s, rep_id = %s, policy = %s, reason = %s, reason_code = %s, "
                    "expected_value = %s, decided_at = %s, sla_due = %s, run_id = COALESCE(%s, run_id), "
                    "queue = %s, arm = %s, experiment = %s WHERE lead_id = %s",
                    [(status_of(a).value, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, at,
                      sla_due.get(a.lead_id), run_id, a.queue, a.arm, a.experiment, a.lead_id) for a in todo])
                cur.executemany(_INSERT_EVENT, [
                    self._event_row(a.lead_id, at, a.status, a, explanation=explanations.get(a.lead_id),
                                    run_id=run_id, arm=a.arm) for a in todo])

    @mapped
    def assign_waiting(self, answer: Assignment, at: datetime, *, sla_due: datetime | None = None,
                       explanation: Any = None, run_id: int | None = None) -> bool:
        a = answer
        iso(at)
        with self.transaction():
            row = self._one(
                "UPDATE leads SET status = %s, rep_id = %s, policy = %s, reason = %s, reason_code = %s, "
                "expected_value = %s, decided_at = %s, sla_due = %s, run_id = COALESCE(%s, run_id), "
                "queue = NULL WHERE lead_id = %s AND status = ANY(%s) RETURNING arm",
                (ASSIGNED, a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, at, sla_due, run_id,
                 a.lead_id, [*BACKLOG, _QUEUED]))
            if row is None:
                return False
            self._event(a.lead_id, at, a.status, a, explanation=explanation, run_id=run_id, arm=row["arm"])
        return True

    @mapped
    def close_waiting(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _CLOSED, at, "released", run_id, [*BACKLOG, _QUEUED])

    @mapped
    def expire(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        return self._end_waiting(answer, at, _EXPIRED, None, answer.status, run_id, BACKLOG)

    def _end_waiting(self, a: Assignment, at: datetime, status: str, released_at: datetime | None, kind: str,
                     run_id: int | None, was: list[str]) -> bool:
        iso(at)
        with self.transaction():
            row = self._one(
                "UPDATE leads SET status = %s, reason = %s, reason_code = %s, released_at = %s "
                "WHERE lead_id = %s AND status = ANY(%s) RETURNING arm",
                (status, a.reason, a.reason_code, released_at, a.lead_id, was))
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
        iso(at)
        with self.transaction():
            row = self._one(
                "UPDATE leads SET rep_id = %s, policy = %s, reason = %s, reason_code = %s, "
                "expected_value = %s, decided_at = %s, sla_due = %s, touched_at = NULL, "
                "reassignments = reassignments + 1 WHERE lead_id = %s AND status = %s RETURNING arm",
                (a.rep_id, a.policy, a.reason, a.reason_code, a.expected_value, at, sla_due, a.lead_id,
                 ASSIGNED))
            if row is None:
                return False
            self._event(a.lead_id, at, "reassigned", a, from_rep_id=from_rep_id, explanation=explanation,
                        run_id=run_id, arm=row["arm"])
        return True

    @mapped
    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        with self.transaction():
            self._db.execute("UPDATE leads SET sla_due = %s WHERE lead_id = %s", (sla_due, lead_id))

    @mapped
    def touch(self, lead_id: str, at: datetime) -> bool:
        return self._mark(lead_id, at, "touched_at", "touched_at IS NULL", "touched", ASSIGNED)

    @mapped
    def release(self, lead_id: str, at: datetime, *, by: str | None = None) -> bool:
        return self._mark(lead_id, at, "released_at", "true", "released", _CLOSED, released_by(by))

    def _mark(self, lead_id: str, at: datetime, column: str, unless: str, kind: str, status: str,
              reason: str | None = None) -> bool:
        iso(at)
        with self.transaction():
            row = self._one(
                f"UPDATE leads SET {column} = %s, status = %s WHERE lead_id = %s AND status = %s "
                f"AND {unless} RETURNING rep_id, arm", (at, status, lead_id, ASSIGNED))
            if row is None:
                return False
            self._event(lead_id, at, kind, rep_id=row["rep_id"], arm=row["arm"], reason=reason)
        return True

    @mapped
    def record_outcome(self, lead_id: str, at: datetime, outcome: str, *, reason: str | None = None,
                       value: float | None = None) -> bool:
        iso(at)
        with self.transaction():
            row = self._one(
                "UPDATE leads SET outcome = %s, outcome_reason = %s, outcome_value = %s, outcome_at = %s "
                "WHERE lead_id = %s AND outcome IS NULL AND NOT status = ANY(%s) RETURNING rep_id, arm",
                (outcome, reason, value, at, lead_id, UNDECIDED))
            if row is None:
                return False
            self._db.execute(_INSERT_EVENT, (lead_id, at, outcome, row["rep_id"], None, None, reason, None,
                                             value, None, None, row["arm"]))
        return True

    @mapped
    def save_rotation(self, pools: Mapping[str, Mapping[str, Any]]) -> None:
        with self.transaction(), self._db.cursor() as cur:
            cur.executemany("INSERT INTO rotations (pool, state) VALUES (%s, %s) "
                            "ON CONFLICT (pool) DO UPDATE SET state = EXCLUDED.state",
                            [(pool, Json(dict(state))) for pool, state in pools.items()])

    @mapped
    def record_rep_change(self, rep_id: str, at: datetime, change: Mapping[str, Any], by: str) -> int:
        iso(at)
        with self.transaction():
            row = self._one("INSERT INTO rep_changes (rep_id, at, by, change) VALUES (%s, %s, %s, %s) "
                            "RETURNING seq", (rep_id, at, by, Json(dict(sorted(change.items())))))
        return int(row["seq"]) if row else 0

    @mapped
    def load_rows(self, tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]]) -> None:
        """Write another ledger's rows as they are (`solver.online.pg_copy`): by table, its columns
        and rows, in the order given (leads in their order of acceptance). Run ids and event seqs
        are kept, and new ones go on after them. Into an empty ledger only (StoreUnavailable,
        nothing written, if it holds runs or leads)."""
        with self.transaction():
            held = self._one("SELECT EXISTS (SELECT 1 FROM leads) OR EXISTS (SELECT 1 FROM runs) AS held")
            if held and held["held"]:
                raise StoreUnavailable(f"the ledger {self.path} is not empty: a copy goes into a new "
                                       "ledger only (nothing was written)")
            with self._db.cursor() as cur:
                for table, (columns, rows) in tables.items():
                    keep_ids = " OVERRIDING SYSTEM VALUE" if table in _IDENTITY else ""
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}){keep_ids} "
                                    f"VALUES ({', '.join(['%s'] * len(columns))})", rows)
                for table, column in _IDENTITY.items():  # the next id after the copied ones
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                f"COALESCE(MAX({column}), 0) + 1, false) FROM {table}")

    # -- internals ----------------------------------------------------------------------------

    def _event(self, lead_id: str, at: datetime, kind: str, answer: Assignment | None = None,
               **fields: Any) -> None:
        self._db.execute(_INSERT_EVENT, self._event_row(lead_id, at, kind, answer, **fields))

    @staticmethod
    def _event_row(lead_id: str, at: datetime, kind: str, answer: Assignment | None = None, *,
                   rep_id: str | None = None, from_rep_id: str | None = None, reason: str | None = None,
                   reason_code: str | None = None, explanation: Any = None,
                   run_id: int | None = None, arm: str | None = None) -> tuple[Any, ...]:
        """An events row; `arm` is the lead's as stored (its first decision's), not the answer's."""
        if answer is not None:
            rep_id, reason, reason_code = answer.rep_id, answer.reason, answer.reason_code
        explained = explanation_dict(explanation)
        return (lead_id, at, kind, rep_id, from_rep_id, answer.policy if answer else None,
                None if reason is None else str(reason), reason_code,
                answer.expected_value if answer else None, Json(explained) if explained else None, run_id,
                arm)
