"""Opening a lead store by location: the one place that picks a backend."""

from __future__ import annotations

from typing import Literal

from solver.online.memory_store import MemoryStore
from solver.online.sqlite_store import SqliteStore
from solver.online.store import LeadStore


def open_store(path: str | None, *, timeout_s: float = 600.0,
               synchronous: Literal["FULL", "NORMAL"] = "FULL",
               check_same_thread: bool = True, read_only: bool = False) -> LeadStore:
    """A store by location: None gives a `MemoryStore`; a path, the SQLite ledger file there.

    `read_only` (readers such as `history`): no write lock, nothing written,
    a ledger on a read-only file or folder still opens. Raises `StoreError`
    subclasses naming the cause and the path (`StoreUnavailable`: no ledger
    or not a ledger, `StoreReadOnly`, `StoreBusy`, `StoreFull`).
    """
    if path is None:
        return MemoryStore()
    return SqliteStore(path, timeout_s=timeout_s, synchronous=synchronous,
                       check_same_thread=check_same_thread, read_only=read_only)
