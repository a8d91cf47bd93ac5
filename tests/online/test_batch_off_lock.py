"""A batch is solved off the ledger's lock: urgent leads are decided meanwhile; a batch leaves out
the leads another process decided while it solved, and solves again those whose seats another
process took, never doubling a lead nor filling a seat twice.

Each test holds the batch's solve (greedy's, in the thread named "batch") until it has acted
from another connection to the same ledger, a SQLite file or a PostgreSQL schema: another
process's router. Where the batch held the ledger's lock through its solve, that connection
waited for it and gave up (`StoreBusy`) after LOCK_WAIT_S.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime

import pytest

from solver.decode.result import Assignment
from solver.domain.model import Lead, Policy, Rep
from solver.online.router import Router
from solver.online.store import LeadStore
from solver.online.stores import open_store
from tests.online.together import Hold

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, in working hours
# R0 alone covers territory B; both cover A. R0 has one seat, R1 two.
TEAM = [Rep(id="R0", territories=("A", "B"), capacity=1), Rep(id="R1", territories=("A",), capacity=2)]
POLICY = Policy(solver="greedy", batch={"max_size": 100, "max_wait_s": 3600})
LOCK_WAIT_S = 5.0  # how long the other process waits for the ledger's lock before it fails


@pytest.fixture
def hold(monkeypatch: pytest.MonkeyPatch) -> Hold:
    """Holds the solves of the thread named "batch"."""
    return Hold(monkeypatch, lambda: threading.current_thread().name == "batch")


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """One ledger two processes share: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    from tests.pg_server import pg_schema_url

    with pg_schema_url() as url:  # skips where no server answers
        yield url


def connect(ledger: str) -> LeadStore:
    """A connection to the ledger, as another process opens it."""
    return open_store(ledger, timeout_s=LOCK_WAIT_S, check_same_thread=False)


def in_batch_thread(hold: Hold, batch: Callable[[], list]) -> tuple[threading.Thread, list]:
    """Start `batch` (a router's call) in the thread named "batch"; return once its solve is held."""
    answers: list = []
    thread = threading.Thread(target=lambda: answers.extend(batch()), name="batch")
    thread.start()
    assert hold.solving.wait(timeout=60), "the batch never reached its solve"
    return thread, answers


def urgent_while_solved(ledger: str, hold: Hold, batch: Callable[[], list], lead_id: str,
                        team: list[Rep] = TEAM, policy: Policy = POLICY) -> tuple[list, Assignment | None]:
    """Run `batch` as `in_batch_thread` does; while its solve is held, another process submits the
    urgent lead `lead_id` (territory B: R0's). The batch's answers, and the urgent lead's."""
    thread, answers = in_batch_thread(hold, batch)
    try:
        with closing(connect(ledger)) as store:
            urgent = Router(team, policy, store).submit(Lead(id=lead_id, territory="B", value=50.0, urgent=True), T0)
    finally:
        hold.go.set()
        thread.join(timeout=60)
    return answers, urgent


def decisions(ledger: str) -> tuple[Counter, dict[str, str | None]]:
    """First decisions per lead in the audit trail, and each lead's owner now."""
    with closing(connect(ledger)) as store:
        events = store.history()
        owners = {row["lead_id"]: row["rep_id"] for row in store.leads()}
    return Counter(e["lead_id"] for e in events if e["kind"] in ("assigned", "unassigned")), owners


def held_by(owners: dict[str, str | None]) -> Counter:
    return Counter(rep_id for rep_id in owners.values() if rep_id is not None)


@pytest.mark.parametrize("batch", ["job", "flush"])
def test_an_urgent_lead_is_decided_while_a_batch_is_solved(ledger, hold, batch):
    with closing(connect(ledger)) as batch_store:
        router = Router(TEAM, POLICY, batch_store)
        if batch == "job":
            call = lambda: router.route([Lead(id="J0", territory="A", value=100.0)], T0)  # noqa: E731
        else:  # a service's micro-batch of a buffered lead
            router.submit(Lead(id="J0", territory="A", value=100.0), T0)
            call = lambda: router.flush(T0)  # noqa: E731
        thread, answers = in_batch_thread(hold, call)
        try:
            with closing(connect(ledger)) as store:  # another replica, while the batch is solved
                urgent = Router(TEAM, POLICY, store).submit(Lead(id="U0", territory="B", value=50.0, urgent=True),
                                                           T0)
            solving = thread.is_alive() and not hold.go.is_set()
        finally:
            hold.go.set()
            thread.join(timeout=60)
    assert solving and not hold.timed_out
    assert urgent is not None and urgent.rep_id == "R0"
    assert [(a.lead_id, a.rep_id) for a in answers] == [("J0", "R1")]  # R0's one seat is U0's
    counts, owners = decisions(ledger)
    assert counts == {"J0": 1, "U0": 1} and owners == {"J0": "R1", "U0": "R0"}


def test_a_batch_leaves_out_the_buffered_leads_another_process_decided_while_it_solved(ledger, hold):
    with closing(connect(ledger)) as service_store, closing(connect(ledger)) as job_store:
        service = Router(TEAM, POLICY, service_store)
        for i in range(2):
            service.submit(Lead(id=f"S{i}", territory="A", value=100.0 + i), T0)
        # the job decides its file with the buffer: S0, S1 and J0 as read (J0 to R1)
        thread, job_answers = in_batch_thread(hold, lambda: Router(TEAM, POLICY, job_store).route(
            [Lead(id="J0", territory="A", value=90.0)], T0))
        try:
            service_answers = service.flush(T0)  # the service's micro-batch decides S0 and S1 meanwhile
        finally:
            hold.go.set()
            thread.join(timeout=60)
    assert not hold.timed_out and hold.solves == 1  # J0's seat (one of R1's two) was still free
    assert [(a.lead_id, a.rep_id) for a in service_answers] == [("S0", "R0"), ("S1", "R1")]
    assert [(a.lead_id, a.rep_id) for a in job_answers] == [("J0", "R1")]  # S0 and S1 left out
    counts, owners = decisions(ledger)
    assert counts == {"S0": 1, "S1": 1, "J0": 1}  # each lead decided once
    assert held_by(owners) == {"R0": 1, "R1": 2}  # each rep at its capacity, not over


def test_a_batch_whose_seat_an_urgent_lead_took_is_solved_again_into_another_seat(ledger, hold):
    with closing(connect(ledger)) as job_store:
        # the job's first answer gives J0 to R0 (the first of two equal reps); R0's only seat goes
        # to an urgent lead meanwhile
        job_answers, urgent = urgent_while_solved(ledger, hold, lambda: Router(TEAM, POLICY, job_store).route(
            [Lead(id="J0", territory="A", value=100.0)], T0), "U0")
    assert not hold.timed_out and hold.solves == 2
    assert urgent is not None and urgent.rep_id == "R0"
    assert [(a.lead_id, a.rep_id) for a in job_answers] == [("J0", "R1")]
    counts, owners = decisions(ledger)
    assert counts == {"J0": 1, "U0": 1} and held_by(owners) == {"R0": 1, "R1": 1}


def test_a_lead_another_process_accepted_with_other_content_while_a_job_solved_it_is_a_conflict(ledger, hold):
    # RA covers A, RB covers B: the file's X (territory A) and the service's X (B) go to different reps
    team = [Rep(id="RA", territories=("A",), capacity=5), Rep(id="RB", territories=("B",), capacity=5)]
    file = [Lead(id="X", territory="A", value=10.0), Lead(id="Y", territory="A", value=10.0),
            Lead(id="J0", territory="A", value=10.0)]
    conflicts: list[tuple[int, str]] = []
    with closing(connect(ledger)) as job_store, closing(connect(ledger)) as service_store:
        thread, job_answers = in_batch_thread(hold, lambda: Router(team, POLICY, job_store).route(
            file, T0, on_conflict=lambda k, lead: conflicts.append((k, lead.id))))
        service = Router(team, POLICY, service_store)
        try:  # the job accepts its file's leads only when it records them: the service's come first
            buffered = [service.submit(Lead(id="X", territory="B", value=10.0), T0),  # other content
                        service.submit(Lead(id="Y", territory="A", value=10.0), T0)]  # the same
        finally:
            hold.go.set()
            thread.join(timeout=60)
        service_answers = service.flush(T0)
        stored = service_store.record("X")
    assert not hold.timed_out and buffered == [None, None]
    assert conflicts == [(0, "X")]  # warned about, as when the job accepted first
    assert [(a.lead_id, a.rep_id) for a in job_answers] == [("J0", "RA")]  # X and Y left to the service
    assert stored is not None and stored.territory == "B"
    assert [(a.lead_id, a.rep_id) for a in service_answers] == [("X", "RB"), ("Y", "RA")]
    counts, owners = decisions(ledger)
    assert counts == {"X": 1, "Y": 1, "J0": 1} and owners == {"X": "RB", "Y": "RA", "J0": "RA"}


def test_a_waiting_lead_whose_seat_an_urgent_lead_took_is_solved_again_into_another_seat(ledger, hold):
    # R0 alone covers B; W (territory A) fits R0 or R1, one seat each
    team = [Rep(id="R0", territories=("A", "B"), capacity=1), Rep(id="R1", territories=("A",), capacity=1)]
    policy = Policy(solver="greedy", batch={"max_size": 100, "max_wait_s": 60}, sla={"max_backlog_hours": 2})
    with closing(connect(ledger)) as batch_store:
        router = Router(team, policy, batch_store)
        for lead in (Lead(id="U1", territory="B", value=5.0, urgent=True),
                     Lead(id="U2", territory="A", value=5.0, urgent=True), Lead(id="W", territory="A", value=50.0)):
            router.submit(lead, T0)
        assert [(a.lead_id, a.rep_id) for a in router.flush(T0)] == [("W", None)]  # both seats taken: W waits
        router.release("U1", T0)
        router.release("U2", T0)
        # the backlog's retry gives W to R0 (the first of two equal reps); R0's only seat goes to
        # an urgent lead meanwhile
        answers, urgent = urgent_while_solved(ledger, hold, lambda: router.flush(T0), "U3", team, policy)
        status = batch_store.status("W")
    assert not hold.timed_out and hold.solves == 2
    assert urgent is not None and urgent.rep_id == "R0"
    assert [(a.lead_id, a.rep_id) for a in answers] == [("W", "R1")]  # not back to waiting while R1 is free
    assert status is not None and status.value == "assigned"
    _, owners = decisions(ledger)
    assert owners["W"] == "R1" and owners["U3"] == "R0"
