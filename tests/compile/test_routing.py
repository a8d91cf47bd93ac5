"""Routing rules, teams, accounts and fallbacks folded into the compiled Problem."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from solver.compile.problem import compile_problem
from solver.compile.routing import with_rules
from solver.compile.scoring import RotationState, compile_reps
from solver.domain.model import Account, Lead, Policy, Rep

REPS = [Rep(id="R1", capacity=5), Rep(id="R2", capacity=5, open_leads=2), Rep(id="R3", capacity=5),
        Rep(id="GONE", capacity=5, available=False)]


def policy(**raw: Any) -> Policy:
    return Policy.model_validate(raw)


def row(problem: Any, i: int = 0) -> list[str]:
    """The reps lead i may go to."""
    return [problem.rep_ids[j] for j in np.flatnonzero(problem.eligible[i])]


def test_hard_rules_fold_into_eligible_and_soft_rules_into_the_penalty() -> None:
    p = policy(teams=[{"id": "ent", "members": ["R1", "R2"]}], routing_rules=[
        {"name": "big to ent", "when": "value >= 100", "then": {"admit": {"team": "ent"}}},
        {"name": "no R2 for retail", "when": {"industry": "retail"}, "then": {"exclude": {"reps": ["R2"]}}},
        {"name": "R3 likes hw", "when": {"industry": "hw"}, "then": {"prefer": {"reps": ["R3"]}},
         "weight": 0.5}])
    leads = [Lead(id="big", value=100, industry="retail"), Lead(id="small", value=5, industry="hw")]
    problem = compile_problem(REPS, leads, p)
    assert row(problem, 0) == ["R1"]  # the team, less the exclusion
    assert row(problem, 1) == ["R1", "R2", "R3"]  # unrestricted; GONE is unavailable
    assert problem.penalty_factor is not None
    assert problem.penalty_factor[1].tolist() == [0.5, 0.5, 1.0, 0.5]
    assert problem.options.hard_routing_rules == ("big to ent", "no R2 for retail")
    assert problem.rules is not None and [e.rule for e in problem.rules.trail(0)] == [
        "big to ent", "no R2 for retail"]


def test_team_capacity_is_the_cap_less_the_members_open_leads() -> None:
    p = policy(teams=[{"id": "ent", "members": ["R1", "R2"], "capacity": 3},
                      {"id": "all", "members": ["R1", "R2", "R3"]}])
    problem = compile_problem(REPS, [Lead(id="a", value=1)], p)
    assert problem.team_ids == ("ent", "all")
    assert problem.team_capacity.tolist() == [1, -1]  # 3 - R2's two open leads; no cap
    assert problem.capped_teams.tolist() == [[True, True, False, False]]
    owner = np.array([0])
    assert problem.team_free(owner).tolist() == [0]


def test_violations_name_a_team_over_its_cap() -> None:
    p = policy(teams=[{"id": "ent", "members": ["R1", "R2"], "capacity": 3}])
    leads = [Lead(id=f"l{i}", value=1) for i in range(2)]
    problem = compile_problem(REPS, leads, p)
    assert problem.violations(np.array([0, -1])) == []
    assert problem.violations(np.array([0, 0])) == ["team ent over its cap"]
    assert problem.violations(np.array([0, 2])) == []  # R3 is not in the team


def test_a_subsidiary_without_an_owner_goes_to_its_parents_owner() -> None:
    accounts = [Account(id="parent", owner_id="R2"), Account(id="sub", parent_id="parent"),
                Account(id="grandchild", parent_id="sub"), Account(id="own", owner_id="R3", parent_id="parent")]
    leads = [Lead(id="a", value=1, account_id="sub"), Lead(id="b", value=1, account_id="grandchild"),
             Lead(id="c", value=1, account_id="own"), Lead(id="d", value=1, account_id="own", owner_id="R1"),
             Lead(id="e", value=1, account_id="unlisted", parent_account_id="parent")]
    problem = compile_problem(REPS, leads, Policy(), accounts)
    assert [problem.rep_ids[j] for j in problem.forced] == ["R2", "R2", "R3", "R1", "R2"]
    assert compile_problem(REPS, leads, Policy()).forced.tolist() == [-1, -1, -1, 0, -1]  # no accounts


def test_a_parent_cycle_ends_the_walk() -> None:
    accounts = [Account(id="a", parent_id="b"), Account(id="b", parent_id="a")]
    problem = compile_problem(REPS, [Lead(id="x", value=1, account_id="a")], Policy(), accounts)
    assert problem.forced.tolist() == [-1]


@pytest.mark.parametrize(("target", "expected_row", "queue"), [
    ({"queue": "review"}, [], "review"),
    ({"team": "inside"}, ["R3"], None),
    ({"rep": "R1"}, ["R1"], None),
    ("normal", ["R1", "R2", "R3"], None),
])
def test_an_inactive_owner_sends_the_lead_where_the_policy_says(target: Any, expected_row: list[str],
                                                                 queue: str | None) -> None:
    p = policy(teams=[{"id": "inside", "members": ["R3"]}],
               fallback={"owner_inactive": target, "queues": ["review"]})
    accounts = [Account(id="acme", owner_id="GONE")]
    problem = compile_problem(REPS, [Lead(id="x", value=1, account_id="acme")], p, accounts)
    assert problem.forced.tolist() == [-1]
    assert row(problem) == expected_row
    assert problem.queued == ({0: ("review", "the account's owner is inactive")} if queue else {})


def test_an_owner_missing_from_the_reps_is_inactive_too() -> None:
    p = policy(fallback={"owner_inactive": {"queue": "review"}, "queues": ["review"]})
    problem = compile_problem(REPS, [Lead(id="x", value=1, account_id="acme")], p,
                              [Account(id="acme", owner_id="LEFT")])
    assert problem.queued == {0: ("review", "the account's owner is inactive")}


@pytest.mark.parametrize(("target", "expected_row"), [
    (None, []), ({"queue": "review"}, []), ({"team": "inside"}, ["R3"]), ({"rep": "R2"}, ["R2"]),
    ("normal", ["R1", "R2", "R3"]),
])
def test_a_lead_no_rule_admits_goes_to_the_fallback(target: Any, expected_row: list[str]) -> None:
    p = policy(teams=[{"id": "inside", "members": ["R3"]}],
               routing_rules=[{"name": "nobody for spam", "when": {"industry": "spam"},
                               "then": {"exclude": {"reps": ["R1", "R2", "R3", "GONE"]}}}],
               fallback={"no_rule_match": target, "queues": ["review"]})
    leads = [Lead(id="spam", value=1, industry="spam"), Lead(id="ok", value=1)]
    problem = compile_problem(REPS, leads, p)
    assert row(problem, 0) == expected_row
    assert row(problem, 1) == ["R1", "R2", "R3"]
    queued = target == {"queue": "review"}
    assert problem.queued == ({0: ("review", "no rule admits a rep")} if queued else {})


def test_named_accounts_go_to_their_rep_or_team_and_strategic_reps_take_only_those() -> None:
    reps = [*REPS[:3], Rep(id="S", capacity=5, strategic_only=True)]
    p = policy(teams=[{"id": "strategic", "members": ["R3", "S"]}])
    accounts = [Account(id="big", named=True, named_team_id="strategic"),
                Account(id="vip", named=True, named_rep_id="R1"),
                Account(id="sub", parent_id="big"), Account(id="plain")]
    leads = [Lead(id=a, value=1, account_id=a) for a in ("big", "vip", "sub", "plain")]
    problem = compile_problem(reps, leads, p, accounts)
    assert [row(problem, i) for i in range(4)] == [["R3", "S"], ["R1"], ["R3", "S"], ["R1", "R2", "R3"]]
    no_accounts = compile_problem(reps, leads, p)
    assert row(no_accounts, 0) == ["R1", "R2", "R3"]  # nobody named: S takes nothing


@pytest.mark.parametrize("fallback", [{"no_rule_match": "normal"}, {"no_rule_match": {"team": "strategic"}},
                                      {"owner_inactive": {"team": "strategic"}}])
def test_no_fallback_sends_a_strategic_only_rep_a_lead_of_no_named_account(fallback: dict) -> None:
    # the fallback's team (or normal routing) replaced the row: S got unnamed accounts' leads
    reps = [*REPS[:3], Rep(id="S", capacity=5, strategic_only=True)]
    p = policy(teams=[{"id": "strategic", "members": ["R3", "S"]}], fallback=fallback,
               routing_rules=[{"name": "nobody for moon", "when": {"territory": "moon"},
                               "then": {"exclude": {"team": "strategic"}}},
                              {"name": "no R1 R2 for moon", "when": {"territory": "moon"},
                               "then": {"exclude": {"reps": ["R1", "R2"]}}}])
    accounts = [Account(id="big", named=True, named_team_id="strategic"), Account(id="plain")]
    leads = [Lead(id="moon", value=1, territory="moon", account_id="plain"),
             Lead(id="left", value=1, account_id="plain", owner_id="GONE"),
             Lead(id="named", value=1, account_id="big", territory="moon")]
    problem = compile_problem(reps, leads, p, accounts)
    assert all("S" not in row(problem, i) for i in range(2))
    if "no_rule_match" in fallback:  # the same fallback may send S a named account's lead
        assert "S" in row(problem, 2)


def test_pools_are_keyed_by_team_or_by_the_admitted_reps() -> None:
    p = policy(teams=[{"id": "ent", "members": ["R1", "R2"]}], routing_rules=[
        {"name": "big", "when": "value >= 100", "then": {"admit": {"team": "ent"}}},
        {"name": "tiny", "when": "value < 2", "then": {"admit": {"reps": ["R3"]}}}])
    leads = [Lead(id="a", value=100), Lead(id="b", value=50), Lead(id="c", value=1)]
    problem = compile_problem(REPS, leads, p)
    assert problem.pool is not None
    keys = [problem.pool_keys[k] for k in problem.pool]
    assert keys[:2] == ["team:ent", "all"] and keys[2].startswith("reps:")
    assert compile_problem(REPS, leads, Policy()).pool is None  # no rules: one pool, "all"


def test_the_rep_side_is_compiled_once_per_rule_set() -> None:
    p = policy(teams=[{"id": "ent", "members": ["R1"]}])
    table = with_rules(compile_reps(REPS), p)
    assert with_rules(table, p) is table
    assert with_rules(table, policy(teams=[{"id": "ent", "members": ["R2"]}])).rules is not table.rules
    problem = compile_problem(table, [Lead(id="a", value=1)], p)
    assert problem.team_ids == ("ent",)


def test_rules_read_extra_lead_and_rep_attributes() -> None:
    reps = [Rep(id="A", capacity=3, attributes={"languages": "de;fr"}),
            Rep(id="B", capacity=3, attributes={"languages": "en"})]
    p = policy(derived={"size": {"from": "employees", "thresholds": [[200, "SMB"], [2000, "MM"]],
                                 "above": "ENT"}},
               teams=[{"id": "ent", "members": ["A"]}, {"id": "mm", "members": ["B"]}],
               routing_rules=[{"name": "ent", "when": {"size": "ENT"}, "then": {"admit": {"team": "ent"}}},
                              {"name": "mm", "when": {"size": "MM"}, "then": {"admit": {"team": "mm"}}},
                              {"name": "language", "group": "lang",
                               "then": {"admit": {"rep_attribute": "languages", "lead_field": "language"}}}])
    leads = [Lead(id="x", value=1, attributes={"employees": "2000", "language": "DE"}),
             Lead(id="y", value=1, attributes={"employees": "1999", "language": "en"})]
    problem = compile_problem(reps, leads, p)
    assert [row(problem, 0), row(problem, 1)] == [["A"], ["B"]]


def test_rotation_state_is_a_plain_mapping_per_pool() -> None:
    state = RotationState(pointers={"all": 2, "team:ent": 1}, credits={"team:ent": {"R1": 0.5}})
    data = state.to_dict()
    assert data == {"all": {"pointer": 2, "credits": {}}, "team:ent": {"pointer": 1, "credits": {"R1": 0.5}}}
    assert RotationState.from_dict(data) == state


def test_only_rules_that_read_a_number_can_refuse_a_lead_at_submit(monkeypatch) -> None:
    """The service asks `check_leads` of every lead: rules that read no number skip the work (45 us
    a lead at 1,000 reps), and those with a number test still refuse text under it."""
    from solver.compile import routing
    from solver.domain.errors import InputError

    def text_only() -> Any:
        return with_rules(compile_reps(REPS), policy(routing_rules=[
            {"name": "sw", "when": {"industry": "sw"}, "then": {"prefer": {"reps": ["R1"]}}},
            {"name": "off", "when": "employees >= 10", "then": {"admit": {"reps": ["R1"]}}, "mode": "off"}])).rules

    numbers = with_rules(compile_reps(REPS), policy(routing_rules=[
        {"name": "big", "when": "employees >= 10", "then": {"admit": {"reps": ["R1"]}}}])).rules
    assert not routing.reads_numbers(text_only()) and routing.reads_numbers(numbers)
    bad = Lead(id="x", value=1, attributes={"employees": "~500"})
    with pytest.raises(InputError, match="employees"):
        routing.check_leads(numbers, [bad])
    monkeypatch.setattr(routing, "_lead_fields", lambda *a, **k: pytest.fail("read the leads' fields"))
    routing.check_leads(text_only(), [bad])  # nothing a text-only rule set can refuse
