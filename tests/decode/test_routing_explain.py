"""Explanations and reasons follow the routing rules: rule names, team caps, queues."""

from __future__ import annotations

from solver.decode.batch import assign
from solver.decode.reasons import ReasonCode
from solver.domain.model import Lead, Policy, Rep

REPS = [Rep(id="A", capacity=5, skills={"sw": 2.0}), Rep(id="B", capacity=5), Rep(id="C", capacity=5)]


def test_the_trail_names_the_rules_for_the_chosen_rep_and_each_alternative() -> None:
    policy = Policy.model_validate({"routing_rules": [
        {"name": "no A for sw", "when": {"industry": "sw"}, "then": {"exclude": {"reps": ["A"]}}},
        {"name": "C likes sw", "when": {"industry": "sw"}, "then": {"prefer": {"reps": ["C"]}}, "weight": 0.5}]})
    result = assign(REPS, [Lead(id="x", value=100, industry="sw")], policy)
    explained = result.explain("x")
    assert explained.assigned_to is not None and explained.assigned_to.rep_id == "C"
    assert explained.assigned_to.rules == ("preferred by 'C likes sw' (soft, weight 0.5)",)
    alternatives = {alt.rep.rep_id: alt for alt in explained.alternatives}
    assert alternatives["A"].why_not == "blocked by the routing rule 'no A for sw'"
    assert alternatives["A"].rep.rules == ("excluded by 'no A for sw'",
                                           "not preferred by 'C likes sw' (soft, weight 0.5)")
    assert alternatives["B"].rep.rules == ("not preferred by 'C likes sw' (soft, weight 0.5)",)
    assert alternatives["B"].why_not == "lower value after the soft-rule penalty"
    # ranked by the profit the solver used: B (100 less half) before A (ineligible, though
    # worth 200 before the rules)
    assert [alt.rep.rep_id for alt in explained.alternatives] == ["B", "A"]
    assert explained.to_dict()["assigned_to"]["rules"] == list(explained.assigned_to.rules)


def test_an_unassigned_lead_names_the_rules_that_emptied_its_row() -> None:
    policy = Policy.model_validate({"teams": [{"id": "t", "members": ["A"]}], "routing_rules": [
        {"name": "sw to t", "when": {"industry": "sw"}, "then": {"admit": {"team": "t"}}},
        {"name": "no A for big", "when": "value >= 50", "then": {"exclude": {"reps": ["A"]}}}]})
    result = assign(REPS, [Lead(id="x", value=100, industry="sw")], policy)
    answer = result.assignments[0]
    assert answer.rep_id is None and answer.reason_code == ReasonCode.NO_ELIGIBLE_REP_BY_RULES
    assert answer.reason == "no eligible rep: no available rep passes the routing rules 'sw to t', 'no A for big'"
    assert result.to_dict()["assignments"][0].get("queue") is None


def test_a_team_at_its_cap_is_named_for_the_reps_it_holds_back() -> None:
    policy = Policy.model_validate({"teams": [{"id": "t", "members": ["A", "B"], "capacity": 1}],
                                    "routing_rules": [{"name": "all to t", "then": {"admit": {"team": "t"}}}]})
    leads = [Lead(id="x", value=100, industry="sw"), Lead(id="y", value=10, industry="sw")]
    result = assign(REPS, leads, policy)
    assert [a.rep_id for a in result.assignments] == ["A", None]
    # The headline names the team: A and B each have room; their team does not (review finding).
    assert result.assignments[1].reason_code == ReasonCode.TEAM_CAP
    assert result.assignments[1].reason == ("team cap: the eligible reps with room of their own (2) are all in t, "
                                                 "at the team's cap")
    why_not = {alt.rep.rep_id: alt.why_not for alt in result.explain("x").alternatives}
    assert why_not["B"] == "team cap: team t is at its cap (its room went to other leads)"


def test_a_queued_lead_carries_its_queue_in_the_answer_json_and_explanation() -> None:
    policy = Policy.model_validate({
        "routing_rules": [{"name": "nobody", "when": {"industry": "spam"},
                           "then": {"exclude": {"reps": ["A", "B", "C"]}}}],
        "fallback": {"no_rule_match": {"queue": "review"}, "queues": ["review"]}})
    result = assign(REPS, [Lead(id="x", value=1, industry="spam"), Lead(id="y", value=1)], policy)
    data = result.to_dict()["assignments"]
    assert data[0]["queue"] == "review" and data[0]["reason"] == "queued: review: no rule admits a rep"
    assert "queue" not in data[1]
    assert result.explain("x").to_dict()["queue"] == "review"
    assert result.summary is not None and result.summary.counts.unassigned_by_reason == {"queued": 1}


def test_a_fallback_team_is_named_in_the_explanation() -> None:
    policy = Policy.model_validate({
        "teams": [{"id": "inside", "members": ["C"]}],
        "routing_rules": [{"name": "nobody", "then": {"exclude": {"reps": ["A", "B", "C"]}}}],
        "fallback": {"no_rule_match": {"team": "inside"}}})
    result = assign(REPS, [Lead(id="x", value=1)], policy)
    assert result.assignments[0].rep_id == "C"
    assert result.explain("x").why.endswith("fallback: no rule admits a rep; sent to team inside")
