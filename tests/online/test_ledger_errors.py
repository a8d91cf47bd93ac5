"""Issue 12 item 9: the SQLite ledger opens read-only for readers and names each failure's cause and path.

Tests run as root, which ignores file modes: a read-only ledger is made with
`chattr +i` (immutable, even for root) and skipped with its reason where the
file system refuses it.
"""

import sqlite3
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from solver.domain.model import Lead
from solver.online.sqlite_store import SqliteStore
from solver.online.store import StoreBusy, StoreFull, StoreReadOnly, StoreUnavailable
from solver.online.stores import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ledger(path: Path, n: int = 2) -> Path:
    with SqliteStore(path) as store:
        for i in range(n):
            store.accept(Lead(id=f"L{i}", value=1.0), T0)
    return path


@contextmanager
def immutable(*paths: Path):
    """The paths made immutable (`chattr +i`: even root cannot write them), restored after."""
    done: list[Path] = []
    try:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                pytest.skip("chattr +i is refused here: no way to make a file read-only for root")
            done.append(p)
        yield
    finally:
        for p in reversed(done):
            subprocess.run(["chattr", "-i", str(p)], check=True)


def test_a_reader_does_not_wait_behind_a_writer(tmp_path):
    path = ledger(tmp_path / "l.db")
    with SqliteStore(path) as writer, writer.transaction():
        writer.accept(Lead(id="L9", value=1.0), T0)
        reader = open_store(str(path), read_only=True, timeout_s=0.2)
        try:
            assert reader.known(["L0", "L9"]) == {"L0"}  # the writer's lead is not committed yet
        finally:
            reader.close()


def test_a_read_only_store_refuses_writes_and_says_so(tmp_path):
    path = ledger(tmp_path / "l.db")
    before = path.read_bytes()
    store = open_store(str(path), read_only=True)
    try:
        assert store.writable() is False
        with pytest.raises(StoreReadOnly, match=f"{path} is read-only"):
            store.accept(Lead(id="L5", value=1.0), T0)
    finally:
        store.close()
    assert path.read_bytes() == before


def test_a_ledger_in_a_read_only_directory_is_readable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = ledger(folder / "l.db")
    with immutable(path, folder):
        store = open_store(str(path), read_only=True)
        try:
            assert [r["lead_id"] for r in store.leads()] == ["L0", "L1"]
        finally:
            store.close()
        with pytest.raises(StoreReadOnly, match=str(path)):
            open_store(str(path))  # opening to write says read-only, not "not a ledger"


def test_a_read_only_file_is_not_writable_for_readiness(tmp_path):
    path = ledger(tmp_path / "l.db")
    store = open_store(str(path))
    try:
        assert store.writable()
        with immutable(path):
            assert store.writable() is False
    finally:
        store.close()


def test_a_lock_timeout_says_busy_with_the_path_and_the_wait(tmp_path):
    path = ledger(tmp_path / "l.db")
    with SqliteStore(path) as first, SqliteStore(path, timeout_s=0.2) as second, first.transaction():
        first.accept(Lead(id="L5", value=1.0), T0)
        with pytest.raises(StoreBusy, match=rf"another run holds the ledger {path}.*waited 0.2 s"):
            second.accept(Lead(id="L6", value=1.0), T0)


def test_not_a_ledger_names_the_path(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreUnavailable, match=f"{junk}.*not a usable ledger") as caught:
        open_store(str(junk), read_only=True)
    assert not isinstance(caught.value, StoreBusy | StoreReadOnly | StoreFull)


def test_a_full_disk_is_reported_as_full_not_as_a_failed_rollback(tmp_path):
    path = ledger(tmp_path / "l.db")
    with SqliteStore(path) as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own cap on the file's pages: past it, writes fail with SQLITE_FULL as on a full disk
        store._db.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(StoreFull, match=f"the disk holding the ledger {path} is full"), store.transaction():
            for i in range(2000):
                store.accept(Lead(id=f"big{i}", value=1.0, industry="x" * 500), T0)
        assert store.known(["big0"]) == set() and store.known(["L0"]) == {"L0"}
        assert store.writable() is False  # no room for a page: readiness says so


def test_the_write_probe_leaves_no_trace(tmp_path):
    path = ledger(tmp_path / "l.db")
    with SqliteStore(path) as store:
        assert store.writable()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 1


def test_a_ledger_path_under_a_file_names_the_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = blocker / "l.db"
    with pytest.raises(StoreUnavailable, match=f"cannot create the folder of the ledger {path}"):
        open_store(str(path))
