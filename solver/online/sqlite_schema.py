"""The SQLite ledger's schema (version 6), the in-place migrations from versions 1 to 5, rows and errors.

Version 1 (the first ledger) had three statuses, ``pending``, ``assigned`` and
``unassigned``; a lead waiting in the backlog was ``unassigned`` with a reason
ending in a note ("; waits in the backlog ..."), and the ledger found the
backlog by that text. Version 2 stores the lifecycle (`LeadStatus`) as the
``status`` column, a ``reason_code`` beside each reason, and each lead's
``effort`` (for the loads view). `migrate` reads the version-1 texts once, here
and nowhere else, to give every old lead its status. Version 3 adds the
``queued`` status with each queued lead's ``queue``, a lead's disposition
(``outcome``: won, lost, disqualified or closed, with its reason, deal value
and time), the round robins' positions (``rotations``, one row per pool) and an
index of the events by kind and time (the caps count the assignments of the
last month from it). Version 4 adds the experiment ``arm`` that decided each
lead, on the lead and on each of its events (`solver.online.experiment`); a
version-3 file gains the two columns in place (NULL: no experiment). Version 5
adds ``rep_changes``: what an operator changed on a rep from the console (pause,
resume, capacity, a cap), with who and when; each lead's ``value`` (copied from
its record) and ``touch_minutes`` (set by the touch) as columns; and two indexes
for the console's grouped figures (by decision time, covering what they sum;
the open untouched leads by SLA due time). A version-4 file gains all of it in
place. Version 6 adds each lead's ``experiment``: the name of the experiment
whose arm decided it, so that two experiments on one ledger (at once, or with
overlapping windows) are told apart; a version-5 file gains the column in place
(NULL: no experiment, or a lead decided before version 6, which the report
attributes by the experiments' start times).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus, decision_status
from solver.online.store import (
    OpenLead,
    StoreBusy,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreThreadError,
    StoreUnavailable,
)

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA_VERSION = 6

_STATUSES = ", ".join(f"'{s.value}'" for s in LeadStatus)
LEADS_TABLE = f"""
CREATE TABLE IF NOT EXISTS leads (
    lead_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,             -- the Lead as JSON, to rebuild it after a restart
    accepted_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({_STATUSES})),
    rep_id TEXT,
    policy TEXT,
    reason TEXT,
    reason_code TEXT,                 -- solver.decode.reasons.ReasonCode
    expected_value REAL,
    effort INTEGER NOT NULL DEFAULT 1,
    decided_at TEXT,
    sla_due TEXT,
    touched_at TEXT,
    released_at TEXT,
    reassignments INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER REFERENCES runs(run_id),
    queue TEXT,                       -- the named queue of a queued lead
    outcome TEXT,                     -- won | lost | disqualified | closed (leadsolver events)
    outcome_reason TEXT,              -- why disqualified (solver.online.outcomes.DISQUALIFY_REASONS)
    outcome_value REAL,               -- a won deal's value
    outcome_at TEXT,
    arm TEXT,                         -- the experiment arm that decided the lead (version 4)
    value REAL,                       -- the lead's value, beside its record for grouped sums (version 5)
    touch_minutes REAL,               -- minutes from decision to first touch; set by the touch (version 5)
    -- (a comma in the comment above would break SQLite's DROP COLUMN of the column below)
    experiment TEXT                   -- the name of the experiment whose arm decided the lead (version 6)
)"""
# The columns version 2's leads table had (version 3 adds the ones after run_id).
_V2_COLUMNS = ("lead_id, record, accepted_at, status, rep_id, policy, reason, reason_code, expected_value, "
               "effort, decided_at, sla_due, touched_at, released_at, reassignments, run_id")

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,               -- job | router
        policy TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        summary TEXT                      -- JSON counts, set when the run finishes
    )""",
    LEADS_TABLE,
    "CREATE INDEX IF NOT EXISTS leads_by_status ON leads(status, decided_at)",
    # The console's figures by period read the leads decided in a range: all they read is in this
    # index, so a sum over 100,000 leads never touches the records (version 5).
    """CREATE INDEX IF NOT EXISTS leads_period
        ON leads(decided_at, rep_id, value, touched_at, sla_due, touch_minutes) WHERE rep_id IS NOT NULL""",
    # The SLA clocks: the open leads still untouched, by due time (version 5).
    """CREATE INDEX IF NOT EXISTS leads_sla_open ON leads(sla_due)
        WHERE status = 'assigned' AND touched_at IS NULL""",
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        lead_id TEXT NOT NULL REFERENCES leads(lead_id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,  -- accepted | assigned | unassigned | reassigned | touched | released
        rep_id TEXT,
        from_rep_id TEXT,
        policy TEXT,
        reason TEXT,
        reason_code TEXT,
        expected_value REAL,
        explanation TEXT,                 -- JSON
        run_id INTEGER REFERENCES runs(run_id),
        arm TEXT                          -- the lead's experiment arm (version 4)
    )""",
    "CREATE INDEX IF NOT EXISTS events_lead ON events(lead_id, seq)",
    "CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at)",
    """CREATE TABLE IF NOT EXISTS rotations (
        pool TEXT PRIMARY KEY,            -- solver.compile.scoring.RotationState's pool key
        state TEXT NOT NULL               -- JSON: next and last rep ids, smooth WRR credits
    )""",
    """CREATE TABLE IF NOT EXISTS rep_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        rep_id TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL,                 -- who made the change (the console's user)
        change TEXT NOT NULL              -- JSON: solver.online.rep_changes fields
    )""",
    "CREATE INDEX IF NOT EXISTS rep_changes_rep ON rep_changes(rep_id, seq)",
    """CREATE VIEW IF NOT EXISTS rep_loads AS
        SELECT rep_id, COUNT(*) AS open_leads, SUM(effort) AS effort FROM leads
        WHERE status = 'assigned' GROUP BY rep_id""",
]

# Version 1's texts, read by the migration only.
_V1_WAIT_NOTE = "; waits in the backlog until a rep can take it"
_V1_STATUS = f"""
    CASE
        WHEN status = 'pending' THEN '{LeadStatus.BUFFERED}'
        WHEN released_at IS NOT NULL THEN '{LeadStatus.CLOSED}'
        WHEN status = 'assigned' THEN '{LeadStatus.ASSIGNED}'
        WHEN instr(reason, :note) > 0 AND reason LIKE 'deferred:%' THEN '{LeadStatus.DEFERRED}'
        WHEN instr(reason, :note) > 0 THEN '{LeadStatus.WAITING}'
        WHEN reason LIKE 'backlog expired:%' THEN '{LeadStatus.EXPIRED}'
        ELSE '{LeadStatus.UNASSIGNED}'
    END"""
# The codes version 1 implied by its statuses (others were not recorded: NULL).
_V1_CODE = """
    CASE new_status
        WHEN 'waiting' THEN 'waiting'
        WHEN 'deferred' THEN 'deferred'
        WHEN 'expired' THEN 'backlog_expired'
        WHEN 'closed' THEN CASE WHEN rep_id IS NULL THEN 'closed_while_waiting' END
    END"""


def schema_version(db: sqlite3.Connection) -> int | None:
    """The file's schema version; None for a new, empty file."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def create(db: sqlite3.Connection) -> None:
    """Create the tables of a new ledger (inside the caller's transaction)."""
    for statement in SCHEMA:
        db.execute(statement)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def migrate_v1(db: sqlite3.Connection) -> None:
    """Rebuild version 1's leads table as version 2's, in the caller's transaction.

    SQLite cannot change a CHECK constraint in place: a new table is filled
    from the old one, which is then dropped and replaced (foreign keys must be
    off, as the events table refers to it by name).
    """
    db.execute("DROP VIEW IF EXISTS rep_loads")
    db.execute("DROP INDEX IF EXISTS leads_open")
    db.execute(LEADS_TABLE.replace("EXISTS leads (", "EXISTS leads_v2 (", 1))
    db.execute(f"""
        INSERT INTO leads_v2 (lead_id, record, accepted_at, status, rep_id, policy, reason, reason_code,
                              expected_value, effort, decided_at, sla_due, touched_at, released_at,
                              reassignments, run_id)
        SELECT lead_id, record, accepted_at, new_status, rep_id, policy, reason, {_V1_CODE},
               expected_value, COALESCE(json_extract(record, '$.effort'), 1), decided_at, sla_due,
               touched_at, released_at, reassignments, run_id
        FROM (SELECT *, {_V1_STATUS} AS new_status FROM leads ORDER BY rowid)""",
               {"note": _V1_WAIT_NOTE})
    db.execute("DROP TABLE leads")
    db.execute("ALTER TABLE leads_v2 RENAME TO leads")
    db.execute("ALTER TABLE events ADD COLUMN reason_code TEXT")
    migrate_v3(db)  # the arm on the events; then the indexes, the view, the tables, the version


def migrate_v2(db: sqlite3.Connection) -> None:
    """Rebuild version 2's leads table as version 3's (a new status in its CHECK, new columns),
    in the caller's transaction, as `migrate_v1` does."""
    db.execute("DROP VIEW IF EXISTS rep_loads")
    db.execute(LEADS_TABLE.replace("EXISTS leads (", "EXISTS leads_v3 (", 1))
    db.execute(f"INSERT INTO leads_v3 ({_V2_COLUMNS}) SELECT {_V2_COLUMNS} FROM leads ORDER BY rowid")
    db.execute("DROP TABLE leads")
    db.execute("ALTER TABLE leads_v3 RENAME TO leads")
    migrate_v3(db)


def migrate_v3(db: sqlite3.Connection) -> None:
    """Give version 3's leads and events the arm column of version 4, in the caller's transaction
    (a column added at the end needs no rebuild; one already there, as after `migrate_v2`'s
    rebuild of the leads, is left alone); then version 5's tables (`create`)."""
    for table in ("leads", "events"):
        if "arm" not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN arm TEXT")
    migrate_v4(db)


def migrate_v4(db: sqlite3.Connection) -> None:
    """Give version 4 what version 5 adds, in the caller's transaction: each lead's value and
    minutes-to-first-touch columns (filled from its record and times), the rep_changes table and
    the console's indexes (`create`); then version 6's column (`migrate_v5`)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(leads)")}
    for name in ("value", "touch_minutes"):
        if name not in columns:
            db.execute(f"ALTER TABLE leads ADD COLUMN {name} REAL")
    db.execute("UPDATE leads SET value = json_extract(record, '$.value') WHERE value IS NULL")
    db.execute("UPDATE leads SET touch_minutes = (julianday(touched_at) - julianday(decided_at)) * 1440.0 "
               "WHERE touched_at IS NOT NULL AND touch_minutes IS NULL")
    migrate_v5(db)


def migrate_v5(db: sqlite3.Connection) -> None:
    """Give version 5's leads the experiment column of version 6, in the caller's transaction (left
    NULL on the leads already decided: their arm's experiment was not recorded); then `create`."""
    if "experiment" not in {row[1] for row in db.execute("PRAGMA table_info(leads)")}:
        db.execute("ALTER TABLE leads ADD COLUMN experiment TEXT")
    create(db)


# SQLite's primary result codes that the store tells apart (`sqlite3.Error.sqlite_errorcode & 0xFF`).
_BUSY, _LOCKED, _READONLY, _FULL, _CANTOPEN = 5, 6, 8, 13, 14


def store_error(exc: sqlite3.Error, path: str, timeout_s: float) -> StoreError:
    """SQLite's error as the store error callers catch, naming its cause and the ledger's path."""
    if isinstance(exc, sqlite3.ProgrammingError) and "thread" in str(exc):
        return StoreThreadError(f"the ledger {path} was opened for another thread ({exc})")
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    text = str(exc)
    if primary in (_BUSY, _LOCKED) or "locked" in text:
        return StoreBusy(f"another run holds the ledger {path} locked: waited {timeout_s:g} s for it "
                         f"to finish ({exc}); try again when it is done, or raise --lock-timeout")
    if primary == _READONLY or "readonly" in text:
        return StoreReadOnly(f"the ledger {path} is read-only ({exc}): nothing was written")
    if primary == _FULL or "disk is full" in text:
        return StoreFull(f"the disk holding the ledger {path} is full ({exc}): nothing of this "
                         "write was kept")
    if primary == _CANTOPEN:
        return StoreUnavailable(f"cannot open the ledger {path} ({exc})")
    return StoreUnavailable(f"{path} is not a usable ledger ({exc})")


def mapped(method: Callable[P, T]) -> Callable[P, T]:
    """A store method whose SQLite errors leave as store errors (`args[0]` is the store)."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            raise store_error(exc, store.path, store.timeout_s) from exc  # type: ignore[attr-defined]

    return call


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _code(text: str | None) -> ReasonCode | None:
    return None if text is None else ReasonCode(text)


def answer_of(row: sqlite3.Row) -> Assignment:
    """A leads row's current answer."""
    status = decision_status(LeadStatus(row["status"]), row["rep_id"])
    return Assignment(row["lead_id"], row["rep_id"], status, row["reason"], row["expected_value"],
                      row["policy"], _code(row["reason_code"]), row["queue"], row["arm"], row["experiment"])


def open_lead_of(row: sqlite3.Row) -> OpenLead:
    """An assigned leads row as an open lead."""
    touched = row["touched_at"] is not None
    return OpenLead(Lead.model_validate_json(row["record"]), row["rep_id"],
                    datetime.fromisoformat(row["decided_at"]), None if touched else _time(row["sla_due"]),
                    touched, row["reassignments"])
