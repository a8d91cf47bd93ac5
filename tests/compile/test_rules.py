"""Routing rules compiled to arrays: each operator, each rule of the semantics, and a slow reference."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.compile.problem import compile_problem
from solver.compile.rules import (
    CompiledRuleSet,
    LeadTable,
    RuleEffect,
    RuleOutcome,
    check_inputs,
    compile_rule_set,
    evaluate,
    lead_columns,
    rep_attributes,
)
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep
from solver.domain.rules import load_rule_set
from solver.policies import solve

REPS = ["R1", "R2", "R3", "R4"]
ATTRS: dict[str, list[Any]] = {
    "industries": ["Tech;Retail", "", "!Public Sector", "*"],
    "countries": ["US;DE", "*", "!FR", ""],
    "languages": ["en;de", "en", "fr", "en;fr"],
    "seniority": ["3", "1", "4", ""],
    "region": ["GOV", "emea", " gov ", "EMEA"],
}


def compiled(doc: dict[str, Any], reps: list[str] = REPS, attrs: dict[str, Any] = ATTRS) -> CompiledRuleSet:
    return compile_rule_set(load_rule_set(doc), reps, attrs, file="policy.yaml")


def run(rules: list[dict[str, Any]], columns: dict[str, list[Any]], **doc: Any) -> RuleOutcome:
    named = [{"name": f"rule {k}", **r} for k, r in enumerate(rules)]
    return evaluate(compiled({"routing_rules": named, **doc}), LeadTable.of(columns), default_weight=0.25)


def matched(when: Any, values: list[Any], field: str = "x") -> list[bool]:
    """Which leads a condition on `field` matches (through an exclude of R1: admit[:, 0] flips)."""
    out = run([{"when": when, "then": {"exclude": {"reps": ["R1"]}}}], {field: values})
    return [not a for a in out.admit[:, 0]]


@pytest.mark.parametrize(("when", "values", "expected"), [
    ({"x": "Tech"}, ["tech", " TECH ", "Tech", "tec", ""], [True, True, True, False, False]),
    ({"x": ["Tech", "Retail"]}, ["retail ", "Tech", "Public", ""], [True, True, False, False]),
    ({"x": {"not": "Tech"}}, ["tech", "Retail", ""], [False, True, True]),
    ({"x": {"not_in": ["Tech", "Retail"]}}, ["RETAIL", "Public", ""], [False, True, True]),
    ({"x": {"gt": 20}}, ["20", "20.5", "19", ""], [False, True, False, False]),
    ({"x": {"ge": 20}}, ["20", " 20.0 ", "19.99", ""], [True, True, False, False]),
    ({"x": {"lt": 20}}, ["20", "-3", "19.99", ""], [False, True, True, False]),
    ({"x": {"le": 20}}, ["20", "21", "1e1", ""], [True, False, True, False]),
    ({"x": {"between": [10, 20]}}, ["10", "20", "15", "9.9", "20.1"], [True, True, True, False, False]),
    ({"x": {"between": [10, 20], "inclusive": "left"}}, ["10", "20"], [True, False]),
    ({"x": {"between": [10, 20], "inclusive": "right"}}, ["10", "20"], [False, True]),
    ({"x": {"between": [10, 20], "inclusive": "neither"}}, ["10", "20", "11"], [False, False, True]),
    ({"x": 20}, ["20", "20.0", "2e1", "21", ""], [True, True, True, False, False]),
    ({"x": [3, 4]}, ["3", "4.0", "5", ""], [True, True, False, False]),
    ({"x": {"not_in": [3, 4]}}, ["3", "5", ""], [False, True, True]),
    ({"x": {"present": True}}, ["a", "  ", ""], [True, False, False]),
    ({"x": {"absent": True}}, ["a", "  ", ""], [False, True, True]),
    ({"x": {"equals": "Tech", "case_sensitive": True}}, ["Tech", "tech", " Tech "], [True, False, True]),
    ({"x": {"equals": "Tech", "trim": False}}, ["tech", " Tech "], [True, False]),
    ({"x": {"present": True, "trim": False}}, ["  ", ""], [True, False]),
    ("x >= 2000", ["2000", "1999"], [True, False]),
    ({"x": {"ge": 200, "lt": 2000}}, ["199", "200", "1999", "2000"], [False, True, True, False]),
    (None, ["a", ""], [True, True]),  # no condition: every lead
])
def test_each_operator_over_all_leads(when: Any, values: list[Any], expected: list[bool]) -> None:
    assert matched(when, values) == expected


def test_several_fields_must_all_hold() -> None:
    out = run([{"when": {"industry": "Tech", "employees": {"ge": 100}},
                "then": {"exclude": {"reps": ["R1"]}}}],
              {"industry": ["Tech", "Tech", "Retail"], "employees": ["100", "99", "500"]})
    assert out.admit[:, 0].tolist() == [False, True, True]


def test_the_segment_boundary_puts_2000_in_ent_and_1999_in_mm() -> None:
    derived = {"segment": {"from": "employees", "thresholds": [[200, "SMB"], [2000, "MM"]], "above": "ENT",
                           "missing": "unknown"}}
    employees = ["199", "200", "1999", "2000", "100000", "", "n/a"]
    out = {seg: run([{"when": {"segment": seg}, "then": {"exclude": {"reps": ["R1"]}}}],
                    {"employees": employees}, derived=derived).admit[:, 0] for seg in ("SMB", "MM", "ENT", "unknown")}
    label = ["".join(seg for seg in out if not out[seg][i]) for i in range(len(employees))]
    assert label == ["SMB", "MM", "MM", "ENT", "ENT", "unknown", "unknown"]


def test_a_derived_field_refuses_a_number_it_cannot_read() -> None:
    """'2,000' is no blank: filing it under `missing` would misroute the lead (review finding)."""
    derived = {"segment": {"from": "employees", "thresholds": [[2000, "MM"]], "above": "ENT",
                           "missing": "SMB"}}
    with pytest.raises(InputError, match=r"derived field 'segment' needs a number, but the lead has '2,000'") as err:
        run([{"when": {"segment": "ENT"}, "then": {"exclude": {"reps": ["R1"]}}}],
            {"employees": ["10", "2,000"]}, derived=derived)
    assert (err.value.row, err.value.field) == (2, "employees")


def test_a_derived_field_replaces_a_given_column_of_that_name() -> None:
    derived = {"segment": {"from": "employees", "thresholds": [[2000, "MM"]], "above": "ENT"}}
    out = run([{"when": {"segment": "ENT"}, "then": {"exclude": {"reps": ["R1"]}}}],
              {"employees": ["5000", "10"], "segment": ["SMB", "ENT"]}, derived=derived)
    assert out.admit[:, 0].tolist() == [False, True]


def test_a_number_test_on_text_names_the_lead_row_and_field() -> None:
    with pytest.raises(InputError) as err:
        evaluate(compiled({"routing_rules": [{"name": "big", "when": "employees >= 2000",
                                              "then": {"exclude": {"reps": ["R1"]}}}]}),
                 LeadTable.of({"employees": ["10", "", "2,000"]}), leads_file="leads.csv")
    assert (err.value.file, err.value.row, err.value.field) == ("leads.csv", 3, "employees")
    assert "rule 'big'" in str(err.value) and "'2,000'" in str(err.value)


@pytest.mark.parametrize("cell", ["10", "2,000", "", "n/a", "lots", " 5000 "])
@pytest.mark.parametrize("field", ["employees", "seats"])
def test_check_inputs_refuses_exactly_what_evaluate_refuses(cell: str, field: str) -> None:
    """The router's per-lead check (no rule evaluated): the same InputError as the full evaluation,
    or none where it has none; a number test (seats) and a derived field's source (employees)."""
    rules = compiled({"derived": {"segment": {"from": "employees", "thresholds": [[2000, "MM"]], "above": "ENT"}},
                      "routing_rules": [{"name": "ent", "when": {"segment": "ENT"}, "then": {"exclude": {"reps": ["R1"]}}},
                                        {"name": "big", "when": "seats >= 100", "then": {"exclude": {"reps": ["R2"]}}}]})
    columns = {"employees": ["10"], "seats": ["3"]} | {field: [cell]}
    outcomes = []
    for check in (lambda t: evaluate(rules, t, leads_file="l"), lambda t: check_inputs(rules, t, leads_file="l")):
        try:
            check(LeadTable.of(columns))
            outcomes.append(None)
        except InputError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    # a derived field reads no-value words (n/a) as missing; a number test does not
    refused = cell in ("2,000", "lots") or (field == "seats" and cell == "n/a")
    assert (outcomes[0] is not None) == refused


def test_a_rep_excluded_from_one_industry_gets_every_other_beside_a_specialist() -> None:
    industries = ["Tech", "Retail", "Public Sector", "Finance", ""]
    out = run([{"then": {"admit": {"rep_attribute": "industries", "lead_field": "industry"}}},
               {"when": {"industry": "public sector"}, "then": {"exclude": {"reps": ["R4"]}}}],
              {"industry": industries})
    # R1 lists Tech and Retail; R2 lists nothing (open); R3 lists !Public Sector; R4 lists * and is excluded
    assert out.admit.astype(int).tolist() == [
        [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1]]


def test_a_lead_field_match_honours_star_refusals_empty_lists_and_blank_leads() -> None:
    out = run([{"then": {"admit": {"rep_attribute": "countries", "lead_field": "country"}}}],
              {"country": ["us", " DE", "FR", "JP", ""]})
    # R1 US;DE  R2 *  R3 !FR (open otherwise)  R4 empty (open)
    assert out.admit.astype(int).tolist() == [[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1], [0, 1, 1, 1], [0, 1, 1, 1]]


def test_team_admit_uses_members_and_member_filter() -> None:
    teams = [{"id": "gov", "member_filter": {"rep_attribute": "region", "in": ["gov"]}, "capacity": 5},
             {"id": "emea", "members": ["R4"], "member_filter": {"rep_attribute": "region", "in": ["EMEA"]}}]
    out = run([{"when": {"industry": "Public Sector"}, "then": {"admit": {"team": "gov"}}}],
              {"industry": ["public sector", "Tech"]}, teams=teams)
    assert out.admit.astype(int).tolist() == [[1, 0, 1, 0], [1, 1, 1, 1]]
    table = out.compiled.teams
    assert table.ids == ("gov", "emea")
    assert table.membership.astype(int).tolist() == [[1, 0, 1, 0], [0, 1, 0, 1]]
    assert table.capacity.tolist() == [5, -1] and table.disjoint_capped


def test_disjoint_capped_is_false_when_a_rep_is_in_two_capped_teams() -> None:
    teams = [{"id": "a", "members": ["R1", "R2"], "capacity": 3}, {"id": "b", "members": ["R2"], "capacity": 1}]
    assert not compiled({"teams": teams}).teams.disjoint_capped


def test_admits_of_one_group_or_and_a_lead_no_admit_matches_is_unrestricted() -> None:
    out = run([{"when": {"industry": "Tech"}, "then": {"admit": {"reps": ["R1"]}}},
               {"when": {"size": "big"}, "then": {"admit": {"reps": ["R2"]}}}],
              {"industry": ["Tech", "Tech", "Retail", "Retail"], "size": ["big", "", "big", ""]})
    assert out.admit.astype(int).tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 1]]


def test_admits_of_different_groups_and_two_required_skills_both_hold() -> None:
    out = run([{"then": {"admit": {"rep_attribute": "languages", "lead_field": "language"}}},
               {"then": {"admit": {"rep_attribute": "industries", "lead_field": "industry"}}}],
              {"language": ["en", "fr", "de"], "industry": ["Tech", "Tech", "Finance"]})
    # languages: R1 en;de R2 en R3 fr R4 en;fr ; industries: R1 Tech;Retail R2 open R3 !PS R4 *
    assert out.admit.astype(int).tolist() == [[1, 1, 0, 1], [0, 0, 1, 1], [0, 0, 0, 0]]


def test_an_explicit_group_joins_rules_and_final_makes_it_first_match() -> None:
    rules = [{"when": {"industry": "Public Sector"}, "then": {"admit": {"reps": ["R3"]}}, "final": True},
             {"when": {"size": "big"}, "then": {"admit": {"reps": ["R1"]}}, "final": True},
             {"then": {"admit": {"reps": ["R2", "R4"]}}}]  # everyone else: the general pool
    out = run(rules, {"industry": ["Public Sector", "Tech", "Tech"], "size": ["big", "big", ""]})
    assert out.admit.astype(int).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 1]]
    assert out.applies.astype(int).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    grouped = run([{"then": {"admit": {"reps": ["R1"]}}},
                   {"then": {"admit": {"rep_attribute": "seniority", "in": ["4"]}}, "group": "reps"}],
                  {"x": ["a"]})
    assert grouped.admit.astype(int).tolist() == [[1, 0, 1, 0]]  # one group: R1 or a senior


def test_exclusions_always_apply_over_any_admit() -> None:
    out = run([{"then": {"admit": {"reps": ["R1", "R2"]}}}, {"then": {"exclude": {"reps": ["R2"]}}},
               {"when": {"x": "a"}, "then": {"admit": {"reps": ["R2"]}}}], {"x": ["a", "b"]})
    assert out.admit.astype(int).tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]


def test_a_team_rule_touches_only_the_team() -> None:
    teams = [{"id": "t", "members": ["R1", "R2"], "rules": [
        {"name": "english", "then": {"admit": {"rep_attribute": "languages", "lead_field": "language"}}},
        {"name": "no R1 for x", "when": {"x": "a"}, "then": {"exclude": {"reps": ["R1", "R3"]}}}]}]
    out = run([], {"language": ["fr", "en"], "x": ["a", "b"]}, teams=teams)
    # in the team only R1/R2 are tested for the language; R3 and R4 are outside and untouched
    assert out.admit.astype(int).tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]


def test_soft_rules_discount_the_value_kept_where_they_are_broken() -> None:
    out = run([{"when": {"x": "a"}, "then": {"admit": {"reps": ["R1"]}}, "mode": "soft", "weight": 0.5},
               {"then": {"exclude": {"reps": ["R2"]}}, "mode": "soft", "weight": 0.2},
               {"then": {"prefer": {"rep_attribute": "seniority", "in": [3, 4]}}}],  # default weight 0.25
              {"x": ["a", "b"]})
    assert out.admit.all()
    assert out.penalty_factor is not None
    np.testing.assert_allclose(out.penalty_factor, [[1.0, 0.5 * 0.8 * 0.75, 0.5, 0.5 * 0.75],
                                                    [1.0, 0.8 * 0.75, 1.0, 0.75]])


def test_off_rules_do_nothing_and_no_broken_soft_rule_means_no_factor() -> None:
    out = run([{"then": {"admit": {"reps": ["R1"]}}, "mode": "off"},
               {"then": {"prefer": {"reps": REPS}}}], {"x": ["a"]})
    assert out.admit.all() and out.penalty_factor is None
    assert out.applies.tolist() == [[False], [True]]


def test_ranked_preferences_grade_the_penalty_by_tier() -> None:
    teams = [{"id": "t", "members": ["R2", "R3"]}]
    out = run([{"then": {"prefer": {"ranked": [{"reps": ["R1"]}, {"team": "t"}]}}, "weight": 0.4}],
              {"x": ["a"]}, teams=teams)
    assert out.penalty_factor is not None
    np.testing.assert_allclose(out.penalty_factor, [[1.0, 0.8, 0.8, 0.6]])
    assert out.trail(0) == (RuleEffect("rule 0", "prefer", "soft", 0.4, ("R1", "R2", "R3")),)


def test_a_member_who_prefers_a_domain_fills_its_capacity_from_it_first() -> None:
    """End to end through flow: R1 prefers fintech; fintech leads reach it before anyone else."""
    reps = [Rep(id="R1", capacity=2), Rep(id="R2", capacity=5), Rep(id="R3", capacity=5)]
    leads = [Lead(id=f"L{i}", value=100.0) for i in range(6)]
    domains = ["fintech", "fintech", "fintech", "retail", "retail", "retail"]
    rule_set = load_rule_set({"routing_rules": [
        {"name": "fintech first to R1", "when": {"domain": "fintech"},
         "then": {"prefer": {"ranked": [{"reps": ["R1"]}, {"reps": ["R2", "R3"]}]}}, "weight": 0.2}]})
    cols = {**lead_columns(leads), "domain": domains}
    out = evaluate(compile_rule_set(rule_set, [r.id for r in reps], rep_attributes(reps)), LeadTable.of(cols))
    problem = compile_problem(reps, leads, Policy(rules={"territory": "off", "segment": "off"}))
    problem = replace(problem, eligible=problem.eligible & out.admit, penalty_factor=out.penalty_factor)
    owner = solve(problem, "flow").owner
    assert sorted(np.flatnonzero(owner == 0).tolist()) in ([0, 1], [0, 2], [1, 2])  # R1's two seats: fintech


def test_unknown_fields_reps_and_attributes_are_errors_naming_the_rule() -> None:
    with pytest.raises(InputError, match=r"policy.yaml, field 'routing_rules\[0\].when': rule 'r': unknown lead field 'indsutry'"):
        evaluate(compiled({"routing_rules": [{"name": "r", "when": {"indsutry": "x"},
                                              "then": {"exclude": {"reps": ["R1"]}}}]}),
                 LeadTable.of({"industry": ["x"]}))
    with pytest.raises(InputError, match=r"rule 'rule 0': unknown lead field 'lang'"):
        run([{"then": {"admit": {"rep_attribute": "languages", "lead_field": "lang"}}}], {"x": ["a"]})
    with pytest.raises(InputError, match=r"derived 'seg': unknown lead field 'emps'"):
        run([], {"x": ["a"]}, derived={"seg": {"from": "emps", "thresholds": [[1, "A"]], "above": "B"}})
    with pytest.raises(InputError, match=r"rule 'r': no rep 'R9'"):
        compiled({"routing_rules": [{"name": "r", "then": {"exclude": {"reps": ["R9"]}}}]})
    with pytest.raises(InputError, match=r"team 't': no rep 'R9'"):
        compiled({"teams": [{"id": "t", "members": ["R9"]}]})
    with pytest.raises(InputError, match=r"rule 'r': the reps have no attribute 'langs'"):
        compiled({"routing_rules": [{"name": "r", "then": {"admit": {"rep_attribute": "langs", "in": ["en"]}}}]})


def test_the_trail_and_rule_masks_say_which_rule_did_what_for_one_lead() -> None:
    out = run([{"when": {"industry": "Public Sector"}, "then": {"admit": {"reps": ["R1", "R3"]}}},
               {"when": {"industry": "Public Sector"}, "then": {"exclude": {"reps": ["R3"]}}},
               {"then": {"admit": {"rep_attribute": "countries", "lead_field": "country"}}}],
              {"industry": ["Public Sector", "Tech"], "country": ["FR", "DE"]})
    assert out.trail(0) == (RuleEffect("rule 0", "admit", "hard", None, ("R1", "R3")),
                            RuleEffect("rule 1", "exclude", "hard", None, ("R3",)),
                            RuleEffect("rule 2", "admit", "hard", None, ("R2", "R4")))
    assert out.trail(1) == (RuleEffect("rule 2", "admit", "hard", None, ("R1", "R2", "R3", "R4")),)
    assert out.rule_mask(2).astype(int).tolist() == [[0, 1, 0, 1], [1, 1, 1, 1]]
    assert out.admit.astype(int).tolist() == [[0, 0, 0, 0], [1, 1, 1, 1]]


def test_rep_attributes_and_lead_columns_read_the_records() -> None:
    reps = [Rep(id="R1", capacity=3, industries=("Tech", "Retail"), skills={"Tech": 1.2}, seniority=2)]
    attrs = rep_attributes(reps, {"languages": ["en; de"]})
    assert (attrs["industries"], attrs["skills"], attrs["seniority"], attrs["available"], attrs["languages"]) == (
        [("Tech", "Retail")], [("Tech",)], [("2",)], [("true",)], [("en", "de")])
    cols = lead_columns([Lead(id="L1", value=2.5, industry=" Tech")], {"employees": [2000]})
    assert (cols["id"], cols["value"], cols["industry"], cols["created_at"], cols["employees"]) == (
        ["L1"], ["2.5"], ["Tech"], [""], [2000])  # extra columns pass through: LeadTable.of reads them
    assert LeadTable.of(cols).text["employees"].tolist() == ["2000"]
    assert list(lead_columns([Lead(id="L1", value=1)], names={"industry", "id"})) == ["id", "industry"]
    assert list(rep_attributes(reps, names={"seniority"})) == ["seniority"]


def test_given_numbers_are_used_as_they_are() -> None:
    table = LeadTable.of({"amount": ["ignored", "x"]}, numbers={"amount": np.array([5.0, np.nan])})
    out = evaluate(compiled({"routing_rules": [{"name": "r", "when": "amount > 1",
                                                "then": {"exclude": {"reps": ["R1"]}}}]}), table)
    assert out.admit[:, 0].tolist() == [False, True]


# --- the vectorized evaluation equals a plain per-lead reference --------------------------------

INDUSTRY = ["Tech", " tech", "PUBLIC sector", "Public Sector", "Retail", ""]
EMPLOYEES = ["", "150", "199", "200", "1999", "2000", "5000.5"]
COUNTRY = ["us", "DE ", "", "fr", "JP"]
RULE_POOL: list[dict[str, Any]] = [
    {"when": {"industry": ["Tech", "Retail"]}, "then": {"admit": {"reps": ["R1", "R2"]}}},
    {"when": {"segment": "ENT"}, "then": {"admit": {"team": "ent"}}},
    {"when": {"industry": "public sector"}, "then": {"exclude": {"reps": ["R4"]}}},
    {"then": {"admit": {"rep_attribute": "countries", "lead_field": "country"}}},
    {"when": {"employees": {"between": [200, 2000], "inclusive": "left"}}, "then": {"admit": {"reps": ["R3"]}}},
    {"when": {"country": {"not_in": ["US"]}}, "then": {"prefer": {"rep_attribute": "seniority", "in": ["3", "4"]}}},
    {"when": {"employees": {"absent": True}}, "then": {"exclude": {"team": "ent"}}},
    {"when": "employees > 1999", "then": {"prefer": {"ranked": [{"reps": ["R4"]}, {"team": "ent"}]}}},
    {"when": {"employees": {"not_in": [200, 2000]}}, "then": {"exclude": {"reps": ["R2"]}}},
    {"when": {"employees": [150, 5000.5], "country": {"case_sensitive": True, "equals": "us"}},
     "then": {"admit": {"rep_attribute": "seniority", "in": [1]}}},
    {"when": {"industry": {"not": "Retail"}, "country": {"present": True}},
     "then": {"admit": {"rep_attribute": "industries", "lead_field": "industry"}}},
]
DOC = {"teams": [{"id": "ent", "members": ["R1"], "member_filter": {"rep_attribute": "region", "in": ["emea"]}}],
       "derived": {"segment": {"from": "employees", "thresholds": [[200, "SMB"], [2000, "MM"]], "above": "ENT"}}}


def _num(text: str) -> float:
    return float(text) if text.strip() else math.nan


def _holds(c: Any, lead: dict[str, str]) -> bool:
    raw = lead[c.field]
    if c.numbers:
        x = _num(raw)
        if c.op.value in ("equals", "in"):
            return x in c.numbers
        if c.op.value in ("not_equals", "not_in"):
            return x not in c.numbers
        lo, lo_in, hi, hi_in = c.interval()
        return (lo < x or (lo_in and lo == x)) and (x < hi or (hi_in and x == hi))
    value = c.norm(raw)
    wanted = {c.norm(t) for t in c.texts}
    return {"equals": value in wanted, "in": value in wanted, "not_equals": value not in wanted,
            "not_in": value not in wanted, "present": value != "", "absent": value == ""}[c.op.value]


def _names(target: Any, lead: dict[str, str], rep: int) -> bool:
    if target.teams or target.reps:
        members = {"R1"} | {r for r in REPS if ATTRS["region"][REPS.index(r)].strip().lower() == "emea"}
        return REPS[rep] in set(target.reps) | (members if target.teams else set())
    lst = [x.strip().lower() for x in ATTRS[target.rep_attribute][rep].split(";") if x.strip()]
    if target.values:
        return bool({v.lower() for v in target.values} & set(lst)) or "*" in lst
    value = lead[target.lead_field].strip().lower()
    plain = [x for x in lst if x != "*" and not x.startswith("!")]
    if "!" + value in lst:
        return False
    return not plain or "*" in lst or value in plain


def reference(rule_set: Any, lead: dict[str, str], weight: float) -> tuple[list[bool], list[float]]:
    """One lead, rule by rule, rep by rep: the semantics as the module docstring states them."""
    admit, keep = [True] * len(REPS), [1.0] * len(REPS)
    groups: dict[str, list[bool] | None] = {}
    for r in rule_set.routing_rules:
        mode = r.effective_mode.value
        if mode == "off" or not all(_holds(c, lead) for c in r.when):
            continue
        w = weight if r.weight is None else r.weight
        target = r.then.target
        for j in range(len(REPS)):
            if r.then.kind == "admit" and mode == "hard":
                key = "reps" if target.rep_attribute is None else f"attribute:{target.rep_attribute}"
                allowed = groups.setdefault(key, [False] * len(REPS))
                assert allowed is not None
                allowed[j] = allowed[j] or _names(target, lead, j)
            elif r.then.kind == "exclude" and mode == "hard":
                admit[j] = admit[j] and not _names(target, lead, j)
            elif target.ranked:
                tier = next((k for k, t in enumerate(target.ranked) if _names(t, lead, j)), len(target.ranked))
                keep[j] *= 1 - w * tier / len(target.ranked)
            elif _names(target, lead, j) == (r.then.kind == "exclude"):
                keep[j] *= 1 - w
    for allowed in groups.values():
        assert allowed is not None
        admit = [a and b for a, b in zip(admit, allowed, strict=True)]
    return admit, keep


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(st.tuples(st.integers(0, len(RULE_POOL) - 1), st.sampled_from(["hard", "soft", "off"]),
                             st.sampled_from([None, 0.1, 0.5, 1.0])), max_size=6),
    rows=st.lists(st.tuples(st.sampled_from(INDUSTRY), st.sampled_from(EMPLOYEES), st.sampled_from(COUNTRY)),
                  min_size=1, max_size=12),
)
def test_vectorized_evaluation_equals_a_per_lead_reference(
        picks: list[tuple[int, str, float | None]], rows: list[tuple[str, str, str]]) -> None:
    rules = []
    for k, (pool, mode, weight) in enumerate(picks):
        r = RULE_POOL[pool]
        if "prefer" in r["then"] and mode == "hard":
            mode = "soft"
        rules.append({**r, "name": f"r{k}", "mode": mode, "weight": weight})
    rule_set = load_rule_set({**DOC, "routing_rules": rules})
    out = evaluate(compile_rule_set(rule_set, REPS, ATTRS), LeadTable.of(
        {"industry": [r[0] for r in rows], "employees": [r[1] for r in rows], "country": [r[2] for r in rows]}),
        default_weight=0.3)
    factor = np.ones((len(rows), len(REPS))) if out.penalty_factor is None else out.penalty_factor
    for i, (industry, employees, country) in enumerate(rows):
        x = _num(employees)
        segment = "" if math.isnan(x) else "SMB" if x < 200 else "MM" if x < 2000 else "ENT"
        lead = {"industry": industry, "employees": employees, "country": country, "segment": segment}
        admit, keep = reference(rule_set, lead, 0.3)
        assert out.admit[i].tolist() == admit, (i, lead)
        np.testing.assert_allclose(factor[i], keep, err_msg=str(lead))
