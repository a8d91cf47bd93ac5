"""Opening the SQLite ledger file for writing or for reading only, and probing whether it can write.

A reader (`leadsolver history`) opens with SQLite's ``mode=ro``: it takes no
write lock, never waits behind a writer (WAL readers see the last commit),
and writes nothing, so a ledger on a read-only file or folder can be shown.
A writer checks up front that the file and its folder take writes, so a
read-only ledger is reported as such and not as a failed lock or schema.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from solver.online.store import StoreReadOnly, StoreUnavailable

# Below this much free space on the ledger's file system the store says it cannot write:
# a commit appends the run's pages to the WAL, and a full disk fails it at the end of a run.
MIN_FREE_BYTES = 1 << 20


def connect(path: str, *, read_only: bool, timeout_s: float, check_same_thread: bool) -> sqlite3.Connection:
    """A connection to the ledger at `path` (":memory:": a throwaway one); StoreError if it cannot be."""
    if path == ":memory:":
        return sqlite3.connect(path, timeout=timeout_s, isolation_level=None,
                               check_same_thread=check_same_thread)
    file = Path(path)
    if read_only:
        if not file.is_file():
            raise StoreUnavailable(f"no ledger at {path}")
        return _connect_read_only(file, timeout_s, check_same_thread)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission: the user's to fix
        raise StoreUnavailable(f"cannot create the folder of the ledger {path} "
                               f"({exc.strerror or exc})") from None
    if not can_write(file):
        raise StoreReadOnly(f"the ledger {path} is read-only (the file or its folder {file.parent} "
                            "cannot be written): nothing was written")
    # isolation_level=None: the store issues BEGIN/COMMIT itself (BEGIN IMMEDIATE).
    return sqlite3.connect(path, timeout=timeout_s, isolation_level=None, check_same_thread=check_same_thread)


def use_wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Switch the ledger to write-ahead logging, waiting up to `timeout_s` for other connections.

    The switch needs the file to itself, and SQLite answers "database is locked"
    at once, without its busy handler, while another connection holds it: two
    replicas or a job and the service opening a new ledger together. The switch
    is retried here; a file already in WAL mode answers at once.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


def _connect_read_only(file: Path, timeout_s: float, check_same_thread: bool) -> sqlite3.Connection:
    uri = f"file:{quote(str(file.resolve()))}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None,
                         check_same_thread=check_same_thread)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        if can_write(file):
            raise
        # A WAL ledger needs its -shm file, which a read-only folder cannot hold: nobody can
        # write there either, so the file is read as immutable (no locks, no shared memory).
        db.close()
        db = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=timeout_s, isolation_level=None,
                             check_same_thread=check_same_thread)
    return db


def can_write(file: Path) -> bool:
    """The file (if it exists) and its folder take writes (the WAL and journal files live there)."""
    folder = file.parent if str(file.parent) else Path(".")
    return os.access(folder, os.W_OK) and (not file.exists() or os.access(file, os.W_OK))


def disk_has_room(file: Path) -> bool:
    """At least MIN_FREE_BYTES are free on the file system holding `file`."""
    stats = os.statvfs(file.parent if str(file.parent) else ".")
    return stats.f_bavail * stats.f_frsize >= MIN_FREE_BYTES


def probe_write(db: sqlite3.Connection, in_transaction: bool, timeout_s: float) -> bool:
    """Whether a write would commit: take the write lock and allocate pages, then roll back.

    A page that SQLite may not allocate (`max_page_count`) or a read-only
    database fails here. Another writer holding the lock is a writable ledger
    (busy now, not broken): the probe does not wait for it.
    """
    page = int(db.execute("PRAGMA page_size").fetchone()[0])
    db.execute("PRAGMA busy_timeout = 0")
    try:
        db.execute("SAVEPOINT write_probe" if in_transaction else "BEGIN IMMEDIATE")
        try:
            # overflow pages: room for a few pages, what the smallest decision's write takes
            db.execute("INSERT INTO meta VALUES ('write_probe', zeroblob(?))", (4 * page,))
        finally:
            if in_transaction:
                db.execute("ROLLBACK TO write_probe")
                db.execute("RELEASE write_probe")
            elif db.in_transaction:
                db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        return code in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED: another writer is writing
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    return True
