"""What only the SQLite store does: the write lock, errors as store errors, the v1 to v5 -> v6 migrations."""

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead, Policy, Rep
from solver.online import sqlite_schema
from solver.online.lifecycle import LeadStatus
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore
from solver.online.store import StoreBusy, StoreUnavailable
from solver.online.stores import open_store
from tests.online.together import run_together

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
V1_LEDGER = Path(__file__).parent / "fixtures" / "ledger_v1.db"  # written by fixtures/make_ledger_v1.py


def test_a_second_writer_waits_for_the_first_then_gives_up_busy(tmp_path):
    path = tmp_path / "ledger.db"
    with SqliteStore(path) as first, SqliteStore(path, timeout_s=0.2) as second, first.transaction():
        first.accept(Lead(id="L1", value=1.0), T0)
        with pytest.raises(StoreBusy, match="locked"):
            second.accept(Lead(id="L2", value=1.0), T0)


def test_writers_opening_a_new_ledger_together_all_get_it(tmp_path):
    # Switching a new file to WAL needs it alone, and SQLite refuses at once, without waiting,
    # while another connection holds it: two replicas starting on one new ledger failed busy.
    for round_ in range(20):
        path = tmp_path / f"ledger{round_}.db"

        def open_and_accept(k, path=path):
            with SqliteStore(path, timeout_s=30) as store:
                store.accept(Lead(id=f"L{k}", value=1.0), T0)

        failures = run_together([lambda k=k: open_and_accept(k) for k in range(4)])
        assert not failures, failures
        with SqliteStore(path) as store:
            assert sorted(row["lead_id"] for row in store.leads()) == ["L0", "L1", "L2", "L3"]


def test_a_new_ledger_held_by_another_connection_is_busy_after_the_timeout(tmp_path):
    path = tmp_path / "ledger.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreBusy, match="locked"):
            SqliteStore(path, timeout_s=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_file_that_is_not_a_ledger_is_unavailable(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreUnavailable, match="not a usable ledger"):
        open_store(str(junk))


def test_a_new_file_is_at_schema_version_6(tmp_path):
    SqliteStore(tmp_path / "l.db").close()
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)


def as_version_2(path: Path) -> None:
    """Turn a ledger back into version 2: its leads table without version 3's columns and status."""
    with sqlite3.connect(path) as db:
        db.execute("DROP VIEW rep_loads")
        v2 = sqlite_schema.LEADS_TABLE.split("    queue TEXT")[0].rstrip().rstrip(",") + "\n)"
        v2 = v2.replace(", 'queued'", "").replace("EXISTS leads (", "EXISTS leads_v2 (")
        db.execute(v2)
        db.execute(f"INSERT INTO leads_v2 SELECT {sqlite_schema._V2_COLUMNS} FROM leads")
        db.execute("DROP TABLE leads")
        db.execute("ALTER TABLE leads_v2 RENAME TO leads")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def ledger_with_one_lead(path: Path, value: float = 1.0) -> Path:
    """A ledger file holding one lead, L1, assigned to R1 (what the migration tests turn back)."""
    with SqliteStore(path) as store:
        store.accept(Lead(id="L1", value=value), T0)
        store.decide([Assignment("L1", "R1", "assigned", "r", 1.0, "flow")], T0)
    return path


def test_a_version_2_ledger_is_migrated_to_6_and_takes_queued_leads(tmp_path):
    path = ledger_with_one_lead(tmp_path / "l.db")
    as_version_2(path)
    with sqlite3.connect(path) as db:
        assert "queue" not in {r[1] for r in db.execute("PRAGMA table_info(leads)")}
    with SqliteStore(path) as store:
        assert store.loads().by_rep() == {"R1": 1} and store.leads()[0]["queue"] is None
        store.accept(Lead(id="L2", value=1.0), T0)
        store.decide([Assignment("L2", None, "unassigned", ReasonCode.QUEUED.reason(queue="review", cause="c"),
                                 0.0, "flow", queue="review")], T0)
        assert store.status("L2") is LeadStatus.QUEUED and store.decision("L2").queue == "review"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)


def as_version_3(path: Path) -> None:
    """Turn a ledger back into version 3: its leads and events without the arm column."""
    with sqlite3.connect(path) as db:
        for table in ("leads", "events"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN arm")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def test_a_version_3_ledger_gains_the_arm_in_place_and_keeps_its_leads(tmp_path):
    path = ledger_with_one_lead(tmp_path / "l.db")
    as_version_3(path)
    with pytest.raises(StoreUnavailable, match="schema version 3"):
        SqliteStore(path, read_only=True)  # a reader migrates nothing
    with SqliteStore(path) as store:
        assert store.decision("L1").arm is None and store.loads().by_rep() == {"R1": 1}
        store.accept(Lead(id="L2", value=1.0), T0)
        store.decide([Assignment("L2", "R1", "assigned", "r", 1.0, "flow", arm="challenger")], T0)
        assert store.leads()[1]["arm"] == "challenger" and store.history("L2")[-1]["arm"] == "challenger"
        assert [e["arm"] for e in store.history("L1")] == [None, None]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)


@pytest.fixture
def v1_ledger(tmp_path) -> Path:
    path = tmp_path / "ledger_v1.db"
    shutil.copy(V1_LEDGER, path)
    return path


def test_a_version_1_ledger_is_migrated_in_place_and_keeps_every_lead(v1_ledger):
    with sqlite3.connect(v1_ledger) as db:
        before = {r[0]: r[1:] for r in db.execute("SELECT lead_id, status, rep_id, reason FROM leads")}
        events_before = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert before["L7"][0] == "unassigned"  # version 1: a waiting lead is known by its reason's text
    with SqliteStore(v1_ledger) as store:
        rows = {r["lead_id"]: r for r in store.leads()}
        assert set(rows) == set(before)
        for lead_id, (status, rep_id, reason) in before.items():
            assert (rows[lead_id]["status"], rows[lead_id]["rep_id"], rows[lead_id]["reason"]) == (
                status, rep_id, reason)
        assert {lead_id: r["lifecycle"] for lead_id, r in rows.items()} == {
            "L0": "assigned", "L1": "closed", "L2": "assigned", "L3": "closed", "L4": "expired",
            "L5": "unassigned", "L6": "assigned", "L7": "waiting", "L8": "buffered"}
        assert [w.lead.id for w in store.waiting_leads()] == ["L7"]
        assert store.waiting_leads()[0].answer.reason_code == "waiting"
        assert [lead.id for lead, _ in store.buffered_leads()] == ["L8"]
        assert store.loads().by_rep() == {"R0": 2, "R1": 1}
        assert store.open_lead("L0").touched and not store.open_lead("L6").touched
        assert len(store.history()) == events_before
    with sqlite3.connect(v1_ledger) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)


def test_a_router_on_a_migrated_ledger_reloads_its_backlog_and_buffer(v1_ledger):
    team = [Rep(id="R0", capacity=2, territories=("EU", "US")), Rep(id="R1", capacity=1, territories=("EU",))]
    policy = Policy(batch={"max_size": 3, "max_wait_s": 60})
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    with SqliteStore(v1_ledger) as store:
        router = Router(team, policy, store, clock=lambda: now)
        assert router.backlog == ["L7"] and router.buffered == ["L8"]
        assert router.loads() == {"R0": 2, "R1": 1}
        router.release("L0")  # R0 has room for one: the buffered L8 (worth more) takes it
        out = {a.lead_id: a for a in router.flush()}
        assert out["L8"].rep_id == "R0" and "L7" not in out and router.backlog == ["L7"]
        router.release("L6")  # room again: the waiting lead gets it
        (placed,) = router.tick()
        assert (placed.lead_id, placed.rep_id) == ("L7", "R0") and placed.reason.startswith("from the backlog")
        assert store.status("L7") is LeadStatus.ASSIGNED and router.backlog == []
        assert [e["kind"] for e in store.history("L7")] == ["accepted", "unassigned", "assigned"]
    with SqliteStore(v1_ledger) as store:  # opening it again does not migrate twice
        assert Router(team, policy, store, clock=lambda: now).loads() == {"R0": 2, "R1": 1}


def test_intake_read_again_sees_another_connections_commits_and_forgets_a_rolled_back_write(tmp_path):
    path = tmp_path / "l.db"
    with SqliteStore(path) as one, SqliteStore(path) as two:
        for k in range(3):
            one.accept(Lead(id=f"L{k}", value=1.0), T0)
        assert one.intake(T0) == []
        two.decide([Assignment("L0", "R1", "assigned", "r", 1.0, "flow")], T0)
        assert one.intake(T0) == [("R1", T0)]  # the other connection's commit
        with pytest.raises(RuntimeError), one.transaction():
            one.decide([Assignment("L1", "R2", "assigned", "r", 1.0, "flow")], T0)
            assert one.intake(T0) == [("R1", T0), ("R2", T0)]  # its own write, not yet committed
            raise RuntimeError("crash")
        assert one.intake(T0) == [("R1", T0)]
        two.decide([Assignment("L2", "R3", "assigned", "r", 1.0, "flow")], T0)
        assert one.intake(T0) == [("R1", T0), ("R3", T0)] == two.intake(T0)


def test_a_version_4_ledger_gains_the_rep_changes_table_and_keeps_its_leads(tmp_path):
    path = ledger_with_one_lead(tmp_path / "l.db", value=7.5)
    with sqlite3.connect(path) as db:  # back to version 4: no rep_changes, no value column
        for index in ("leads_period", "leads_sla_open"):
            db.execute(f"DROP INDEX {index}")
        db.execute("ALTER TABLE leads DROP COLUMN value")
        db.execute("DROP TABLE rep_changes")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    with pytest.raises(StoreUnavailable, match="schema version 4"):
        SqliteStore(path, read_only=True)  # a reader migrates nothing
    with SqliteStore(path) as store:
        assert store.loads().by_rep() == {"R1": 1} and store.rep_changes() == []
        store.record_rep_change("R1", T0, {"available": False}, by="ana")
        assert [r["change"] for r in store.rep_changes()] == [{"available": False}]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)
        assert db.execute("SELECT value FROM leads").fetchall() == [(7.5,)]  # copied from the record


def test_a_version_5_ledger_gains_the_experiment_column_in_place_and_keeps_its_arms(tmp_path):
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        store.accept(Lead(id="L1", value=1.0), T0)
        store.decide([Assignment("L1", "R1", "assigned", "r", 1.0, "flow", arm="challenger")], T0)
    with sqlite3.connect(path) as db:  # back to version 5: no experiment column
        db.execute("ALTER TABLE leads DROP COLUMN experiment")
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    with pytest.raises(StoreUnavailable, match="schema version 5"):
        SqliteStore(path, read_only=True)  # a reader migrates nothing
    with SqliteStore(path) as store:
        assert (store.decision("L1").arm, store.decision("L1").experiment) == ("challenger", None)
        store.accept(Lead(id="L2", value=1.0), T0)
        store.decide([Assignment("L2", "R1", "assigned", "r", 1.0, "flow", arm="control", experiment="b")], T0)
        assert [(r["arm"], r["experiment"]) for r in store.leads()] == [("challenger", None), ("control", "b")]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)
