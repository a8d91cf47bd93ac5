"""Decoding: every lead exactly once, reasons for the unassigned, explanations of choices."""

from __future__ import annotations

import numpy as np

from solver import assign
from solver.decode.result import decode
from solver.decode.summary import Counts
from solver.domain.model import Lead, Policy, Rep
from solver.policies import Status


def test_every_lead_out_exactly_once_in_input_order() -> None:
    reps = [Rep(id="a", capacity=1), Rep(id="b", capacity=1, territories=("EU",))]
    leads = [Lead(id=f"l{i}", value=i + 1, territory="US") for i in range(4)]
    result = assign(reps, leads)
    assert [a.lead_id for a in result.assignments] == ["l0", "l1", "l2", "l3"]
    assert sum(a.status == "assigned" for a in result.assignments) == 1
    assert result.summary is not None
    assert result.summary.counts == Counts(leads=4, assigned=1, unassigned=3,
                                           unassigned_by_reason={"capacity": 3})


def test_unassigned_reasons_name_the_blocking_rule() -> None:
    reps = [Rep(id="eu", capacity=5, territories=("EU",), segments=("SMB",)),
            Rep(id="off", capacity=5, available=False)]
    leads = [Lead(id="us", value=1, territory="US"),
             Lead(id="ent", value=1, territory="EU", segment="ENT")]
    reasons = {a.lead_id: a.reason for a in assign(reps, leads).assignments}
    assert reasons["us"] == "no eligible rep: no available rep matches territory 'US'"
    assert reasons["ent"] == "no eligible rep: no available rep matches segment 'ENT'"


def test_no_available_rep_reason() -> None:
    result = assign([Rep(id="a", capacity=5, available=False)], [Lead(id="x", value=1)])
    assert result.assignments[0].reason == "no rep available: every rep is unavailable"


def test_explain_gives_why_not_for_each_alternative() -> None:
    reps = [
        Rep(id="chosen", capacity=5, skills={"fin": 1.2}),
        Rep(id="wrong_territory", capacity=5, territories=("APAC",), skills={"fin": 3.0}),
        Rep(id="full", capacity=1, skills={"fin": 2.0}),
        Rep(id="weaker", capacity=5, skills={"fin": 0.5}),
    ]
    leads = [Lead(id="big", value=1000, industry="fin", territory="EU"),
             Lead(id="x", value=100, industry="fin", territory="EU")]
    result = assign(reps, leads, Policy())
    explained = result.explain("x")
    assert explained.assigned_to is not None and explained.assigned_to.rep_id == "chosen"
    why_not = {alt.rep.rep_id: alt.why_not for alt in explained.alternatives}
    assert why_not["wrong_territory"].startswith("blocked by the hard rule on territory 'EU'")
    assert why_not["full"].startswith("at capacity")
    assert why_not["weaker"] == "lower expected value"


def test_explain_fairness_alternative() -> None:
    """A better rep already above its fair share loses the lead to fairness."""
    reps = [Rep(id="star", capacity=9, open_leads=6, skills={"fin": 1.1}), Rep(id="b", capacity=9)]
    leads = [Lead(id="x", value=100, industry="fin")]
    result = assign(reps, leads, Policy(fairness={"weight": 2.0}))
    explained = result.explain("x")
    assert explained.assigned_to is not None and explained.assigned_to.rep_id == "b"
    assert explained.alternatives[0].why_not.startswith("fairness")


def test_summary_loads_and_objective_are_consistent() -> None:
    reps = [Rep(id="a", capacity=3, open_leads=1), Rep(id="b", capacity=3)]
    leads = [Lead(id=f"l{i}", value=10) for i in range(3)]
    result = assign(reps, leads, Policy(speed={"enabled": False}))  # static worth: 10 a lead
    summary = result.summary
    assert summary is not None
    loads = {r.rep_id: r for r in summary.rep_loads}
    assert loads["a"].assigned + loads["b"].assigned == 3
    assert loads["a"].load == loads["a"].assigned + 1  # history counts
    assert summary.expected_value == 30.0
    assert summary.objective == summary.bound == 30.0
    assert summary.gap is not None and np.isclose(summary.gap, 0.0)
    assert summary.status is Status.OPTIMAL


def test_typed_results_keep_their_json_form() -> None:
    """`to_dict` is the JSON; item access reads it too, as callers of the untyped dicts did."""
    reps = [Rep(id="a", capacity=1, territories=("*",)), Rep(id="b", capacity=5, territories=("EU",))]
    leads = [Lead(id="x", value=10, territory="EU"), Lead(id="y", value=5, territory="US"),
             Lead(id="z", value=1, territory="US")]
    result = assign(reps, leads, solver="greedy")
    summary = result.summary
    assert summary is not None
    data = result.to_dict()["summary"]
    assert data == summary.to_dict() and data["status"] == "heuristic"
    assert summary["counts"] == data["counts"] == {
        "leads": 3, "assigned": 1, "unassigned": 2, "unassigned_by_reason": {"capacity": 2}}
    assert data["rep_loads"][0] == {"rep_id": "a", "assigned": 1, "effort": 1, "free_capacity_before": 1,
                                    "load": 1.0, "target": 1.5}
    explained = result.explain("z")
    assert explained.assigned_to is None and explained["why"] == explained.why
    assert explained.to_dict()["alternatives"][0]["rep_id"] == "a"
    assert decode(result.problem, result.solution, "greedy", with_summary=False).to_dict()["summary"] == {}
