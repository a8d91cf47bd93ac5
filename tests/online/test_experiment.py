"""Experiments in the router (issue 15): arms by unit, both arms on one team, arms kept, promotion."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from solver.domain.errors import InputError
from solver.domain.experiment import CHALLENGER, CONTROL, Experiment
from solver.domain.model import Account, Lead, Policy, Rep
from solver.online.experiment import (
    arm_of,
    arm_of_unit,
    block_of,
    record_stop,
    start_of,
    stop_of,
    unit_book,
    unit_id,
)
from solver.online.memory_store import MemoryStore
from solver.online.router import Router

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def experiment(**kw) -> dict:
    return {"name": "rr-vs-flow", "challenger": {"solver": "round_robin"}} | kw


def policy(**kw) -> Policy:
    return Policy(batch={"max_size": 100, "max_wait_s": 0}, experiment=experiment(**kw))


def team(n: int = 4, capacity: int = 100) -> list[Rep]:
    return [Rep(id=f"R{j}", capacity=capacity) for j in range(n)]


def leads(n: int, accounts: int | None = None, **kw) -> list[Lead]:
    return [Lead(id=f"L{i}", value=100.0 + i, account_id=f"A{i % accounts}" if accounts else "", **kw)
            for i in range(n)]


def test_the_arm_is_a_deterministic_function_of_the_unit_and_seed_near_the_share():
    exp = Experiment.model_validate(experiment(share=0.3))
    arms = [arm_of_unit(exp, f"lead L{i}") for i in range(4000)]
    assert arms == [arm_of_unit(exp, f"lead L{i}") for i in range(4000)]  # same input, same arm
    assert abs(arms.count(CHALLENGER) / 4000 - 0.3) < 0.03
    reseeded = Experiment.model_validate(experiment(share=0.3, seed=1))
    assert [arm_of_unit(reseeded, f"lead L{i}") for i in range(4000)] != arms


def test_an_account_keeps_its_leads_in_one_arm_and_a_parent_keeps_its_subsidiaries():
    exp = Experiment.model_validate(experiment(unit="account"))
    by_account: dict[str, set[str]] = {}
    for lead in leads(400, accounts=20):
        by_account.setdefault(lead.account_id, set()).add(arm_of(exp, lead, T0))
    assert all(len(arms) == 1 for arms in by_account.values())
    assert {next(iter(a)) for a in by_account.values()} == {CONTROL, CHALLENGER}
    child = Lead(id="X", value=1.0, account_id="child", parent_account_id="A3")
    assert unit_id(exp, child, T0) == "account A3"
    assert unit_id(exp, Lead(id="Y", value=1.0), T0) == "lead Y"  # no account: its own unit


def test_an_account_unit_is_the_top_of_its_parent_chain_in_the_accounts_file_batch_and_urgent():
    """QA: the accounts file's parents were ignored; only a leads' parent_account_id column counted."""
    book = [Account(id="TOP"), Account(id="MID", parent_id="TOP")]
    book += [Account(id=f"A{k}", parent_id="MID") for k in range(20)]
    exp = Experiment.model_validate(experiment(unit="account"))
    assert unit_id(exp, Lead(id="X", value=1.0, account_id="A3"), T0, unit_book(book)) == "account TOP"
    # a lead whose account the file lacks starts at its parent's
    orphan = Lead(id="Y", value=1.0, account_id="new", parent_account_id="A4")
    assert unit_id(exp, orphan, T0, unit_book(book)) == "account TOP"
    for urgent in (False, True):
        router = Router(team(), policy(unit="account"), MemoryStore(), clock=lambda: T0, accounts=book)
        batch = leads(40, accounts=20, urgent=urgent)
        out = router.route(batch, T0) if not urgent else [router.submit(lead, T0) for lead in batch]
        assert {a.arm for a in out} == {arm_of_unit(exp, "account TOP")}


def test_a_switchback_block_puts_every_lead_of_its_hours_in_one_arm():
    exp = Experiment.model_validate(experiment(unit="switchback", block_hours=4))
    assert block_of(T0, 4) == block_of(T0 + timedelta(hours=1, minutes=59), 4) != block_of(
        T0 + timedelta(hours=2), 4)  # 10:00 UTC is in the 08:00-12:00 block
    blocks = [{arm_of(exp, lead, T0 + timedelta(hours=4 * b)) for lead in leads(30)} for b in range(40)]
    assert all(len(arms) == 1 for arms in blocks)
    assert {next(iter(a)) for a in blocks} == {CONTROL, CHALLENGER}  # the team alternates


@pytest.mark.parametrize(("section", "message"), [
    ({"name": "x", "challenger": {"caps": {}}}, "share the team's hard rules"),
    ({"name": "x", "challenger": {"rules": {"territory": "off"}}}, "a challenger may change only"),
    ({"name": "x", "challenger": {}}, "give what the challenger changes"),
    ({"name": "x", "challenger": {"solver": "nope"}}, "experiment.challenger.solver"),
    ({"name": "x", "challenger": {"fairness": {"weight": -1}}}, "experiment.challenger.fairness.weight"),
    ({"name": "x", "challenger": {"solver": "greedy"}, "share": 1.0}, "less than 1"),
    ({"name": "x", "challenger": {"solver": "greedy"}, "unit": "team"}, "'lead', 'account' or 'switchback'"),
])
def test_a_bad_experiment_section_is_refused_naming_the_field(section, message):
    with pytest.raises(ValidationError, match=message):
        Policy(experiment=section)


def test_a_batch_of_both_arms_is_two_sub_problems_sharing_the_team_capacity():
    store = MemoryStore()
    router = Router(team(n=2, capacity=10), policy(), store, clock=lambda: T0)
    out = router.route(leads(30), T0)
    exp = router.policy.experiment
    assert {a.lead_id: a.arm for a in out} == {f"L{i}": arm_of(exp, lead, T0)
                                               for i, lead in enumerate(leads(30))}
    arms = Counter(a.arm for a in out)
    assert 0 < arms[CONTROL] < 20 and arms[CHALLENGER] > 0
    assert {(a.arm, a.policy) for a in out if a.rep_id} == {(CONTROL, "flow"), (CHALLENGER, "round_robin")}
    # capacity is shared: 20 seats in all, whatever the arms; control first takes the seats it wants
    placed = Counter(a.arm for a in out if a.rep_id)
    assert placed == {CONTROL: arms[CONTROL], CHALLENGER: 20 - arms[CONTROL]}
    assert router.loads() == {"R0": 10, "R1": 10}
    assert [e["arm"] for e in store.history("L0") if e["kind"] != "accepted"] == [store.decision("L0").arm]


def test_urgent_leads_take_their_arms_fast_path():
    router = Router(team(), policy(), MemoryStore(), clock=lambda: T0)
    out = [router.submit(lead, T0) for lead in leads(40, urgent=True)]
    assert {a.arm for a in out} == {CONTROL, CHALLENGER}
    assert all(a.arm == arm_of(router.policy.experiment, lead, T0) for a, lead in zip(out, leads(40),
                                                                                      strict=True))


def test_a_waiting_lead_and_a_stale_lead_keep_their_arm():
    now = [T0]
    store = MemoryStore()
    router = Router(team(n=2, capacity=1), Policy(batch={"max_size": 100, "max_wait_s": 0},
                                                  sla={"first_touch_hours": 1},
                                                  experiment=experiment()), store, clock=lambda: now[0])
    out = {a.lead_id: a for a in router.route(leads(6), T0)}
    waiting = [a for a in out.values() if a.rep_id is None]
    assert waiting and all(a.arm for a in waiting)
    placed = [a for a in out.values() if a.rep_id]
    router.release(placed[0].lead_id, T0)  # a seat frees: a waiting lead takes it, in its own arm
    now[0] = T0 + timedelta(minutes=1)
    moved = router.tick(now[0])
    assert moved and all(store.decision(a.lead_id).arm == out[a.lead_id].arm == a.arm for a in moved)
    now[0] = T0 + timedelta(hours=2)  # the open leads are stale: a new rep takes them, each in its arm
    router.update_reps([*team(n=2, capacity=1), Rep(id="R9", capacity=10)])
    stale = router.reassign_stale(now[0])
    assert stale and "R9" in {a.rep_id for a in stale}
    assert all(a.arm == out[a.lead_id].arm == store.decision(a.lead_id).arm for a in stale)
    assert all(e["arm"] == out[e["lead_id"]].arm for e in store.history() if e["kind"] != "accepted")


def test_the_definition_is_recorded_once_and_a_changed_one_needs_a_new_name():
    store = MemoryStore()
    Router(team(), policy(), store, clock=lambda: T0)
    Router(team(), policy(), store, clock=lambda: T0)  # a restart: recorded once
    start = start_of(store, "rr-vs-flow")
    assert start["arms"] == {CONTROL: "flow", CHALLENGER: "round_robin"}
    assert len([r for r in store.runs() if r["kind"] == "experiment"]) == 1
    with pytest.raises(InputError, match="needs a new name"):
        Router(team(), policy(share=0.2), store, clock=lambda: T0)


def test_a_stopped_experiment_routes_every_lead_with_the_winner():
    store = MemoryStore()
    Router(team(), policy(), store, clock=lambda: T0).route(leads(10), T0)
    record_stop(store, start_of(store, "rr-vs-flow"), CHALLENGER, T0, "ops", {"p_value": 0.01})
    assert stop_of(store, "rr-vs-flow")["winner"] == CHALLENGER
    with pytest.raises(ValueError, match="already stopped"):
        record_stop(store, start_of(store, "rr-vs-flow"), CONTROL, T0, "ops", {})
    router = Router(team(), policy(), store, clock=lambda: T0)
    assert router.policy.experiment is None and router.policy.solver == "round_robin"
    out = router.route([*leads(10), Lead(id="N1", value=5.0)], T0)  # the known ten are skipped
    assert [(a.lead_id, a.arm, a.policy) for a in out] == [("N1", None, "round_robin")]


def test_a_lead_the_challengers_solver_cannot_take_is_refused_naming_the_challenger():
    router = Router(team(), Policy(solver="cpsat", experiment={"name": "x", "challenger": {"solver": "flow"}}),
                    MemoryStore(), clock=lambda: T0)
    with pytest.raises(InputError, match="the experiment's challenger: solver 'flow' needs unit effort"):
        router.submit(Lead(id="E1", value=1.0, effort=2), T0)
    assert router.store.status("E1") is None


def test_each_arms_prices_are_learned_off_the_lock_and_a_stale_pricer_is_dropped():
    pytest.importorskip("scipy")
    router = Router(team(3, capacity=100), policy(challenger={"fairness": {"weight": 0.5}}), MemoryStore(),
                    clock=lambda: T0)
    for lead in leads(60, urgent=True):
        router.submit(lead)
    for pricing in router._pricings():
        pricing.pricer.expedite()
    jobs = router.pricing_jobs()
    challenger = router.arms[CHALLENGER].pricing.pricer
    assert [pricer for pricer, _ in jobs] == [router.pricer, challenger]  # both arms, the control's first
    duals = jobs[1][1].solve()
    router.install_prices(duals, challenger)
    assert challenger.prices.tolist() == pytest.approx(duals.tolist())
    router.update_reps(team(3, capacity=100))  # a new team: the old arms' pricers are gone
    assert router.arms[CHALLENGER].pricing.pricer is not challenger
    router.install_prices(duals * 0 + 7.0, challenger)  # solved for the old team: dropped
    assert challenger.prices.tolist() == pytest.approx(duals.tolist())
    assert not (router.arms[CHALLENGER].pricing.pricer.prices == 7.0).any()
