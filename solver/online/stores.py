"""Opening a lead store by location: the one place that picks a backend.

None gives a `MemoryStore`; ``postgresql://...`` (or ``postgres://...``) a
`PostgresStore`; ``sqlite:///path`` or a plain path the SQLite ledger file
there (``sqlite:///ledger.db`` is relative, ``sqlite:////var/ledger.db``
absolute, as SQLAlchemy writes them).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from solver.online import sqlite_open, sqlite_schema
from solver.online.memory_store import MemoryStore
from solver.online.pg_open import is_postgres_url
from solver.online.sqlite_store import SqliteStore
from solver.online.store import LeadStore, StoreUnavailable

SQLITE_SCHEME = "sqlite:///"


def sqlite_path(location: str) -> str | None:
    """The SQLite file a location names (a plain path, or a ``sqlite:///`` URL); None for a PostgreSQL URL."""
    if is_postgres_url(location):
        return None
    if location.startswith(SQLITE_SCHEME):
        return location[len(SQLITE_SCHEME):]
    if "://" in location:
        raise StoreUnavailable(f"{location!r}: not a ledger location (a file path, sqlite:///PATH or "
                               "postgresql://USER@HOST:PORT/DBNAME)")
    return location


def open_store(location: str | None, *, timeout_s: float = 600.0,
               synchronous: Literal["FULL", "NORMAL"] = "FULL",
               check_same_thread: bool = True, read_only: bool = False) -> LeadStore:
    """A store by location (see the module docstring).

    `read_only` (readers such as `history`): no write lock, nothing written,
    a ledger on a read-only file or folder still opens. Raises `StoreError`
    subclasses naming the cause and the location (`StoreUnavailable`: no
    ledger, not a ledger, an unreachable server or a bad URL; `StoreReadOnly`,
    `StoreBusy`, `StoreFull`).
    """
    if location is None:
        return MemoryStore()
    path = sqlite_path(location)
    if path is None:
        try:
            from solver.online.pg_store import PostgresStore
        except ImportError:
            raise StoreUnavailable("a PostgreSQL ledger needs psycopg: "
                                   "pip install 'leadsolver[postgres]'") from None
        return PostgresStore(location, timeout_s=timeout_s, synchronous=synchronous,
                             check_same_thread=check_same_thread, read_only=read_only)
    return SqliteStore(path, timeout_s=timeout_s, synchronous=synchronous,
                       check_same_thread=check_same_thread, read_only=read_only)


def upgrade_store(location: str, *, timeout_s: float = 600.0) -> tuple[int | None, int]:
    """Bring the ledger at `location` to this program's schema (create it if there is none):
    its (from, to) schema versions, from None for a new one. Each backend numbers its own
    versions. The migrations are what opening a store for writing applies; this reports them."""
    path = sqlite_path(location)
    if path is None:
        from psycopg import Error as DriverError

        from solver.online import pg_open, pg_schema

        db = pg_open.connect(location, read_only=False, timeout_s=timeout_s, synchronous="FULL")
        try:
            return pg_schema.upgrade(db, pg_open.redacted(location))
        except DriverError as exc:
            raise pg_open.store_error(exc, location, timeout_s) from exc
        finally:
            db.close()
    before = None
    if Path(path).is_file():
        try:
            reader = sqlite_open.connect(path, read_only=True, timeout_s=timeout_s, check_same_thread=True)
            try:
                before = sqlite_schema.schema_version(reader)
            finally:
                reader.close()
        except sqlite3.Error as exc:
            raise sqlite_schema.store_error(exc, path, timeout_s) from exc
    SqliteStore(path, timeout_s=timeout_s).close()
    return before, sqlite_schema.SCHEMA_VERSION
