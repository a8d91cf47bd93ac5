"""Issue 16: `leadsolver db upgrade` and `leadsolver db copy` (a SQLite ledger into PostgreSQL).

A copied ledger reads exactly as the original (every lead row, event, run and rotation), and
routing goes on on it with new ids after the copied ones; what cannot be copied writes nothing.
"""

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from solver.cli.main import main
from solver.domain.model import Lead, Policy, Rep
from solver.online import pg_schema, sqlite_schema
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore
from solver.online.stores import open_store
from tests.online.test_sqlite_store import V1_LEDGER
from tests.pg_server import pg_schema_url

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TEAM = [Rep(id="R0", capacity=3), Rep(id="R1", capacity=3)]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def url():
    with pg_schema_url() as url:
        yield url


def a_used_ledger(path) -> None:
    """A SQLite ledger with a job run, urgent and batched decisions, a backlog, touches, releases,
    an outcome, a saved rotation and a rep change."""
    with SqliteStore(path) as store:
        run_id = store.start_run("job", "flow", T0)
        router = Router(TEAM, Policy(batch={"max_size": 100, "max_wait_s": 0}), store, run_id=run_id)
        router.route([Lead(id=f"B{i}", value=100.0 + i) for i in range(5)], T0)
        for i in range(3):
            router.submit(Lead(id=f"U{i}", value=50.0, urgent=True), T0 + timedelta(minutes=i))
        router.touch("B0", T0 + timedelta(minutes=5))
        router.release("B1", T0 + timedelta(minutes=6))
        store.record_outcome("B0", T0 + timedelta(minutes=7), "won", value=900.0)
        store.save_rotation({"all": {"next": "R1", "last": "R0", "credits": {}}})
        store.record_rep_change("R1", T0 + timedelta(minutes=7), {"capacity": 4}, by="ops")
        store.finish_run(run_id, T0 + timedelta(minutes=8), {"assigned": 5})


def test_a_copied_ledger_reads_as_the_original_and_routing_goes_on(tmp_path, url):
    source = tmp_path / "ledger.db"
    a_used_ledger(source)
    done = cli("db", "copy", "--from", f"sqlite:///{source}", "--to", url)
    assert done.exit_code == 0, done.output
    assert "8 leads" in done.output and "1 runs" in done.output
    with SqliteStore(source, read_only=True) as old, open_store(url) as new:
        assert new.leads() == old.leads() and new.history() == old.history()
        assert new.runs() == old.runs() and new.rotation() == old.rotation()
        assert new.rep_changes() == old.rep_changes() != []
        assert new.count_waiting() == old.count_waiting() > 0
        # new runs and events are numbered after the copied ones
        run_id = new.start_run("job", "flow", T0 + timedelta(hours=1))
        Router(TEAM, Policy(), new, run_id=run_id).submit(Lead(id="NEW", value=1.0, urgent=True),
                                                           T0 + timedelta(hours=1))
        assert run_id == old.runs()[-1]["run_id"] + 1
        seqs = [e["seq"] for e in new.history()]
        assert seqs == sorted(set(seqs)) and seqs[-1] > old.history()[-1]["seq"]
    # history through the CLI reads the database like the file
    assert cli("history", "--db", url, "--lead", "B0").output == cli("history", "--db", str(source),
                                                                     "--lead", "B0").output


def test_a_copy_into_a_ledger_with_leads_writes_nothing(tmp_path, url):
    source = tmp_path / "ledger.db"
    a_used_ledger(source)
    assert cli("db", "copy", "--from", str(source), "--to", url).exit_code == 0
    again = cli("db", "copy", "--from", str(source), "--to", url)
    assert again.exit_code == 2 and "is not empty" in again.output
    with open_store(url) as store:
        assert len(store.leads()) == 8 and len(store.runs()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "postgresql://x@127.0.0.1/db", "--to", "postgresql://x@127.0.0.1/db"), "--from takes a SQLite"),
    (("--from", "ledger.db", "--to", "other.db"), "--to takes a PostgreSQL URL"),
    (("--from", "missing.db", "--to", "PG"), "no ledger at missing.db"),
])
def test_copy_refuses_what_it_cannot_copy(tmp_path, url, args, message):
    args = tuple(url if a == "PG" else str(tmp_path / a) if a.endswith(".db") else a for a in args)
    done = cli("db", "copy", *args)
    assert done.exit_code == 2 and message.replace("missing.db", str(tmp_path / "missing.db")) in done.output


def test_an_old_sqlite_ledger_is_upgraded_first_then_copied(tmp_path, url):
    old = tmp_path / "v1.db"
    shutil.copy(V1_LEDGER, old)
    refused = cli("db", "copy", "--from", str(old), "--to", url)
    assert refused.exit_code == 2 and "db upgrade" in refused.output
    upgraded = cli("db", "upgrade", "--db", str(old))
    assert upgraded.exit_code == 0
    assert f"schema version 1 -> schema version {sqlite_schema.SCHEMA_VERSION}" in upgraded.output
    assert cli("db", "copy", "--from", str(old), "--to", url).exit_code == 0


def test_db_upgrade_reports_from_and_to_on_postgresql(url):
    first = cli("db", "upgrade", "--db", url)
    assert first.exit_code == 0 and f"no ledger -> schema version {pg_schema.SCHEMA_VERSION}" in first.output
    again = cli("db", "upgrade", "--db", url)
    assert again.exit_code == 0 and f"schema version {pg_schema.SCHEMA_VERSION}, up to date" in again.output


def test_an_unreachable_server_exits_2_naming_it_with_the_password_masked():
    for command in (("db", "upgrade", "--db"), ("history", "--db"), ("queues", "--db")):
        done = cli(*command, "postgresql://ops:hunter2@127.0.0.1:1/ledger")
        assert done.exit_code == 2, (command, done.output)
        assert "cannot connect to the ledger database postgresql://ops:***@127.0.0.1:1/ledger" in done.output
        assert "hunter2" not in done.output


def test_learn_reads_speed_to_lead_from_a_postgresql_ledger_as_from_the_file(tmp_path, url):
    from tests.cli.test_learn_ledger import REPS, simulate_ledger

    source = tmp_path / "ledger.db"
    with SqliteStore(source) as store, store.transaction():
        simulate_ledger(store, leads_per_rep=40, outcomes=True)
    assert cli("db", "copy", "--from", str(source), "--to", url).exit_code == 0
    reps = tmp_path / "reps.csv"
    reps.write_text(REPS)
    learned = {}
    for name, location in (("file", str(source)), ("database", url)):
        out = tmp_path / f"learned-{name}.csv"
        done = cli("learn", "--ledger", location, "--reps", str(reps), "--out", str(out))
        assert done.exit_code == 0, done.output
        learned[name] = out.read_text()
    assert learned["file"] == learned["database"] and "response_minutes" in learned["file"]
