"""The durable state of routing: a SQLite ledger of leads, decisions, runs and an audit trail.

One file holds everything a restart or an auditor needs:

- ``leads``: one row per lead ever accepted: its record (JSON), its status
  (``pending`` = accepted, waiting in a micro-batch; ``assigned``;
  ``unassigned``), the current owner, SLA due time, first touch and release;
- ``events``: the audit trail, append-only: ``accepted``, ``assigned``,
  ``unassigned``, ``reassigned`` (with the old owner), ``touched``,
  ``released``, each with time, policy, reason and an explanation (JSON);
- ``runs``: one row per batch job or router session that wrote decisions;
- ``rep_loads``: a view, open (assigned, unreleased) leads per rep.

Transactions. Every public method that writes runs in one transaction; the
`transaction()` context groups several calls into one (the batch job wraps a
whole run in it), so after a crash the file is as before the run or as after
it, never between. Writers take SQLite's write lock at the start
(``BEGIN IMMEDIATE``): two overlapping jobs queue instead of both reading
"not yet assigned" and double-assigning; the second waits up to `timeout_s`.

Idempotency. A lead id is accepted once; later `accept` calls return False and
change nothing, and `decision(lead_id)` returns the first decision.

Times are stored as ISO 8601 UTC strings, so they sort as text.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS
from solver.decode.result import Assignment
from solver.domain.model import Lead

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,               -- job | router
    policy TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT                      -- JSON counts, set when the run finishes
);
CREATE TABLE IF NOT EXISTS leads (
    lead_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,             -- the Lead as JSON, to rebuild it after a restart
    accepted_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'assigned', 'unassigned')),
    rep_id TEXT,
    policy TEXT,
    reason TEXT,
    expected_value REAL,
    decided_at TEXT,
    sla_due TEXT,
    touched_at TEXT,
    released_at TEXT,
    reassignments INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER REFERENCES runs(run_id)
);
CREATE INDEX IF NOT EXISTS leads_open ON leads(status, released_at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL REFERENCES leads(lead_id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,               -- accepted | assigned | unassigned | reassigned | touched | released
    rep_id TEXT,
    from_rep_id TEXT,
    policy TEXT,
    reason TEXT,
    expected_value REAL,
    explanation TEXT,                 -- JSON
    run_id INTEGER REFERENCES runs(run_id)
);
CREATE INDEX IF NOT EXISTS events_lead ON events(lead_id, seq);
CREATE VIEW IF NOT EXISTS rep_loads AS
    SELECT rep_id, COUNT(*) AS open_leads FROM leads
    WHERE status = 'assigned' AND released_at IS NULL GROUP BY rep_id;
"""


@dataclass(frozen=True)
class OpenLead:
    """An assigned, unreleased lead, as the router needs it after a restart."""

    lead: Lead
    rep_id: str
    assigned_at: datetime
    sla_due: datetime | None
    touched: bool
    reassignments: int


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Ledger:
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
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE).
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None,
                                   check_same_thread=check_same_thread)
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        self._db.execute("PRAGMA journal_mode=WAL")  # readers (history) do not block the job
        self._db.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a committed run survives power loss
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.transaction():
            # One statement at a time: executescript() would COMMIT the open transaction.
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, kind: str, policy: str, at: datetime) -> int:
        """Open a run (a batch job or a router session); its id tags the decisions made in it."""
        with self.transaction():
            cur = self._db.execute("INSERT INTO runs (kind, policy, started_at) VALUES (?, ?, ?)",
                                   (kind, policy, _iso(at)))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, at: datetime, summary: dict[str, Any]) -> None:
        with self.transaction():
            self._db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?",
                             (_iso(at), json.dumps(summary), run_id))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        return [dict(r) | {"summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows]

    # -- leads --------------------------------------------------------------------------------

    def accept(self, lead: Lead, at: datetime, run_id: int | None = None) -> bool:
        """Record a lead as accepted (pending). False, and nothing written, if the id is known.

        Call it before answering the sender: once it returns, the lead survives a restart.
        """
        with self.transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO leads (lead_id, record, accepted_at, status, run_id) "
                "VALUES (?, ?, ?, 'pending', ?)",
                (lead.id, lead.model_dump_json(), _iso(at), run_id),
            )
            if cur.rowcount == 0:
                return False
            self._event(lead.id, at, "accepted", run_id=run_id)
        return True

    def known(self, lead_ids: Iterable[str]) -> set[str]:
        """The ids among `lead_ids` that the ledger has already accepted."""
        ids = list(lead_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):  # SQLite limits bound parameters per statement
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._db.execute(
                f"SELECT lead_id FROM leads WHERE lead_id IN ({marks})", chunk))
        return found

    def record_decisions(
        self,
        assignments: Sequence[Assignment],
        at: datetime,
        *,
        sla_due: dict[str, datetime] | None = None,
        explanations: dict[str, dict[str, Any]] | None = None,
        run_id: int | None = None,
    ) -> None:
        """Record the first decision (assigned or unassigned) for accepted, pending leads.

        Leads already decided are left alone (idempotent); a lead never
        accepted is an error. All rows commit together.
        """
        sla_due = sla_due or {}
        explanations = explanations or {}
        with self.transaction():
            for a in assignments:
                due = sla_due.get(a.lead_id)
                cur = self._db.execute(
                    "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, expected_value = ?, "
                    "decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id) "
                    "WHERE lead_id = ? AND status = 'pending'",
                    (a.status, a.rep_id, a.policy, a.reason, a.expected_value, _iso(at),
                     _iso(due) if due else None, run_id, a.lead_id),
                )
                if cur.rowcount == 0:
                    self._require_known(a.lead_id)
                    continue
                self._event(a.lead_id, at, a.status, rep_id=a.rep_id, policy=a.policy, reason=a.reason,
                            expected_value=a.expected_value, explanation=explanations.get(a.lead_id),
                            run_id=run_id)

    def record_reassignment(
        self, assignment: Assignment, from_rep_id: str, at: datetime, sla_due: datetime | None,
        explanation: dict[str, Any] | None = None, run_id: int | None = None,
    ) -> None:
        """Move an assigned lead to a new owner; the SLA clock restarts."""
        with self.transaction():
            self._db.execute(
                "UPDATE leads SET rep_id = ?, policy = ?, reason = ?, expected_value = ?, decided_at = ?, "
                "sla_due = ?, touched_at = NULL, reassignments = reassignments + 1 WHERE lead_id = ?",
                (assignment.rep_id, assignment.policy, assignment.reason, assignment.expected_value,
                 _iso(at), _iso(sla_due) if sla_due else None, assignment.lead_id),
            )
            self._event(assignment.lead_id, at, "reassigned", rep_id=assignment.rep_id,
                        from_rep_id=from_rep_id, policy=assignment.policy, reason=assignment.reason,
                        expected_value=assignment.expected_value, explanation=explanation, run_id=run_id)

    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        """Set a new SLA due time without moving the lead (no other rep could take it)."""
        with self.transaction():
            self._db.execute("UPDATE leads SET sla_due = ? WHERE lead_id = ?",
                             (_iso(sla_due) if sla_due else None, lead_id))

    def touch(self, lead_id: str, at: datetime) -> bool:
        """First response by the owner: stops the SLA clock. False if unknown, unassigned or touched."""
        return self._mark(lead_id, at, "touched_at", "touched")

    def release(self, lead_id: str, at: datetime) -> bool:
        """The lead is worked or closed: its owner's capacity is free again. False if not open."""
        return self._mark(lead_id, at, "released_at", "released")

    def _mark(self, lead_id: str, at: datetime, column: str, kind: str) -> bool:
        with self.transaction():
            row = self._db.execute(
                f"UPDATE leads SET {column} = ? WHERE lead_id = ? AND status = 'assigned' "
                f"AND {column} IS NULL AND released_at IS NULL RETURNING rep_id",
                (_iso(at), lead_id),
            ).fetchone()
            if row is None:
                return False
            self._event(lead_id, at, kind, rep_id=row["rep_id"])
        return True

    # -- reads --------------------------------------------------------------------------------

    def decision(self, lead_id: str) -> Assignment | None:
        """The lead's current decision (its owner after any reassignment); None if pending or unknown."""
        row = self._db.execute("SELECT * FROM leads WHERE lead_id = ? AND status != 'pending'",
                               (lead_id,)).fetchone()
        if row is None:
            return None
        return Assignment(row["lead_id"], row["rep_id"], row["status"], row["reason"],
                          row["expected_value"], row["policy"])

    def waiting(self, marker: str) -> list[tuple[Lead, datetime, Assignment]]:
        """Unassigned leads whose reason contains `marker` (the router's backlog), oldest first."""
        rows = self._db.execute(
            "SELECT lead_id, record, decided_at, reason, policy FROM leads "
            "WHERE status = ? AND instr(reason, ?) > 0 ORDER BY decided_at, rowid",
            (UNASSIGNED_STATUS, marker))
        return [(Lead.model_validate_json(r["record"]), datetime.fromisoformat(r["decided_at"]),
                 Assignment(r["lead_id"], None, UNASSIGNED_STATUS, r["reason"], 0.0, r["policy"]))
                for r in rows]

    def assign_waiting(self, a: Assignment, at: datetime, marker: str, *, sla_due: datetime | None = None,
                       explanation: dict[str, Any] | None = None, run_id: int | None = None) -> bool:
        """Give a waiting lead (unassigned, its reason containing `marker`) its rep, with an `assigned` event.

        Returns False, changing nothing, when the lead is no longer waiting:
        another router on this ledger assigned, closed or expired it meanwhile.
        """
        with self.transaction():
            cur = self._db.execute(
                "UPDATE leads SET status = ?, rep_id = ?, policy = ?, reason = ?, expected_value = ?, "
                "decided_at = ?, sla_due = ?, run_id = COALESCE(?, run_id) "
                "WHERE lead_id = ? AND status = ? AND instr(reason, ?) > 0 AND released_at IS NULL",
                (ASSIGNED, a.rep_id, a.policy, a.reason, a.expected_value, _iso(at),
                 _iso(sla_due) if sla_due else None, run_id, a.lead_id, UNASSIGNED_STATUS, marker))
            if cur.rowcount == 0:
                return False
            self._event(a.lead_id, at, ASSIGNED, rep_id=a.rep_id, policy=a.policy, reason=a.reason,
                        expected_value=a.expected_value, explanation=explanation, run_id=run_id)
        return True

    def end_waiting(self, lead_id: str, at: datetime, marker: str, reason: str, *,
                    released: bool = False, run_id: int | None = None) -> bool:
        """Make a waiting lead's "unassigned" answer final, with `reason` (an expiry or a close).

        `released`: the lead was closed while it waited (a ``released`` event and
        `released_at`); otherwise an ``unassigned`` event. Returns False, changing
        nothing, when the lead is no longer waiting (another router assigned it).
        """
        with self.transaction():
            cur = self._db.execute(
                "UPDATE leads SET reason = ?, released_at = ? "
                "WHERE lead_id = ? AND status = ? AND instr(reason, ?) > 0",
                (reason, _iso(at) if released else None, lead_id, UNASSIGNED_STATUS, marker))
            if cur.rowcount == 0:
                return False
            self._event(lead_id, at, "released" if released else UNASSIGNED_STATUS, reason=reason,
                        run_id=run_id)
        return True

    def pending(self) -> list[tuple[Lead, datetime]]:
        """Accepted leads without a decision yet, oldest first: the router's buffer after a restart."""
        rows = self._db.execute(
            "SELECT record, accepted_at FROM leads WHERE status = 'pending' ORDER BY accepted_at, rowid")
        return [(Lead.model_validate_json(r["record"]), _time(r["accepted_at"])) for r in rows]  # type: ignore[misc]

    def open_leads(self) -> list[OpenLead]:
        """Assigned, unreleased leads with their SLA state."""
        rows = self._db.execute(
            "SELECT * FROM leads WHERE status = ? AND released_at IS NULL ORDER BY decided_at, rowid",
            (ASSIGNED,))
        return [
            OpenLead(Lead.model_validate_json(r["record"]), r["rep_id"], _time(r["decided_at"]),  # type: ignore[arg-type]
                     _time(r["sla_due"]), r["touched_at"] is not None, r["reassignments"])
            for r in rows
        ]

    def rep_loads(self) -> dict[str, int]:
        """Open (assigned, unreleased) leads per rep id."""
        return {r["rep_id"]: r["open_leads"] for r in self._db.execute("SELECT * FROM rep_loads")}

    def history(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """The audit trail in order: every event, or one lead's."""
        sql = "SELECT * FROM events" + (" WHERE lead_id = ?" if lead_id else "") + " ORDER BY seq"
        rows = self._db.execute(sql, (lead_id,) if lead_id else ())
        return [dict(r) | {"explanation": json.loads(r["explanation"]) if r["explanation"] else None}
                for r in rows]

    def leads(self) -> list[dict[str, Any]]:
        """Every lead's current row (without the record): status, owner, SLA and release times."""
        rows = self._db.execute("SELECT * FROM leads ORDER BY accepted_at, rowid")
        return [{k: v for k, v in dict(r).items() if k != "record"} for r in rows]

    # -- internals ----------------------------------------------------------------------------

    def _require_known(self, lead_id: str) -> None:
        if self._db.execute("SELECT 1 FROM leads WHERE lead_id = ?", (lead_id,)).fetchone() is None:
            raise KeyError(f"lead {lead_id!r} was never accepted by the ledger")

    def _event(self, lead_id: str, at: datetime, kind: str, *, rep_id: str | None = None,
               from_rep_id: str | None = None, policy: str | None = None, reason: str | None = None,
               expected_value: float | None = None, explanation: dict[str, Any] | None = None,
               run_id: int | None = None) -> None:
        self._db.execute(
            "INSERT INTO events (lead_id, at, kind, rep_id, from_rep_id, policy, reason, expected_value, "
            "explanation, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (lead_id, _iso(at), kind, rep_id, from_rep_id, policy, reason, expected_value,
             json.dumps(explanation) if explanation else None, run_id),
        )
