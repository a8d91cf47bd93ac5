"""Opening a lead store by location: the one place that picks a backend.

None gives a `MemoryStore`; ``postgresql://...`` (or ``postgres://...``) a
`PostgresStore`; ``sqlite:///path`` or a plain path the SQLite ledger file
there (``sqlite:///ledger.db`` is relative, ``sqlite:////var/ledger.db``
absolute, as SQLAlchemy writes them).
"""

from __future__ import annotations

from typing import Literal

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
