"""The online router: batching by size and time, urgent fast path, release, SLA, availability."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.compile.scoring import compile_reps
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep
from solver.online.fastpath import LeadScorer
from solver.online.router import FAST_PATH, Router
from solver.online.sqlite_store import SqliteStore as Ledger
from solver.online.store import LeadConflict

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


class Clock:
    """An injected clock: tests move time by hand instead of sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def reps(n: int = 3, capacity: int = 10, **kw) -> list[Rep]:
    return [Rep(id=f"R{j}", capacity=capacity, **kw) for j in range(n)]


def lead(i: int, **kw) -> Lead:
    return Lead(id=f"L{i}", value=kw.pop("value", 100.0 + i), **kw)


NO_SPEED = {"enabled": False}  # static worth: for tests of prices and waiting set against it


def small_batches(size: int = 3, wait: float = 60, **policy) -> Policy:
    return Policy(batch={"max_size": size, "max_wait_s": wait}, **policy)


def test_flushes_by_size():
    clock = Clock()
    router = Router(reps(), small_batches(size=3), clock=clock)
    for i in range(2):
        assert router.submit(lead(i)) is None
    assert router.tick() == [] and router.pending == 2
    router.submit(lead(2))
    out = router.tick()
    assert [a.lead_id for a in out] == ["L0", "L1", "L2"] and router.pending == 0
    assert all(a.status == "assigned" and a.policy == "flow" for a in out)


def test_flushes_by_waiting_time():
    clock = Clock()
    router = Router(reps(), small_batches(size=100, wait=60), clock=clock)
    router.submit(lead(0))
    clock.advance(seconds=59)
    router.submit(lead(1))
    assert router.tick() == []
    clock.advance(seconds=1)  # the oldest lead has now waited 60 s
    assert len(router.tick()) == 2


def test_urgent_lead_is_answered_at_once_and_submit_is_idempotent():
    router = Router(reps(), small_batches(), clock=Clock())
    router.submit(lead(0))
    a = router.submit(lead(1, urgent=True))
    assert a is not None and a.policy == FAST_PATH and a.status == "assigned"
    assert router.pending == 1
    assert router.submit(lead(1, urgent=True)) == a  # the same decision, nothing new
    assert sum(router.loads().values()) == 1


def test_release_frees_capacity():
    router = Router(reps(1, capacity=1), Policy(), clock=Clock())
    assert router.submit(lead(0, urgent=True)).rep_id == "R0"
    blocked = router.submit(lead(1, urgent=True))
    assert blocked.status == "unassigned" and blocked.reason.startswith("capacity")
    router.release("L0")
    router.release("L0")  # twice is harmless
    assert router.submit(lead(2, urgent=True)).rep_id == "R0"
    assert router.loads() == {"R0": 1}
    with pytest.raises(KeyError):
        router.release("never-seen")


def test_flow_policy_refuses_non_unit_effort():
    router = Router(reps(), Policy(), clock=Clock())
    with pytest.raises(InputError, match="effort"):
        router.submit(lead(0, effort=2))


def test_a_unit_effort_lead_is_checked_again_against_a_replaced_policy():
    # The router remembers the policy a unit-effort lead was found to fit; the service may
    # replace the policy (a console change), and the new one is checked on the next lead.
    router = Router(reps(), Policy(), clock=Clock())
    assert router.submit(lead(0, urgent=True)).rep_id is not None
    with pytest.raises(InputError, match="effort"):
        router.submit(lead(1, effort=2))  # a lead of another effort is always checked
    router.policy = Policy(rules={"account_grouping": True})  # flow cannot group accounts
    with pytest.raises(InputError, match="group accounts"):
        router.submit(lead(2, urgent=True))
    router.policy = Policy(solver="greedy")
    assert router.submit(lead(3, effort=2)) is None  # greedy takes any effort: buffered


def test_stale_lead_moves_to_another_rep_and_the_move_is_recorded(tmp_path):
    clock = Clock()
    team = [Rep(id="R0", capacity=5, skills={"core": 2.0}), Rep(id="R1", capacity=5)]
    policy = Policy(sla={"first_touch_hours": 4})
    with Ledger(tmp_path / "l.db") as ledger:
        router = Router(team, policy, ledger, clock=clock)
        first = router.submit(lead(0, urgent=True, product="core"))
        touched = router.submit(lead(1, urgent=True, product="core"))
        assert first.rep_id == touched.rep_id == "R0"
        router.touch("L1")
        clock.advance(hours=3, minutes=59)
        assert router.reassign_stale() == []
        clock.advance(minutes=1)
        [moved] = router.reassign_stale()
        assert (moved.lead_id, moved.rep_id) == ("L0", "R1")  # old owner excluded despite its skill
        assert "not touched within the 4 h SLA by R0" in moved.reason
        assert router.loads() == {"R0": 1, "R1": 1}
        last = ledger.history("L0")[-1]
        assert (last["kind"], last["from_rep_id"], last["rep_id"]) == ("reassigned", "R0", "R1")


def test_sla_counts_the_owners_working_hours():
    clock = Clock(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))  # Friday 15:00 UTC
    team = [Rep(id="R0", capacity=5, working_hours="09:00-17:00"), Rep(id="R1", capacity=5)]
    router = Router(team, Policy(sla={"first_touch_hours": 4}), clock=clock)
    assert router.submit(lead(0, urgent=True, value=1e6)).rep_id == "R0"  # ties go to R0
    clock.advance(hours=6)  # Friday 21:00: only 2 working hours have passed
    assert router.reassign_stale() == []
    clock.now = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)  # Monday 11:00: 2 + 2 hours
    assert [a.rep_id for a in router.reassign_stale()] == ["R1"]


def test_sla_due_is_the_schedules_working_time_for_reps_with_and_without_hours():
    # Team.sla_due adds the SLA to `now` itself for a rep without working hours (leave does not
    # stop the clock); every rep's due time is its schedule's add_working_time, at any instant.
    from solver.online.capacity import Team

    reps = [Rep(id="hours", capacity=5, working_hours="09:00-17:00", timezone="Europe/Berlin"),
            Rep(id="always", capacity=5), Rep(id="leave", capacity=5, ooo=("2026-03-06..2026-03-10",)),
            Rep(id="weekend", capacity=5, working_hours="Sat-Sun 10:00-14:00", timezone="Asia/Tokyo")]
    for hours in (0.5, 4.0, 30.0):
        team = Team(reps, Policy(sla={"first_touch_hours": hours}), timedelta(days=28))
        for step in range(0, 7 * 24 * 60, 97):  # a week, minute by minute in strides, across a DST change
            now = datetime(2026, 3, 27, 0, 0, tzinfo=UTC) + timedelta(minutes=step)
            for j, schedule in enumerate(team.calendar.schedules):
                assert team.sla_due(j, now) == schedule.add_working_time(now, timedelta(hours=hours))
    assert team.sla_due(1, now) == team.sla_due(2, now) == now + timedelta(hours=30)


def test_a_rep_given_working_hours_counts_the_sla_in_them_from_the_next_lead():
    # The team knows which reps' SLA runs at any hour once, when it is built: a rep change
    # (update_reps) builds another, so the next lead's due time follows the new hours.
    clock = Clock(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))  # Friday 15:00 UTC
    router = Router([Rep(id="R0", capacity=5)], Policy(sla={"first_touch_hours": 4}), clock=clock)
    router.submit(lead(0, urgent=True))
    router.update_reps([Rep(id="R0", capacity=5, working_hours="09:00-17:00")])
    router.submit(lead(1, urgent=True))
    due = {row["lead_id"]: row["sla_due"] for row in router.store.leads()}
    assert due == {"L0": "2026-03-06T19:00:00.000000+00:00",  # four hours later
                   "L1": "2026-03-09T11:00:00.000000+00:00"}  # 2 h on Friday, 2 h from Monday 09:00


def test_reps_outside_working_hours_or_on_leave_take_nothing():
    team = [
        Rep(id="tokyo", capacity=9, timezone="Asia/Tokyo", working_hours="09:00-17:00"),
        Rep(id="away", capacity=9, ooo=("2026-03-01..2026-03-05",)),
        Rep(id="berlin", capacity=9, timezone="Europe/Berlin", working_hours="09:00-17:00"),
    ]
    router = Router(team, Policy(), clock=Clock())  # Monday 10:00 UTC: Tokyo 19:00, Berlin 11:00
    got = {router.submit(lead(i, urgent=True)).rep_id for i in range(3)}
    for i in range(3, 6):
        router.submit(lead(i))
    got |= {a.rep_id for a in router.flush()}
    assert got == {"berlin"}


def test_a_rep_back_from_leave_is_not_flooded():
    """Two equal reps; B was on leave for the past two weeks while A collected 20 leads."""
    def team(ooo: tuple[str, ...]) -> list[Rep]:
        return [Rep(id="A", capacity=100, open_leads=20), Rep(id="B", capacity=100, ooo=ooo)]

    policy = Policy(fairness={"weight": 5.0})
    batch = [lead(i) for i in range(20)]

    def b_share(ooo: tuple[str, ...]) -> int:
        router = Router(team(ooo), policy, clock=Clock())
        return sum(a.rep_id == "B" for a in router.route(batch))

    uncapped = b_share(())
    capped = b_share(("2026-02-16..2026-03-01",))
    assert uncapped >= 15  # plain fairness hands B most of the batch to catch up
    assert capped <= 10  # the cap: B's target counts only the time it was there


def test_restart_reloads_the_buffer_and_the_loads(tmp_path):
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        router = Router(reps(2), small_batches(size=10), ledger, clock=Clock())
        first = router.submit(lead(0, urgent=True))
        router.submit(lead(1))
        router.submit(lead(2))
    with Ledger(path) as ledger:  # a restart: a new process, the same file
        router = Router(reps(2), small_batches(size=10), ledger, clock=Clock())
        assert router.pending == 2
        assert router.submit(lead(0, urgent=True)) == first
        assert sum(router.loads().values()) == 1
        assert len(router.flush()) == 2
        assert sum(ledger.loads().by_rep().values()) == 3


def test_fast_path_rows_match_compile_problem():
    rng = np.random.default_rng(42)
    inst = make_instance(60, 40, density=0.3, owner_share=0.2, seed=3)
    table = compile_reps(inst.reps)
    available = rng.random(table.m) < 0.8
    table = table.__class__(**{**table.__dict__, "available": available})
    for rules in ({}, {"territory": "soft", "industry": "hard", "account_owner": "soft"},
                  {"segment": "off", "product": "soft"},
                  {"territory": "off", "segment": "off"}):  # no rule labels: one rules entry, skills apart
        policy = Policy(rules=rules)
        problem = compile_problem(table, inst.leads, policy)
        scorer = LeadScorer(table, policy)
        for i, one in enumerate(inst.leads):
            row = scorer.row(one, available, problem.speed)
            np.testing.assert_array_equal(row.eligible, problem.eligible[i])
            np.testing.assert_allclose(row.profit, problem.profit[i])
            assert row.forced == problem.forced[i]


def test_fast_path_rows_follow_each_availability_mask_and_stay_read_only():
    # The scorer keeps each label combination's eligibility for the availability mask it was
    # given; another mask (a shift boundary: the calendar hands out a new array) is a new row.
    inst = make_instance(80, 40, density=0.3, seed=4)
    table = compile_reps(inst.reps)
    rng = np.random.default_rng(7)
    masks = [rng.random(table.m) < 0.7 for _ in range(3)]
    for rules in ({}, {"territory": "soft", "industry": "hard"}):
        policy = Policy(rules=rules)
        scorer = LeadScorer(table, policy)
        for available in masks + masks[:1]:  # back to a mask seen before, as another array too
            problem = compile_problem(table.__class__(**{**table.__dict__, "available": available}),
                                      inst.leads, policy)
            for i, one in enumerate(inst.leads):
                row = scorer.row(one, available.copy() if i % 2 else available, problem.speed)
                np.testing.assert_array_equal(row.eligible, problem.eligible[i])
                if scorer.soft:
                    np.testing.assert_allclose(row.profit, problem.profit[i])
                else:  # the product with the 0/1 mask is np.where's profit bit for bit
                    np.testing.assert_array_equal(row.profit, np.where(row.eligible, row.value, 0.0))
                with pytest.raises(ValueError, match="read-only"):
                    row.eligible[0] = True  # shared by the leads with these labels


def test_a_rep_whose_shift_ended_takes_no_more_urgent_leads_with_the_same_labels():
    team = [Rep(id="early", capacity=5, working_hours="09:00-11:00", skills={"software": 2.0}),
            Rep(id="late", capacity=5)]
    clock = Clock()  # 10:00, a Monday
    router = Router(team, Policy(speed=NO_SPEED), clock=clock)  # early is worth more whenever it answers
    labels = {"urgent": True, "industry": "software"}
    assert router.submit(lead(0, **labels)).rep_id == "early"
    clock.advance(minutes=90)  # 11:30: early is off shift
    assert router.submit(lead(1, **labels)).rep_id == "late"
    clock.advance(days=1, minutes=-60)  # 10:30 the next day: back on shift
    assert router.submit(lead(2, **labels)).rep_id == "early"


def test_every_router_decision_keeps_the_hard_rules():
    inst = make_instance(400, 30, tightness=0.8, density=0.3, owner_share=0.1, seed=5)
    leads = [x.model_copy(update={"urgent": bool(i % 3 == 0)}) for i, x in enumerate(inst.leads)]
    clock = Clock()
    router = Router(inst.reps, Policy(batch={"max_size": 50, "max_wait_s": 30}), clock=clock)
    decided = {}
    for x in leads:
        a = router.submit(x)
        decided |= {b.lead_id: b for b in ([a] if a else []) + router.tick()}
        clock.advance(seconds=1)
    decided |= {b.lead_id: b for b in router.flush()}
    assert len(decided) == len(leads)  # conservation
    problem = compile_problem(inst.reps, leads, Policy())
    owner = np.array([problem.rep_ids.index(decided[x.id].rep_id) if decided[x.id].rep_id else -1
                      for x in leads])
    # Eligibility and the owner rule over the whole stream; capacity is per decision, below.
    assert [v for v in problem.violations(owner) if not v.endswith("over capacity")] == []
    # Only account-owner leads (continuity beats the cap) may take a rep past its capacity.
    forced = np.bincount(owner[problem.forced >= 0], minlength=problem.m)
    held = np.bincount(owner[owner >= 0], minlength=problem.m)
    assert np.all(held - problem.capacity <= forced)
    assert np.all(held[forced == 0] <= problem.capacity[forced == 0])


# -- the backlog: capacity-blocked leads are retried, not dropped ---------------------------------


def test_a_lead_blocked_by_capacity_waits_in_the_backlog_and_gets_the_freed_rep():
    clock = Clock()
    router = Router(reps(1, capacity=1), small_batches(size=100, wait=60), clock=clock)
    assert router.submit(lead(0, urgent=True)).rep_id == "R0"
    blocked = router.submit(lead(1, urgent=True))
    assert blocked.status == "unassigned" and blocked.reason.startswith("capacity")
    assert "backlog" in blocked.reason and router.backlog == ["L1"]
    assert router.submit(lead(1, urgent=True)) == blocked  # idempotent while it waits
    assert router.tick() == []  # nothing freed: no retry
    router.release("L0")
    out = router.tick()
    assert [(a.lead_id, a.rep_id, a.status) for a in out] == [("L1", "R0", "assigned")]
    assert out[0].reason.startswith("from the backlog")
    assert router.backlog == [] and router.loads() == {"R0": 1}
    assert router.submit(lead(1, urgent=True)) == out[0]
    assert router.tick() == []


def test_batch_leads_over_capacity_are_backlogged_and_assigned_by_a_later_flush():
    clock = Clock()
    router = Router(reps(2, capacity=1), small_batches(size=3), clock=clock)
    first = router.route([lead(i) for i in range(3)])
    assert sum(a.status == "assigned" for a in first) == 2
    (waiting,) = [a.lead_id for a in first if a.status == "unassigned"]
    assert router.backlog == [waiting]
    released = next(a for a in first if a.status == "assigned")
    router.release(released.lead_id)
    clock.advance(seconds=1)
    second = router.route([lead(3, value=1.0)])  # a low-value newcomer competes for the freed room
    assert {a.lead_id: a.status for a in second} == {"L3": "unassigned", waiting: "assigned"}
    assert router.backlog == ["L3"] and sum(router.loads().values()) == 2


def one_seat_router(ledger: Ledger | None, clock: Clock, submit: int = 0, policy: Policy | None = None) -> Router:
    """One rep with room for one lead; `submit` urgent leads L0, L1, ... sent to it."""
    router = Router(reps(1, capacity=1), policy or small_batches(), ledger, clock=clock)
    for i in range(submit):
        router.submit(lead(i, urgent=True))
    return router


def test_the_backlog_is_in_the_ledger_and_survives_a_restart(tmp_path):
    path = tmp_path / "l.db"
    clock = Clock()
    with Ledger(path) as ledger:
        one_seat_router(ledger, clock, submit=2)
        assert ledger.decision("L1").status == "unassigned"
    clock.advance(hours=1)
    with Ledger(path) as ledger:  # a restart
        router = one_seat_router(ledger, clock)
        assert router.backlog == ["L1"] and router.pending == 0
        assert router.submit(lead(1, urgent=True)).status == "unassigned"
        router.release("L0")
        (a,) = router.tick()
        assert (a.lead_id, a.rep_id) == ("L1", "R0")
        assert ledger.decision("L1").rep_id == "R0" and ledger.loads().by_rep() == {"R0": 1}
        kinds = [e["kind"] for e in ledger.history("L1")]
        assert kinds == ["accepted", "unassigned", "assigned"]
    with Ledger(path) as ledger:
        router = one_seat_router(ledger, clock)
        assert router.backlog == [] and router.loads() == {"R0": 1}


def test_a_backlogged_lead_that_is_closed_leaves_the_backlog_for_good(tmp_path):
    path = tmp_path / "l.db"
    clock = Clock()
    with Ledger(path) as ledger:
        router = one_seat_router(ledger, clock, submit=3)
        assert router.backlog == ["L1", "L2"]
        clock.advance(minutes=5)
        router.release("L1")  # the prospect went away before a rep had room
        assert router.backlog == ["L2"]
        closed = router.submit(lead(1, urgent=True))
        assert closed.status == "unassigned" and closed.reason.startswith("closed while waiting")
        router.release("L0")
        assert [(a.lead_id, a.rep_id) for a in router.tick()] == [("L2", "R0")]  # L1 is not revived
        assert [e["kind"] for e in ledger.history("L1")] == ["accepted", "unassigned", "released"]
        row = next(r for r in ledger.leads() if r["lead_id"] == "L1")
        assert row["status"] == "unassigned" and row["released_at"] is not None
    with Ledger(path) as ledger:  # a restart does not put it back in the backlog
        router = one_seat_router(ledger, clock)
        assert router.backlog == [] and router.loads() == {"R0": 1}


def test_a_lead_waiting_past_max_backlog_hours_gets_a_final_answer(tmp_path):
    path = tmp_path / "l.db"
    clock = Clock()
    policy = small_batches(sla={"max_backlog_hours": 2})
    with Ledger(path) as ledger:
        router = one_seat_router(ledger, clock, submit=2, policy=policy)
        clock.advance(minutes=90)
        router.submit(lead(2, urgent=True))
        assert router.tick() == [] and router.backlog == ["L1", "L2"]
        clock.advance(minutes=31)  # L1 has waited 2 h 1 min, L2 31 min
        (expired,) = router.tick()
        assert (expired.lead_id, expired.status, expired.rep_id) == ("L1", "unassigned", None)
        assert expired.reason.startswith("backlog expired: no rep could take it within 2 h; capacity:")
        assert "waits" not in expired.reason and router.backlog == ["L2"]
        assert router.submit(lead(1, urgent=True)) == expired
        router.release("L0")
        assert [a.lead_id for a in router.tick()] == ["L2"]  # the freed seat goes to the lead still waiting
        kinds = [e["kind"] for e in ledger.history("L1")]
        assert kinds == ["accepted", "unassigned", "unassigned"]
        assert ledger.decision("L1").reason == expired.reason
    with Ledger(path) as ledger:
        assert one_seat_router(ledger, clock, policy=policy).backlog == []


def test_a_lead_closed_or_expired_by_one_router_is_not_assigned_by_another(tmp_path):
    """The service and the cron job share a ledger: a final answer from one holds for the other."""
    path = tmp_path / "l.db"
    clock = Clock()
    expiring = small_batches(sla={"max_backlog_hours": 2})
    with Ledger(path) as ledger, Ledger(path) as other:
        service = one_seat_router(ledger, clock, submit=3)  # L1 and L2 wait for R0
        clock.advance(hours=1)
        job = one_seat_router(other, clock, policy=expiring)
        job.release("L2")  # closed through the job
        clock.advance(hours=2)
        assert [a.lead_id for a in job.tick()] == ["L1"]  # expired by the job
        service.release("L0")
        assert service.tick() == []  # the freed seat went to L2 in memory, which the ledger refused
        assert "L2" not in service.backlog and ledger.loads().by_rep() == {}
        assert [e["kind"] for e in ledger.history("L1")] == ["accepted", "unassigned", "unassigned"]
        assert [e["kind"] for e in ledger.history("L2")] == ["accepted", "unassigned", "released"]


def test_the_backlog_is_retried_when_reps_come_into_working_hours():
    clock = Clock()  # Monday 10:00 UTC: R1 (09:00-17:00 UTC-5) starts at 14:00 UTC
    team = [Rep(id="R0", capacity=1), Rep(id="R1", capacity=1, timezone="America/New_York",
                                         working_hours="09:00-17:00")]
    router = Router(team, small_batches(size=100, wait=60), clock=clock)
    assert router.submit(lead(0, urgent=True)).rep_id == "R0"
    assert router.submit(lead(1, urgent=True)).status == "unassigned" and router.backlog == ["L1"]
    clock.advance(hours=2)
    assert router.tick() == [] and router.backlog == ["L1"]  # tried again after the wait: still no room
    clock.advance(hours=2, minutes=1)
    assert [(a.lead_id, a.rep_id) for a in router.tick()] == [("L1", "R1")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["urgent", "normal", "tick", "flush", "release", "close", "price"]),
                          st.integers(0, 30)), max_size=60))
def test_conservation_under_any_sequence_of_calls(ops):
    """Each lead is in exactly one place, holds at most one rep, and no rep goes over capacity.

    "close" releases a lead waiting in the backlog; backlogged leads expire after 36 s (about 5 steps);
    "price" sets the fast path's prices, so urgent leads worth less are deferred.
    """
    clock = Clock()
    team = [Rep(id=f"R{j}", capacity=1, territories=("T0",) if j else ("T0", "T1")) for j in range(3)]
    policy = small_batches(size=4, wait=30, sla={"max_backlog_hours": 0.01}, pricing={"horizon_leads": 50})
    router = Router(team, policy, clock=clock)
    submitted: set[str] = set()
    owner: dict[str, str] = {}  # open leads as the caller sees them
    closed: set[str] = set()
    for step, (op, k) in enumerate(ops):
        clock.advance(seconds=7)
        out = []
        if op in ("urgent", "normal"):
            x = lead(step, urgent=op == "urgent", territory="T1" if k % 2 else "T0", value=float(k + 1))
            submitted.add(x.id)
            a = router.submit(x)
            out = [a] if a is not None else []
        elif op == "tick":
            out = router.tick()
        elif op == "flush":
            out = router.flush()
        elif op == "price":
            router.install_prices(np.array([k, k, k // 2], dtype=float) if k % 3 else np.zeros(3))
        elif op == "close" and router.backlog:
            lead_id = router.backlog[k % len(router.backlog)]
            router.release(lead_id)
            closed.add(lead_id)
        elif op == "release" and owner:
            lead_id = sorted(owner)[k % len(owner)]
            router.release(lead_id)
            del owner[lead_id]
            closed.add(lead_id)
        for a in out:
            assert a.lead_id not in closed  # a closed or expired lead gets no new answer
            if a.status == "assigned":
                assert a.lead_id not in owner  # never assigned twice
                owner[a.lead_id] = a.rep_id
            elif a.reason.startswith("backlog expired"):
                closed.add(a.lead_id)
        backlog = set(router.backlog)
        buffered = set(router.buffered)
        assert not backlog & set(owner) and not backlog & buffered and not buffered & set(owner)
        assert backlog | buffered | set(owner) | closed == submitted  # nothing lost
        loads = router.loads()
        assert all(v <= 1 for v in loads.values())
        assert sum(loads.values()) == len(owner)
        assert {j: sum(r == j for r in owner.values()) for j in loads} == loads


def test_a_long_backlog_is_retried_in_turns(monkeypatch):
    import solver.online.backlog as backlog_module

    monkeypatch.setattr(backlog_module, "BACKLOG_PER_SOLVE", 2)
    clock = Clock()
    router = Router(reps(1, capacity=1), small_batches(size=100, wait=60), clock=clock)
    for i in range(6):
        router.submit(lead(i, urgent=True))
    assert router.backlog == ["L1", "L2", "L3", "L4", "L5"]
    router.release("L0")
    assert [a.lead_id for a in router.tick()] == ["L2"]  # L1 and L2 are tried; L2 is worth more
    router.release("L2")
    (a,) = router.tick()
    assert a.lead_id in ("L3", "L4", "L5")  # the next turn: not L1 again, though it waited longest
    assert len(router.backlog) == 3 and sum(router.loads().values()) == 1


def two_territories(router_ledger: Ledger | None, clock: Clock) -> Router:
    """RA (territory A) and RB (B), one seat each, both taken; eleven A leads wait, and one B lead
    (B1) waits behind the first five of them (new-user QA's service case)."""
    team = [Rep(id="RA", capacity=1, territories=("A",)), Rep(id="RB", capacity=1, territories=("B",))]
    router = Router(team, small_batches(size=100, wait=60), router_ledger, clock=clock)
    order = ["B0", "A0", *(f"A{i}" for i in range(1, 6)), "B1", *(f"A{i}" for i in range(6, 11))]
    for name in order:
        router.submit(Lead(id=name, value=100, territory=name[0], urgent=True))
    assert len(router.backlog) == 11 and "B1" in router.backlog
    return router


def test_room_that_frees_reaches_the_lead_it_suits_further_down_the_backlog():
    """A turn holds two leads per free seat, oldest first: RB's seat freed and the turn held two
    A leads that cannot take it, and B1 waited on with RB empty until the next release."""
    clock = Clock()
    router = two_territories(None, clock)
    router.release("B0")
    placed = [a for _ in range(10) for a in router.tick()]  # a few ticks, no release between
    assert [(a.lead_id, a.rep_id) for a in placed] == [("B1", "RB")]
    assert router.tick() == []  # every lead waiting when room freed has had its try: idle again


def test_room_freed_by_another_process_is_seen_by_an_idle_tick(tmp_path):
    """A release by `leadsolver events` (another process on the ledger) freed RB; the service's
    router, which only learnt of its own releases, left B1 waiting beside an empty rep."""
    path = tmp_path / "l.db"
    clock = Clock()
    with Ledger(path) as ledger, Ledger(path) as other:
        router = two_territories(ledger, clock)
        assert router.tick() == []
        Router([Rep(id="RA", capacity=1, territories=("A",)), Rep(id="RB", capacity=1, territories=("B",))],
               small_batches(), other, clock=clock).release("B0")
        clock.advance(seconds=2)  # the loads are read at most once a second
        placed = [a for _ in range(10) for a in router.tick()]
        assert [(a.lead_id, a.rep_id) for a in placed] == [("B1", "RB")]


def test_a_release_elsewhere_is_seen_per_rep_and_after_the_backlog_emptied(tmp_path):
    """Two ways the ledger-wide total hid a release by another process (review): an A lead placed
    here in the same second kept the total level, and a backlog emptied by the last try stopped
    the loads being watched at all."""
    team = [Rep(id="RA", capacity=2, territories=("A",)), Rep(id="RB", capacity=1, territories=("B",))]
    clock = Clock()
    with Ledger(tmp_path / "l.db") as ledger, Ledger(tmp_path / "l.db") as other:
        router = Router(team, small_batches(size=100, wait=60), ledger, clock=clock)
        elsewhere = Router(team, small_batches(), other, clock=clock)  # a second process
        for name in ("B0", "B1"):
            router.submit(Lead(id=name, value=100, territory="B", urgent=True))
        assert router.tick() == [] and router.backlog == ["B1"]
        elsewhere.release("B0")
        assert router.submit(Lead(id="A1", value=100, territory="A", urgent=True)).rep_id == "RA"
        clock.advance(seconds=2)
        assert [(a.lead_id, a.rep_id) for a in router.tick()] == [("B1", "RB")]
        assert router.backlog == []  # emptied: the next release must still be seen
        router.submit(Lead(id="B2", value=100, territory="B", urgent=True))
        assert router.backlog == ["B2"]
        elsewhere.release("B1")
        clock.advance(seconds=2)
        assert [(a.lead_id, a.rep_id) for a in router.tick()] == [("B2", "RB")]


def test_a_backlogged_lead_assigned_by_another_router_is_not_assigned_twice(tmp_path):
    path = tmp_path / "l.db"
    clock = Clock()
    with Ledger(path) as ledger:
        a = one_seat_router(ledger, clock, submit=2)
        with Ledger(path) as other:
            b = one_seat_router(other, clock)  # a second process
            assert b.backlog == ["L1"]
            a.release("L0")
            assert [x.lead_id for x in a.tick()] == ["L1"]
            b.release("L0")  # b still holds L0 in memory: releasing it frees its view of R0
            assert b.tick() == [] and b.backlog == []  # the ledger says L1 is taken: b lets it go
            assert b.submit(lead(1, urgent=True)).rep_id == "R0"
        kinds = [e["kind"] for e in ledger.history("L1")]
        assert kinds.count("assigned") == 1 and ledger.loads().by_rep() == {"R0": 1}


def test_a_lead_arriving_off_shift_is_decided_for_the_rep_first_on():
    """Speed to lead: a night-time lead no rep on shift may take goes at once to the rep back
    first (its clock starts then), not to the backlog; with no wait allowed, it waits."""
    clock = Clock(T0.replace(hour=3))  # Monday 03:00 UTC
    team = [Rep(id="early", capacity=5, territories=("EU",), working_hours="09:00-17:00"),
            Rep(id="late", capacity=5, territories=("EU",), working_hours="11:00-19:00"),
            Rep(id="on", capacity=5, territories=("APAC",))]
    router = Router(team, small_batches(size=1, wait=60), clock=clock)
    urgent = router.submit(lead(0, territory="EU", urgent=True))
    assert urgent.rep_id == "early"
    router.submit(lead(1, territory="EU"))
    assert [a.rep_id for a in router.tick()] == ["early"]
    assert router.submit(lead(2, territory="APAC", urgent=True)).rep_id == "on"  # on shift: as ever
    assert router.backlog == []
    waiting = Router(team, small_batches(size=1, wait=60, speed={"max_wait_hours": 0}), clock=clock)
    assert waiting.submit(lead(3, territory="EU", urgent=True)).status == "unassigned"
    assert waiting.backlog == ["L3"]


def test_a_lead_arriving_off_shift_waits_for_its_rep_and_an_uncovered_one_is_final():
    """Night-time leads are not lost: without speed to lead they wait until a rep whose rules
    admit them comes on shift."""
    clock = Clock(T0.replace(hour=3))  # Monday 03:00 UTC: the only rep starts at 09:00 UTC
    team = [Rep(id="R0", capacity=5, territories=("EU",), working_hours="09:00-17:00")]
    router = Router(team, small_batches(size=1, wait=60, speed=NO_SPEED), clock=clock)
    night = router.submit(lead(0, territory="EU", urgent=True))
    assert night.status == "unassigned" and "waits in the backlog" in night.reason
    router.submit(lead(1, territory="EU"))
    assert [a.status for a in router.tick()] == ["unassigned"]
    uncovered = router.submit(lead(2, territory="APAC", urgent=True))
    assert "waits" not in uncovered.reason and router.backlog == ["L0", "L1"]
    clock.advance(hours=3)
    assert router.tick() == [] and router.backlog == ["L0", "L1"]  # nobody came on shift yet
    clock.advance(hours=3, minutes=1)
    assert sorted((a.lead_id, a.rep_id) for a in router.tick()) == [("L0", "R0"), ("L1", "R0")]
    assert router.backlog == []


def test_round_robin_rotates_within_each_territory():
    """A CRM's rotation runs per territory queue: EU leads rotate over the EU reps whatever the
    US leads between them did (one shared pointer gave one EU rep every EU lead here)."""
    team = [Rep(id="E0", capacity=9, territories=("EU",)), Rep(id="E1", capacity=9, territories=("EU",)),
            Rep(id="U0", capacity=9, territories=("US",))]
    router = Router(team, small_batches(size=1, solver="round_robin"), clock=Clock())
    owners = []
    for i in range(6):
        router.submit(lead(i, territory="EU" if i % 2 == 0 else "US"))
        owners += [a.rep_id for a in router.tick()]
    assert owners == ["E0", "U0", "E1", "U0", "E0", "U0"]


def test_round_robin_rotates_across_the_routers_batches():
    router = Router(reps(3), small_batches(size=1).model_copy(update={"solver": "round_robin"}),
                    clock=Clock())
    owners = []
    for i in range(6):
        router.submit(lead(i))
        owners += [a.rep_id for a in router.tick()]
    assert owners == ["R0", "R1", "R2", "R0", "R1", "R2"]


# -- priced micro-batches: a seat costs its rep's price, as on the fast path ---------------------

FORECAST = {"horizon_leads": 1000}  # rationing by price needs a volume forecast


def test_a_priced_batch_sends_a_lead_to_the_cheaper_seat_and_defers_one_below_every_price():
    team = [Rep(id="R0", capacity=5, skills={"saas": 1.2}), Rep(id="R1", capacity=5)]
    # static worth (speed off): the prices are set against the leads' own values
    router = Router(team, small_batches(size=3, pricing=FORECAST, speed=NO_SPEED), clock=Clock())
    router.install_prices(np.array([50.0, 0.0]))
    out = {a.lead_id: a for a in router.route([lead(0, value=100.0, industry="saas")])}
    assert out["L0"].rep_id == "R1"  # 120 - 50 at R0 < 100 - 0 at R1
    assert out["L0"].expected_value == 100.0  # the value reported is the lead's, not net of the price

    for pricing in ({**FORECAST, "price_batches": False}, {}):  # turned off, or no forecast
        unpriced = Router(team, small_batches(size=3, pricing=pricing, speed=NO_SPEED), clock=Clock())
        unpriced.install_prices(np.array([50.0, 0.0]))
        assert unpriced.route([lead(0, value=100.0, industry="saas")])[0].rep_id == "R0"

    router.install_prices(np.array([150.0, 120.0]))
    out = {a.lead_id: a for a in router.route([lead(1, value=500.0), lead(2, value=100.0)])}
    assert out["L1"].rep_id == "R1"
    assert out["L2"].status == "unassigned" and out["L2"].reason.startswith("deferred: worth less")
    assert "R1, 100.00 < price 120.00" in out["L2"].reason and router.backlog == ["L2"]
    router.install_prices(np.array([150.0, 90.0]))
    assert [(a.lead_id, a.rep_id) for a in router.tick(reprice=False)] == [("L2", "R1")]


def test_a_priced_batch_keeps_the_account_owner_rule_and_explains_the_prices(tmp_path):
    team = [Rep(id="R0", capacity=5), Rep(id="R1", capacity=5)]
    with Ledger(tmp_path / "l.db") as ledger:
        router = Router(team, small_batches(size=3, pricing=FORECAST), ledger, clock=Clock())
        router.install_prices(np.array([1000.0, 1000.0]))
        out = {a.lead_id: a for a in router.route([lead(0, value=100.0, owner_id="R0"), lead(1, value=100.0)])}
        assert out["L0"].rep_id == "R0"  # continuity beats the price
        assert out["L1"].reason.startswith("deferred")
        explanation = ledger.history("L1")[-1]["explanation"]
        assert explanation["why"].startswith("deferred")
        assert {alt["why_not"].split(":")[0] for alt in explanation["alternatives"]} == {"priced out"}
        assert all(alt["price"] == 1000.0 for alt in explanation["alternatives"])


def test_baseline_policies_batches_stay_unpriced():
    team = [Rep(id="R0", capacity=5), Rep(id="R1", capacity=5)]
    router = Router(team, small_batches(size=3, solver="round_robin", pricing=FORECAST), clock=Clock())
    router.install_prices(np.array([1000.0, 1000.0]))
    assert [a.rep_id for a in router.route([lead(0), lead(1)])] == ["R0", "R1"]  # rotation, no deferral


def test_a_lead_left_out_of_a_priced_batch_is_told_the_real_reason():
    router = Router([Rep(id="R0", capacity=1)], small_batches(size=3, pricing=FORECAST), clock=Clock())
    router.install_prices(np.array([150.0]))
    out = {a.lead_id: a for a in router.route([lead(1, value=500.0), lead(2, value=100.0)])}
    assert out["L1"].rep_id == "R0"
    # the seat went to L1: the reason is capacity (L2 could not afford R0 either, but R0 is full)
    assert out["L2"].reason.startswith("capacity: all 1 eligible reps are at capacity")
    assert out["L2"].reason.endswith("waits in the backlog until a rep can take it")


def test_a_batch_is_priced_with_itself_in_the_sample_so_the_first_batch_rations_too():
    """Ten seats, a forecast of 40 leads, a first batch of 20: half of the 20 get the seats they are
    worth in the rationed plan (10 x 20/40 = 5), not all ten seats."""
    leads = [lead(i, value=10.0 * (i + 1)) for i in range(20)]
    policy = small_batches(size=20, pricing={"horizon_leads": 40})
    router = Router([Rep(id="R0", capacity=10)], policy, clock=Clock())
    for x in leads:
        router.submit(x)
    out = router.tick()  # 20 buffered: the batch is due
    placed = sorted(int(a.lead_id[1:]) for a in out if a.status == "assigned")
    assert 5 <= len(placed) <= 6 and placed == list(range(20 - len(placed), 20))  # the best ones
    assert all(a.reason.startswith("deferred") for a in out if a.status == "unassigned")

    for reprice_elsewhere in (True, False):  # the service (its LP in another process); the cron job
        other = Router([Rep(id="R0", capacity=10)], policy, clock=Clock())
        if reprice_elsewhere:
            for x in leads:
                other.submit(x)
            out = other.tick(reprice=False)
        else:
            out = other.route(leads)
        assert sum(a.status == "assigned" for a in out) == 10  # no prices yet: every seat is used


@pytest.mark.parametrize("durable", [False, True])
def test_a_changed_duplicate_is_a_conflict_and_a_retry_gets_its_answer(tmp_path, durable):
    """Issue 12 item 7: the same id with other content is refused (the API answers 409)."""
    store = Ledger(tmp_path / "l.db") if durable else None
    router = Router(reps(), small_batches(), store)
    first = router.submit(lead(1, urgent=True), T0)
    assert router.submit(lead(1, urgent=True), T0) == first  # a retry: the same answer
    with pytest.raises(LeadConflict, match=r"L1.*value") as caught:
        router.submit(lead(1, urgent=True, value=5.0), T0)
    assert caught.value.lead_id == "L1"
    router.submit(lead(2))
    assert router.submit(lead(2)) is None
    with pytest.raises(LeadConflict, match="L2"):
        router.submit(lead(2, industry="retail"))
    assert router.store.decision("L1") == first and router.pending == 1


def test_a_person_reroutes_one_open_untouched_lead_and_the_reason_names_them():
    router = Router(reps(3), Policy(), clock=Clock())
    first = router.submit(lead(1, urgent=True))
    router.submit(lead(2, urgent=True))
    moved = router.reroute("L1", "Olga Ops")
    assert moved is not None and moved.rep_id != first.rep_id
    assert moved.reason_code == "rerouted" and moved.reason.startswith(f"re-routed by Olga Ops from {first.rep_id}")
    assert router.store.decision("L1") == moved and router.store.open_lead("L1").rep_id == moved.rep_id
    router.touch("L2")
    assert router.reroute("L2", "Olga Ops") is None  # touched: its rep is working it
    assert router.reroute("nope", "Olga Ops") is None
    only = Router(reps(1), Policy(), clock=Clock())
    alone = only.submit(lead(1, urgent=True))
    assert only.reroute("L1", "Olga Ops") is None  # nobody else can take it: it stays
    assert only.store.open_lead("L1").rep_id == alone.rep_id and only.store.decision("L1") == alone
