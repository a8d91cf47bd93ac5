"""Issue 13 in the router: caps over time, persisted rotations, queues, accounts, and the urgent
path applying the routing rules, teams, accounts and fallbacks as a batch would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from solver.decode.result import Assignment
from solver.domain.model import Account, Lead, Policy, Rep
from solver.online.caps import RepCaps
from solver.online.lifecycle import LeadStatus
from solver.online.memory_store import MemoryStore
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def policy(**raw: Any) -> Policy:
    return Policy.model_validate(raw)


def urgent(lead_id: str, **fields: Any) -> Lead:
    return Lead(id=lead_id, value=fields.pop("value", 100.0), urgent=True, **fields)


def test_the_fast_path_honours_a_daily_cap_and_says_so():
    router = Router([Rep(id="R1", capacity=9)], policy(caps={"default": {"per_day": 1}}))
    assert router.submit(urgent("L1"), T0).rep_id == "R1"
    blocked = router.submit(urgent("L2"), T0 + timedelta(hours=1))
    assert blocked.rep_id is None and blocked.reason.startswith(
        "cap: all 1 eligible reps reached a cap or their capacity (per_day)")
    assert router.backlog == ["L2"]
    assert router.submit(urgent("L3"), T0 + timedelta(days=1)).rep_id == "R1"  # a new day


def test_two_routers_on_one_ledger_count_the_same_caps(tmp_path):
    reps, p = [Rep(id="R1", capacity=9), Rep(id="R2", capacity=9)], policy(caps={"default": {"per_day": 1}})
    with SqliteStore(tmp_path / "l.db") as one, SqliteStore(tmp_path / "l.db") as two:
        a, b = Router(reps, p, one), Router(reps, p, two)
        assert a.submit(urgent("L1"), T0).rep_id is not None
        assert b.submit(urgent("L2"), T0).rep_id is not None
        assert {one.decision("L1").rep_id, one.decision("L2").rep_id} == {"R1", "R2"}
        assert a.submit(urgent("L3"), T0).rep_id is None  # both reps took their one lead today


def test_a_team_cap_per_day_is_shared_by_its_members_in_batches_and_the_fast_path():
    p = policy(solver="flow", teams=[{"id": "ent", "members": ["R1", "R2"]}],
               caps={"teams": {"ent": {"per_day": 3}}},
               routing_rules=[{"name": "ent only", "when": "value >= 0", "then": {"admit": {"team": "ent"}}}])
    router = Router([Rep(id="R1", capacity=9), Rep(id="R2", capacity=9), Rep(id="R3", capacity=9)], p)
    out = router.route([Lead(id=f"L{i}", value=10.0 + i) for i in range(5)], T0)
    assert sum(a.rep_id is not None for a in out) == 3 and all(a.rep_id != "R3" for a in out)
    left = [a for a in out if a.rep_id is None]
    assert all("team ent per_day" in a.reason for a in left)
    assert router.submit(urgent("U1"), T0).rep_id is None
    assert router.submit(urgent("U2"), T0 + timedelta(days=1)).rep_id in ("R1", "R2")


@pytest.mark.parametrize(("limits", "held", "taken", "room"), [
    ({"utilisation": 0.5}, 3, 0, 2),  # 50% of capacity 10 is 5 open leads; it holds 3
    ({"per_week": 4}, 0, 3, 1),  # three taken this week (Monday on)
    ({"rolling_24h": 2}, 0, 1, 1),  # one in the last 24 h (yesterday's ones are older)
    ({"per_month": 30, "spread_month": True}, 0, 0, 1),  # 30 over March's 30 days left: 1 today
])
def test_each_cap_kind_leaves_its_room(limits: dict[str, Any], held: int, taken: int, room: int):
    store = MemoryStore()
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    for k in range(taken):
        store.accept(Lead(id=f"L{k}", value=1.0), now)
        store.decide([Assignment(f"L{k}", "R1", "assigned", "r", 1.0, "flow")], now - timedelta(hours=1 + k))
    caps = RepCaps([Rep(id="R1", capacity=10)], policy(caps={"default": limits}))
    got = caps.room(store, now, np.array([10]), np.array([held]))
    assert got is not None and got.rep.tolist() == [room]


def test_rotation_lives_in_the_store_so_a_restart_or_another_router_goes_on(tmp_path):
    reps, p = [Rep(id="A", capacity=99), Rep(id="B", capacity=99)], policy(solver="round_robin")
    owners = []
    for k in range(4):  # a new router each time: a restart, a cron run, the service
        with SqliteStore(tmp_path / "l.db") as store:
            owners += [a.rep_id for a in Router(reps, p, store).route([Lead(id=f"L{k}", value=1.0)], T0)]
    assert owners == ["A", "B", "A", "B"]


def test_a_departed_owner_queues_an_urgent_lead_and_a_release_closes_it():
    p = policy(fallback={"owner_inactive": {"queue": "review"}, "queues": ["review"]})
    accounts = [Account(id="acme", owner_id="OLD")]
    store = MemoryStore()
    router = Router([Rep(id="R1", capacity=9)], p, store, accounts=accounts)
    answer = router.submit(urgent("U1", account_id="acme"), T0)
    assert answer.rep_id is None and answer.queue == "review" and answer.reason_code == "queued"
    assert store.status("U1") is LeadStatus.QUEUED and router.backlog == []
    assert [r["lead_id"] for r in store.queued_leads("review")] == ["U1"]
    router.release("U1", T0 + timedelta(hours=1))
    assert store.status("U1") is LeadStatus.CLOSED and store.decision("U1").reason_code == "closed_in_queue"


def test_the_urgent_path_applies_routing_rules_like_a_batch():
    p = policy(teams=[{"id": "ent", "members": ["R2"]}],
               routing_rules=[{"name": "big to ent", "when": "value >= 1000", "then": {"admit": {"team": "ent"}}}])
    reps = [Rep(id="R1", capacity=9, skills={"x": 5.0}), Rep(id="R2", capacity=9)]
    router = Router(reps, p)
    assert router.submit(urgent("big", value=5000.0, industry="x"), T0).rep_id == "R2"
    assert router.submit(urgent("small", value=10.0, industry="x"), T0).rep_id == "R1"


def test_a_lead_every_routing_rule_shuts_out_is_final_not_backlogged():
    p = policy(routing_rules=[{"name": "no spam", "when": {"industry": "spam"},
                               "then": {"exclude": {"reps": ["R1"]}}}])
    router = Router([Rep(id="R1", capacity=9)], p)
    (answer,) = router.route([Lead(id="spam", value=1.0, industry="spam")], T0)
    assert answer.rep_id is None and router.backlog == []
    assert router.store.status("spam") is LeadStatus.UNASSIGNED


def test_a_lead_a_daily_cap_held_back_is_placed_by_a_tick_the_next_day():
    p = policy(caps={"default": {"per_day": 1}}, batch={"max_size": 10, "max_wait_s": 60})
    router = Router([Rep(id="R1", capacity=9)], p)
    router.submit(urgent("L1"), T0)
    assert router.submit(urgent("L2"), T0).rep_id is None and router.backlog == ["L2"]
    assert router.tick(T0 + timedelta(minutes=5)) == []  # still the same day: nothing frees
    (placed,) = router.tick(T0 + timedelta(days=1))
    assert (placed.lead_id, placed.rep_id) == ("L2", "R1") and router.backlog == []


def test_a_batch_lead_a_cap_stopped_is_explained_by_the_cap_in_the_ledger(tmp_path):
    """The ledger's explanation said 'capacity: ... at capacity' where the answer said 'cap: ...'
    (the rep had room; its daily cap was reached)."""
    p = policy(caps={"default": {"per_day": 1}}, batch={"max_size": 2, "max_wait_s": 60})
    with SqliteStore(tmp_path / "l.db") as ledger:
        router = Router([Rep(id="R1", capacity=9)], p, ledger)
        out = router.route([Lead(id="L1", value=100.0), Lead(id="L2", value=90.0)], T0)
        (stopped,) = [a for a in out if a.rep_id is None]
        assert stopped.reason.startswith("cap:")
        (event,) = [e for e in ledger.history(stopped.lead_id) if e["kind"] == "unassigned"]
        assert event["explanation"]["why"] == stopped.reason


def test_a_lead_only_a_strategic_only_rep_could_take_is_final_not_backlogged():
    """Its account is not named, so the strategic-only rep never may: it waited in the backlog for
    ever, joining every retry (review)."""
    reps = [Rep(id="R1", capacity=5), Rep(id="S", capacity=5, strategic_only=True)]
    p = policy(teams=[{"id": "strategic", "members": ["S"]}],
               routing_rules=[{"name": "moon to strategic", "when": {"territory": "moon"},
                               "then": {"admit": {"team": "strategic"}}}],
               batch={"max_size": 1, "max_wait_s": 0})
    accounts = [Account(id="big", named=True, named_team_id="strategic"), Account(id="plain")]
    router = Router(reps, p, None, accounts=accounts)
    out = router.route([Lead(id="m1", value=1, territory="moon", account_id="plain"),
                        Lead(id="m2", value=1, territory="moon", account_id="big")], T0)
    assert [(a.lead_id, a.rep_id) for a in out] == [("m1", None), ("m2", "S")]
    assert router.backlog == [] and "backlog" not in out[0].reason
