"""Issue 12 item 10: the service's router and the batch job on one SQLite ledger file.

The store is the source of truth: a router records a batch only if the leads and
the seats it read are still there, checked inside the transaction that records it
(the solve runs off the ledger's lock: `solver.online.batch`), so another process's
router (here: another connection in another thread) can neither decide the same
buffered lead nor take a seat this one is about to give.
"""

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np

from solver.domain.model import Lead, Policy, Rep
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore
from tests.online.together import run_together

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in working hours
TEAM = [Rep(id="R0", capacity=2), Rep(id="R1", capacity=2)]
POLICY = Policy(batch={"max_size": 100, "max_wait_s": 3600})


class Interleaved(SqliteStore):
    """A ledger connection that runs `between` (once) right after the router reads the loads:
    the moment between a router's reads and its decision."""

    between = None

    def loads(self, rep_ids=None):
        out = super().loads(rep_ids)
        if self.between is not None:
            run, self.between = self.between, None
            run()
        return out


def job_in_a_thread(path, leads, results):
    """Start the batch job (its own connection and router) and give it a second to finish."""
    def job():
        with SqliteStore(path, timeout_s=30) as store:
            results.extend(Router(TEAM, POLICY, store).route(leads, T0))

    thread = threading.Thread(target=job)
    thread.start()
    thread.join(timeout=1.0)  # done unless it waits for the ledger's lock
    return thread


def check_ledger(path, answers):
    """Each lead decided once (waits, then at most one owner), no rep over capacity at any
    moment of the audit trail, and every answer a caller was given is the ledger's."""
    with SqliteStore(path) as store:
        events = store.history()
        for a in answers:
            stored = store.decision(a.lead_id)
            assert stored is not None and (stored.rep_id, stored.status) == (a.rep_id, a.status), a
    held: dict[str, int] = defaultdict(int)
    decisions: dict[str, list[str]] = defaultdict(list)
    capacity = {r.id: r.capacity for r in TEAM}
    for e in events:
        if e["kind"] in ("assigned", "unassigned"):
            decisions[e["lead_id"]].append(e["kind"])
        if e["kind"] == "assigned":
            held[e["rep_id"]] += 1
            assert held[e["rep_id"]] <= capacity[e["rep_id"]], f"{e['rep_id']} over capacity at {e}"
        elif e["kind"] == "released" and e["rep_id"]:
            held[e["rep_id"]] -= 1
    for lead_id, kinds in decisions.items():
        assert kinds.count("assigned") <= 1 and "assigned" not in kinds[:-1], (lead_id, kinds)
    return decisions


def test_a_job_started_while_the_service_decides_its_buffer_decides_each_lead_once(tmp_path):
    path = tmp_path / "ledger.db"
    service = Router(TEAM, POLICY, Interleaved(path, timeout_s=30))
    for i in range(3):
        service.submit(Lead(id=f"S{i}", value=100.0 + i), T0)
    job_answers: list = []
    threads = []
    service.store.between = lambda: threads.append(
        job_in_a_thread(path, [Lead(id=f"J{i}", value=200.0 + i) for i in range(3)], job_answers))
    answers = service.flush(T0)
    threads[0].join(timeout=30)
    service.store.close()
    # both read the buffer; whichever recorded first decided it, the other solved again without it
    assert sorted(a.lead_id for a in answers + job_answers if a.lead_id.startswith("S")) == ["S0", "S1", "S2"]
    assert {a.lead_id for a in job_answers} >= {"J0", "J1", "J2"}
    decisions = check_ledger(path, answers + job_answers)
    assert set(decisions) == {"S0", "S1", "S2", "J0", "J1", "J2"}


def test_an_urgent_lead_is_not_taken_by_the_job_midway(tmp_path):
    path = tmp_path / "ledger.db"
    service = Router(TEAM, POLICY, Interleaved(path, timeout_s=30))
    job_answers: list = []
    threads = []
    service.store.between = lambda: threads.append(
        job_in_a_thread(path, [Lead(id=f"J{i}", value=200.0 + i) for i in range(4)], job_answers))
    answer = service.submit(Lead(id="U0", value=50.0, urgent=True), T0)
    threads[0].join(timeout=30)
    service.store.close()
    assert answer is not None and answer.rep_id is not None  # the seat was free when it was decided
    check_ledger(path, [answer, *job_answers])


def test_a_service_and_jobs_interleaved_on_one_ledger_decide_each_lead_once(tmp_path):
    path = tmp_path / "ledger.db"
    team_seats = sum(r.capacity for r in TEAM)
    rng = np.random.default_rng(7)
    answers: list = []

    def service():
        with SqliteStore(path, timeout_s=30) as store:
            router = Router(TEAM, Policy(batch={"max_size": 3, "max_wait_s": 60}), store)
            for i in range(12):
                now = T0 + timedelta(seconds=i)
                a = router.submit(Lead(id=f"S{i}", value=float(rng.integers(50, 150)),
                                       urgent=bool(i % 3 == 0)), now)
                answers.extend([a] if a is not None else [])
                answers.extend(router.tick(now))
                if i == 6:
                    router.release(next(x.lead_id for x in answers if x.rep_id), now)

    def jobs():
        for k in range(4):
            with SqliteStore(path, timeout_s=30) as store:
                answers.extend(Router(TEAM, POLICY, store).route(
                    [Lead(id=f"J{k}.{i}", value=120.0) for i in range(2)], T0))

    errors = run_together([service, jobs])
    assert not errors, errors
    with SqliteStore(path) as store:
        Router(TEAM, POLICY, store).flush(T0 + timedelta(minutes=5))
        decided = {row["lead_id"] for row in store.leads() if row["lifecycle"] != "buffered"}
        assert len(decided) == 20 and store.loads().count.sum() <= team_seats
    # only each lead's latest answer is the ledger's (a waiting lead may be placed later)
    latest = {a.lead_id: a for a in answers}
    check_ledger(path, [a for a in latest.values() if a.rep_id is not None])
