"""The router on speed to lead: untouched queues, shifts, pipeline fairness, batch and urgent alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.compile.scoring import at_time, compile_reps
from solver.decode.batch import assign
from solver.domain.availability import RepCalendar
from solver.domain.model import Lead, Policy, Rep
from solver.online.fastpath import LeadScorer
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize("urgent", [True, False])
def test_a_rep_with_untouched_leads_loses_the_next_one_until_it_touches_them(urgent: bool) -> None:
    team = [Rep(id="fast", capacity=20, skills={"fin": 1.3}), Rep(id="other", capacity=20)]
    policy = Policy(batch={"max_size": 1, "max_wait_s": 0}, speed={"handling_minutes": 15})
    router = Router(team, policy, clock=lambda: T0)

    def route(i: int) -> str | None:
        lead = Lead(id=f"L{i}", value=100, industry="fin", urgent=urgent)
        answer = router.submit(lead, now=T0)
        answers = [answer] if answer is not None else router.tick(now=T0)
        return answers[0].rep_id

    assert route(0) == "fast"  # the better match, nothing queued
    owners = [route(i) for i in range(1, 4)]
    assert "other" in owners  # its queue of untouched leads makes the skilled rep slower
    for i in range(4):
        if router.store.open_lead(f"L{i}") is not None and router.store.open_lead(f"L{i}").rep_id == "fast":
            router.touch(f"L{i}", now=T0)
    assert route(9) == "fast"  # touched: back to the better match


def test_the_urgent_row_matches_the_batch_row_with_shifts_and_queues() -> None:
    inst = make_instance(40, 30, density=0.3, owner_share=0.1, seed=4)
    zones = ["America/New_York", "Europe/Berlin", "Asia/Singapore"]
    reps = [r.model_copy(update={"timezone": zones[j % 3], "working_hours": "09:00-17:00",
                                 "untouched": j % 4, "handling_minutes": 5.0 + j})
            for j, r in enumerate(inst.reps)]
    now = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # New York and Berlin on shift, Singapore off
    calendar = RepCalendar(reps)
    table = at_time(compile_reps(reps), calendar, now)
    policy = Policy()
    problem = compile_problem(table, inst.leads, policy)
    assert problem.speed is not None and np.isfinite(problem.speed.timing.wait).all()
    scorer = LeadScorer(table, policy)
    for i, lead in enumerate(inst.leads):
        row = scorer.row(lead, table.available, problem.speed)
        np.testing.assert_array_equal(row.eligible, problem.eligible[i])
        np.testing.assert_allclose(row.profit, problem.profit[i])


@pytest.mark.parametrize("routed", [False, True])
@pytest.mark.parametrize("solver", ["flow", "greedy", "cpsat", "round_robin", "least_loaded"])
@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_off_shift_reps_are_worth_their_wait(solver: str, weight: float, routed: bool) -> None:
    """Off-shift reps have no fairness share: their leads are outside the penalty, not barred.
    `routed`: a team makes the urgent path compile its row (`routed_row`) instead of scoring it."""
    reps = [Rep(id="ny", capacity=5, timezone="America/New_York", working_hours="09:00-17:00"),
            Rep(id="sg", capacity=5, timezone="Asia/Singapore", working_hours="09:00-17:00"),
            Rep(id="on", capacity=5, territories=("APAC",))]
    now = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)  # 18:00 New York (off), 07:00 Singapore (off)
    calendar = RepCalendar(reps)
    wait, _, _ = calendar.shifts(now)
    assert wait.tolist() == [15 * 60.0, 2 * 60.0, 0.0]  # New York back at 14:00 UTC, Singapore at 01:00
    table = at_time(compile_reps(reps), calendar, now)
    policy = Policy(solver=solver, fairness={"weight": weight}, batch={"max_size": 2, "max_wait_s": 0},
                    teams=[{"id": "all", "members": ["ny", "sg", "on"]}] if routed else [])
    problem = compile_problem(table, [Lead(id="l", value=100, territory="EU")], policy)
    # nobody on shift: the rep back first (Singapore, in 2 h), not New York (15 h)
    assert problem.eligible[0].tolist() == [False, True, False]
    assert problem.value[0, 1] > problem.value[0, 0]
    router = Router(reps, policy, clock=lambda: now)
    urgent = router.submit(Lead(id="u", value=100, territory="EU", urgent=True), now=now)
    assert urgent.rep_id == "sg" and urgent.reason_code == "first_on_shift"
    assert urgent.reason.endswith("this one in 120 min")
    out = router.route([Lead(id="b1", value=100, territory="EU"), Lead(id="b2", value=90, territory="APAC")],
                       now=now)
    assert [(a.lead_id, a.rep_id) for a in out] == [("b1", "sg"), ("b2", "on")]
    assert out[0].reason_code == "first_on_shift" and out[1].reason_code != "first_on_shift"
    # a batch with no ledger (`leadsolver assign`) at the same time decides as the router does
    batch = assign(reps, [Lead(id="b1", value=100, territory="EU"), Lead(id="b2", value=90, territory="APAC")],
                   policy, now=now)
    assert [(a.lead_id, a.rep_id, a.reason_code) for a in batch.assignments] == [
        (a.lead_id, a.rep_id, a.reason_code) for a in out]


@pytest.mark.parametrize("measure", ["pipeline", "count"])
def test_pipeline_fairness_counts_the_value_each_rep_was_given_in_the_period(tmp_path, measure: str) -> None:
    team = [Rep(id="A", capacity=50), Rep(id="B", capacity=50)]
    fair = {"weight": 5.0, "measure": measure, "period_days": 7}
    policy = Policy(batch={"max_size": 2, "max_wait_s": 0}, fairness=fair,
                    speed={"handling_minutes": 0})  # no queue effect: fairness alone decides
    with SqliteStore(tmp_path / "ledger.db") as store:
        router = Router(team, policy, store, clock=lambda: T0)
        # Eight days ago A was given a large deal: outside the period, it does not count.
        router.route([Lead(id="big-old", value=90_000, owner_id="A")], now=T0 - timedelta(days=8))
        # Today A was given one large deal, B three small ones: B holds more leads, A more value.
        router.route([Lead(id="big", value=90_000, owner_id="A")]
                     + [Lead(id=f"s{i}", value=100, owner_id="B") for i in range(3)], now=T0)
        urgent = router.submit(Lead(id="u", value=1_000, urgent=True), now=T0)  # the fast path
        out = router.route([Lead(id="p", value=1_000), Lead(id="q", value=1_000)], now=T0)
        owners = [urgent.rep_id] + [a.rep_id for a in out]
        if measure == "pipeline":
            assert store.pipeline_value(["A", "B"], T0 - timedelta(days=7)).tolist() == [90_000.0, 3_300.0]
            assert owners == ["B", "B", "B"]
        else:  # open leads: A holds 2, B 3; the urgent lead evens them, the batch splits
            assert owners[0] == "A" and sorted(owners[1:]) == ["A", "B"]
