"""Moving a SQLite ledger into a PostgreSQL one: every run, lead, event, rotation and rep change, as
they are.

`copy_sqlite_to_pg` reads the SQLite file read-only (a service may still be
writing it; the copy is its last commit) and writes the PostgreSQL ledger in
one transaction holding the ledger's lock: a failure leaves the database as
it was. Ids are kept (run ids, event and rep change seqs; the identity sequences go on after
them), leads keep their order of acceptance, times become ``timestamptz`` and
JSON text ``json``. The target must hold no ledger data yet: a copy never
merges two ledgers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Json

from solver.online import sqlite_open, sqlite_schema
from solver.online.pg_store import PostgresStore
from solver.online.store import StoreUnavailable

# The columns copied, per table, in the SQLite ledger's (current) schema; times and JSON converted.
_COLUMNS = {
    "runs": ("run_id", "kind", "policy", "started_at", "finished_at", "summary"),
    "leads": ("lead_id", "record", "accepted_at", "status", "rep_id", "policy", "reason", "reason_code",
              "expected_value", "effort", "decided_at", "sla_due", "touched_at", "released_at",
              "reassignments", "run_id", "queue", "outcome", "outcome_reason", "outcome_value", "outcome_at",
              "arm", "experiment"),
    "events": ("seq", "lead_id", "at", "kind", "rep_id", "from_rep_id", "policy", "reason", "reason_code",
               "expected_value", "explanation", "run_id", "arm"),
    "rotations": ("pool", "state"),
    "rep_changes": ("seq", "rep_id", "at", "by", "change"),
}
_ORDER = {"runs": "run_id", "leads": "rowid", "events": "seq", "rotations": "pool", "rep_changes": "seq"}
_TIMES = {"started_at", "finished_at", "accepted_at", "decided_at", "sla_due", "touched_at", "released_at",
          "outcome_at", "at"}
_JSON = {"summary", "record", "explanation", "state", "change"}


@dataclass(frozen=True)
class Copied:
    """How many rows of each table were copied."""

    runs: int
    leads: int
    events: int
    rotations: int
    rep_changes: int

    def summary(self) -> str:
        return (f"{self.leads:,} leads, {self.events:,} events, {self.runs:,} runs, "
                f"{self.rotations:,} rotations, {self.rep_changes:,} rep changes")


def copy_sqlite_to_pg(sqlite_path: str, target: PostgresStore) -> Copied:
    """Copy the SQLite ledger at `sqlite_path` into the empty ledger `target` (see the module
    docstring). StoreError naming the cause if the source is no current ledger or the target
    is not empty; nothing is written then."""
    source = _open_source(sqlite_path)
    try:
        tables = {table: _read(source, table) for table in _COLUMNS}
    except sqlite3.Error as exc:
        raise sqlite_schema.store_error(exc, sqlite_path, 0) from exc
    finally:
        source.close()
    target.load_rows({table: (columns, tables[table]) for table, columns in _COLUMNS.items()})
    return Copied(*(len(tables[t]) for t in ("runs", "leads", "events", "rotations", "rep_changes")))


def _open_source(path: str) -> sqlite3.Connection:
    """The SQLite ledger, read-only, at this program's schema version (else StoreError)."""
    try:
        db = sqlite_open.connect(path, read_only=True, timeout_s=60.0, check_same_thread=True)
        version = sqlite_schema.schema_version(db)
    except sqlite3.Error as exc:
        raise sqlite_schema.store_error(exc, path, 60.0) from exc
    if version != sqlite_schema.SCHEMA_VERSION:
        db.close()
        raise StoreUnavailable(
            f"{path} is not a usable ledger (no ledger tables)" if version is None else
            f"the ledger {path} is at schema version {version}: `leadsolver db upgrade --db {path}` "
            f"first (this program copies version {sqlite_schema.SCHEMA_VERSION})")
    return db


def _read(db: sqlite3.Connection, table: str) -> list[Sequence[Any]]:
    columns = _COLUMNS[table]
    rows = db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_ORDER[table]}")
    return [tuple(_value(column, value) for column, value in zip(columns, row, strict=True)) for row in rows]


def _value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _TIMES:
        return datetime.fromisoformat(value)
    if column in _JSON:
        return Json(json.loads(value))
    return value

