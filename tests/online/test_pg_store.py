"""Issue 16: the PostgreSQL ledger's own behaviour (the contract suite runs over it as well).

Versioned migrations under the ledger's lock, readers, errors that name their cause, and
routers on separate connections that never exceed a capacity or decide a lead twice.
"""

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from solver.domain.model import Lead, Policy, Rep
from solver.online import pg_schema
from solver.online.router import Router
from solver.online.store import StoreBusy, StoreReadOnly, StoreUnavailable
from solver.online.stores import open_store, sqlite_path
from tests.online.together import run_together
from tests.pg_server import PG_URL, pg_schema_url

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in working hours


@pytest.fixture
def url():
    with pg_schema_url() as url:
        yield url


def versions(url):
    """The versions the ledger at `url` records as applied (opening it first applies pending ones)."""
    import psycopg

    open_store(url).close()
    with psycopg.connect(url) as db:
        return [r[0] for r in db.execute("SELECT version FROM schema_version ORDER BY 1")]


def test_a_new_ledger_applies_every_migration_in_order(url):
    assert versions(url) == [step[0] for step in pg_schema.MIGRATIONS] == list(range(1, pg_schema.SCHEMA_VERSION + 1))


def test_an_older_ledger_is_migrated_at_start_and_keeps_its_leads(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:  # a ledger written by the version-1 program
        db.execute("CREATE TABLE schema_version (version integer PRIMARY KEY, "
                   "applied_at timestamptz NOT NULL DEFAULT now(), what text NOT NULL)")
        for statement in pg_schema.MIGRATIONS[0][2]:
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version, what) VALUES (1, 'v1')")
        db.execute("INSERT INTO leads (lead_id, record, accepted_at, status) "
                   "VALUES ('OLD', %s, now(), 'buffered')", (Lead(id="OLD", value=1.0).model_dump_json(),))
    with pytest.raises(StoreUnavailable, match="schema version 1; this program reads version"):
        open_store(url, read_only=True)  # a reader migrates nothing
    with open_store(url) as store:
        assert [lead.id for lead, _ in store.buffered_leads()] == ["OLD"]
        assert store.leads()[0]["arm"] is None
    assert versions(url) == list(range(1, pg_schema.SCHEMA_VERSION + 1))


def test_two_replicas_starting_together_migrate_once(url):
    opened: list = []
    errors = run_together([lambda: opened.append(open_store(url))] * 4)
    for store in opened:
        store.close()
    assert errors == [] and len(opened) == 4
    assert versions(url) == list(range(1, pg_schema.SCHEMA_VERSION + 1))


def test_a_ledger_newer_than_the_program_is_refused_untouched(url):
    open_store(url).close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO schema_version (version, what) VALUES (99, 'from the future')")
    with pytest.raises(StoreUnavailable, match="schema version 99, newer than this program's"):
        open_store(url)


def test_a_reader_writes_nothing_and_a_schema_without_a_ledger_is_no_ledger(url):
    with pytest.raises(StoreUnavailable, match="holds no ledger"):
        open_store(url, read_only=True)
    open_store(url).close()
    with open_store(url, read_only=True) as reader:
        assert reader.leads() == [] and reader.writable() is False
        with pytest.raises(StoreReadOnly):
            reader.accept(Lead(id="L1", value=1.0), T0)


def test_an_unreachable_server_and_a_bad_url_are_store_errors_naming_them():
    with pytest.raises(StoreUnavailable, match=r"cannot connect to the ledger database "
                                               r"postgresql://u:\*\*\*@127.0.0.1:1/x"):
        open_store("postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(StoreUnavailable, match="not a ledger location"):
        open_store("mysql://127.0.0.1/x")
    assert sqlite_path("sqlite:///ledger.db") == "ledger.db"
    assert sqlite_path("sqlite:////var/ledger.db") == "/var/ledger.db"
    assert sqlite_path("ledger.db") == "ledger.db" and sqlite_path(PG_URL) is None


def test_a_second_writer_waits_for_the_first_then_gives_up_busy(url):
    with open_store(url) as first, open_store(url, timeout_s=0.2) as second:
        with first.transaction():
            first.accept(Lead(id="L1", value=1.0), T0)
            with pytest.raises(StoreBusy, match="locked"):
                second.accept(Lead(id="L2", value=1.0), T0)
        assert second.accept(Lead(id="L2", value=1.0), T0)  # the lock is free once the first commits
        assert second.known(["L1", "L2"]) == {"L1", "L2"}


TEAM = [Rep(id=f"R{k}", capacity=5) for k in range(4)]


def test_routers_on_separate_connections_never_exceed_a_cap_nor_decide_a_lead_twice(url):
    """Four routers (one connection each, as four replicas) submit urgent and buffered leads at
    once, the same ids on several: every lead decided once, no rep over its daily cap of 4 (16
    seats, under the 20 of capacity)."""
    open_store(url).close()
    policy = Policy(batch={"max_size": 10, "max_wait_s": 0}, caps={"default": {"per_day": 4}})
    answers: dict[str, list] = {}
    lock = threading.Lock()

    def replica(k: int) -> None:
        with open_store(url, check_same_thread=False) as store:
            router = Router(TEAM, policy, store)
            for i in range(30):
                n = (i * 7 + k * 3) % 40
                answer = router.submit(Lead(id=f"L{n}", urgent=n % 2 == 0, value=100.0 + n),
                                       T0 + timedelta(seconds=i))
                if i % 5 == 4:
                    router.tick(T0 + timedelta(seconds=i))
                if answer is not None:
                    with lock:
                        answers.setdefault(f"L{n}", []).append(answer)

    failures = run_together([lambda k=k: replica(k) for k in range(4)])
    assert failures == []
    with open_store(url) as store:
        Router(TEAM, policy, store).flush(T0 + timedelta(minutes=1))
        events = store.history()
        decided = Counter(e["lead_id"] for e in events if e["kind"] in ("assigned", "unassigned"))
        accepted = Counter(e["lead_id"] for e in events if e["kind"] == "accepted")
        assert set(accepted.values()) == {1} and len(accepted) == 40
        assert set(decided) == set(accepted) and set(decided.values()) <= {1, 2}  # waits, then placed once
        placed = Counter(e["rep_id"] for e in events if e["kind"] == "assigned")
        assert sum(placed.values()) == 16 and max(placed.values()) == 4  # every seat, none beyond
        for lead_id, given in answers.items():  # a retry on another replica got the first answer
            first = store.decision(lead_id)
            assert all((a.rep_id, a.status) == (first.rep_id, first.status) for a in given
                       if a.status == "assigned"), (lead_id, given, first)


def test_a_lost_connection_fails_one_call_and_the_next_ones_reconnect(url):
    """A database restart or failover cuts the connection: the service must not need a restart."""
    import psycopg

    name = f"cut-{uuid.uuid4().hex[:8]}"
    with open_store(f"{url}&application_name={name}") as store:
        store.accept(Lead(id="L1", value=1.0), T0)
        with psycopg.connect(url, autocommit=True) as admin:  # this store's connection only
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                          (name,))
        with pytest.raises(StoreUnavailable, match="lost the ledger database"):
            store.accept(Lead(id="L2", value=1.0), T0)
        assert store.writable() is True  # the readiness probe reconnects
        assert store.accept(Lead(id="L2", value=1.0), T0) and store.known(["L1", "L2"]) == {"L1", "L2"}


def test_one_replica_leads_the_batches_and_another_takes_over_when_it_dies(url):
    first, second = open_store(url), open_store(url)
    try:
        assert first.lead_batches() and first.lead_batches()  # kept, not taken twice
        assert not second.lead_batches()
        first.close()  # the leader's connection ends (a crash, kill -9)
        assert second.lead_batches()
        with open_store(url) as third:
            assert not third.lead_batches()
            with open_store(url, read_only=True) as reader:
                assert not reader.lead_batches()  # a reader never leads
    finally:
        second.close()
