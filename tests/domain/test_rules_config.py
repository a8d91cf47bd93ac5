"""The routing-rule language as written in a policy file: compact forms, defaults, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from solver.domain.errors import InputError
from solver.domain.model import RuleMode
from solver.domain.rules import Condition, Op, RoutingRule, load_rule_set

BRIEF_EXAMPLE = """
teams:
  - id: enterprise
    members: [R1, R2]
    capacity: 40
  - id: government
    member_filter: {rep_attribute: region, in: [GOV]}
derived:
  segment: {from: employees, thresholds: [[200, SMB], [2000, MM]], above: ENT}
routing_rules:
  - name: public sector to gov team
    when: {industry: {in: [Public Sector, Government]}}
    then: {admit: {team: government}}
    mode: hard
  - name: no public sector for R7
    when: {industry: Public Sector}
    then: {exclude: {reps: [R7]}}
  - name: country match
    then: {admit: {rep_attribute: countries, lead_field: country}}
  - name: big deals prefer seniors
    when: {amount: {ge: 50000}}
    then: {prefer: {rep_attribute: seniority, in: ["3", "4"]}}
    mode: soft
    weight: 0.3
"""


def rule(when: Any = None, then: Any = None, **more: Any) -> dict[str, Any]:
    return {"name": "r", "when": when, "then": then or {"admit": {"reps": ["R1"]}}, **more}


def conditions(when: Any) -> list[tuple[str, str, tuple[Any, ...]]]:
    parsed = RoutingRule.model_validate(rule(when))
    return [(c.field, c.op.value, c.texts or c.numbers) for c in parsed.when]


def test_the_example_of_the_issue_loads_with_its_stated_meaning() -> None:
    rules = load_rule_set(yaml.safe_load(BRIEF_EXAMPLE), file="policy.yaml")
    assert [t.id for t in rules.teams] == ["enterprise", "government"]
    assert rules.teams[0].capacity == 40 and rules.teams[1].capacity is None
    assert rules.derived["segment"].labels == ("SMB", "MM", "ENT")
    gov, r7, country, seniors = rules.routing_rules
    assert (gov.then.kind, gov.then.target.teams, gov.effective_mode) == ("admit", ("government",), RuleMode.HARD)
    assert (r7.then.kind, r7.then.target.reps, r7.effective_mode) == ("exclude", ("R7",), RuleMode.HARD)
    assert country.when == () and country.then.target.lead_field == "country"
    assert seniors.then.target.values == ("3", "4") and seniors.weight == 0.3


@pytest.mark.parametrize(("when", "expected"), [
    ({"industry": "Tech"}, [("industry", "equals", ("Tech",))]),
    ({"industry": ["Tech", "Retail"]}, [("industry", "in", ("Tech", "Retail"))]),
    ({"probability": 20}, [("probability", "equals", (20.0,))]),
    ({"seniority": [3, 4]}, [("seniority", "in", (3.0, 4.0))]),
    ({"zip": [94105, "SW1A"]}, [("zip", "in", ("94105", "SW1A"))]),  # mixed: compared as text
    ({"employees": ">= 2000"}, [("employees", "ge", (2000.0,))]),
    ({"employees": {"ge": 200, "lt": 2000}}, [("employees", "ge", (200.0,)), ("employees", "lt", (2000.0,))]),
    ({"amount": {"between": [10, 20]}}, [("amount", "between", (10.0, 20.0))]),
    ({"industry": {"not": "Public Sector"}}, [("industry", "not_equals", ("Public Sector",))]),
    ({"industry": {"not": ["A", "B"]}}, [("industry", "not_in", ("A", "B"))]),
    ({"industry": {"ne": "A"}}, [("industry", "not_equals", ("A",))]),
    ({"email": {"present": True}}, [("email", "present", ())]),
    ({"email": {"present": False}}, [("email", "absent", ())]),
    ({"email": {"absent": False}}, [("email", "present", ())]),
    ("employees >= 2000", [("employees", "ge", (2000.0,))]),
    ("country = US", [("country", "equals", ("US",))]),
    ("country != US", [("country", "not_equals", ("US",))]),
    ("probability < 20.5", [("probability", "lt", (20.5,))]),
    ("email is present", [("email", "present", ())]),
    ("email absent", [("email", "absent", ())]),
    (["employees > 10", {"industry": "Tech"}], [("employees", "gt", (10.0,)), ("industry", "equals", ("Tech",))]),
    ([{"field": "industry", "op": "in", "value": ["A"]}], [("industry", "in", ("A",))]),
    (None, []),
])
def test_compact_when_forms_read_as_canonical_conditions(when: Any, expected: list[Any]) -> None:
    assert conditions(when) == expected


def test_options_ride_along_with_the_operators_of_a_field() -> None:
    (c,) = RoutingRule.model_validate(rule({"code": {"equals": "Ab ", "case_sensitive": True, "trim": False}})).when
    assert (c.case_sensitive, c.trim, c.norm(" Ab ")) == (True, False, " Ab ")
    (between,) = RoutingRule.model_validate(rule({"x": {"between": [1, 2], "inclusive": "left"}})).when
    assert between.interval() == (1.0, True, 2.0, False)
    plain = Condition(field="x", op=Op.EQUALS, texts=("A",))
    assert (plain.case_sensitive, plain.trim, plain.norm("  TeCh ")) == (False, True, "tech")


def test_mode_defaults_hard_for_admit_and_exclude_soft_for_prefer() -> None:
    admit = RoutingRule.model_validate(rule())
    prefer = RoutingRule.model_validate(rule(then={"prefer": {"team": "t"}}))
    off = RoutingRule.model_validate(rule(mode="off"))
    assert (admit.effective_mode, prefer.effective_mode, off.effective_mode) == (
        RuleMode.HARD, RuleMode.SOFT, RuleMode.OFF)


def test_targets_accept_singular_sugar_and_ranked_tiers() -> None:
    r = RoutingRule.model_validate(rule(then={"prefer": {"ranked": [{"rep": "R1"}, {"team": "t"},
                                                                    {"rep_attribute": "lvl", "equals": 3}]}}))
    tiers = r.then.target.ranked
    assert (tiers[0].reps, tiers[1].teams, tiers[2].values) == (("R1",), ("t",), ("3",))


# Each bad rule: (rule, the field the message must name, words it must contain).
BAD_RULES = [
    (rule({"industry": {"inn": ["A"]}}), "industry", "unknown operator 'inn'"),
    (rule({"employees": {"ge": "abc"}}), "employees", "ge needs a number, got 'abc'"),
    (rule({"employees": {"between": [1]}}), "employees", "between needs [low, high]"),
    (rule({"industry": {"in": []}}), "industry", "non-empty set"),
    (rule({"industry": {"equals": ["A", "B"]}}), "industry", "use in for a set"),
    (rule({"industry": {"in": [{"a": 1}]}}), "industry", "compares with text or numbers"),
    (rule({"industry": None}), "industry", "no test given"),
    (rule({"industry": {"case_sensitive": True}}), "industry", "no operator given"),
    (rule({"email": {"present": "yes"}}), "email", "takes true or false"),
    (rule({"employees": {"gt": 10, "lt": 5}}), "employees", "can never hold"),
    (rule({"employees": {"between": [10, 5]}}), "employees", "can never hold"),
    (rule({"employees": {"between": [5, 5], "inclusive": "left"}}), "employees", "can never hold"),
    (rule({"employees": {"in": [1, 2], "gt": 5}}), "employees", "can never hold"),
    (rule({"industry": {"in": ["A", "B"], "not_in": ["a", "b"]}}), "industry", "can never hold"),
    (rule([{"industry": "A"}, {"industry": "B"}]), "industry", "can never hold"),
    (rule({"email": {"present": True, "absent": True}}), "email", "can never hold"),
    (rule("employees >> 3"), "employees", "'>>' is no operator"),
    (rule("employees => 1000"), "employees", "'=>' is no operator"),  # was 'equals > 1000': matched none
    (rule({"employees": "=< 1000"}), "employees", "'=<' is no operator"),
    (rule("employees > abc"), "employees", "needs a number"),
    (rule(42), None, "cannot read condition"),
    (rule(then={"admit": {"reps": ["R1"]}, "exclude": {"reps": ["R2"]}}), None, "exactly one of admit"),
    (rule(then={"admit": {"rep_attribute": "countries"}}), "then.target", "needs either in"),
    (rule(then={"admit": {"lead_field": "country"}}), "then.target", "need a rep_attribute"),
    (rule(then={"admit": {"reps": ["R1"], "rep_attribute": "x", "in": ["a"]}}), "then.target", "one of them"),
    (rule(then={"admit": {"ranked": [{"reps": ["R1"]}]}}), None, "ranked tiers are for prefer"),
    (rule(then={"prefer": {"reps": ["R1"]}}, mode="hard"), None, "prefer is soft"),
    (rule(mode="hardd"), "mode", "'hard', 'soft' or 'off'"),
    (rule(weight=2), "weight", "less than or equal to 1"),
    (rule(weight=0), "weight", "greater than 0"),
    (rule(colour="red"), "colour", "Extra inputs"),
]


@pytest.mark.parametrize(("bad", "field", "words"), BAD_RULES)
def test_a_bad_rule_is_an_error_naming_the_file_the_rule_and_the_field(
        bad: dict[str, Any], field: str | None, words: str) -> None:
    bad = {**bad, "name": "route big ones"}
    with pytest.raises(InputError) as err:
        load_rule_set({"routing_rules": [bad]}, file="policy.yaml")
    text = str(err.value)
    assert text.startswith("policy.yaml, field 'routing_rules[0]")
    assert "rule 'route big ones'" in text
    assert words in text
    if field is not None:
        assert f"{field}" in text.split("rule 'route big ones'")[1]


@pytest.mark.parametrize(("doc", "words"), [
    ({"routing_rules": [rule(then={"admit": {"team": "nope"}})]}, "rule 'r': field 'team': no team 'nope'"),
    ({"routing_rules": [rule(then={"prefer": {"ranked": [{"team": "nope"}]}})]}, "no team 'nope'"),
    ({"routing_rules": [rule(), rule()]}, "rule 'r': two rules share this name"),
    ({"teams": [{"id": "t", "members": ["R1"]}, {"id": "t", "members": ["R2"]}]}, "team 't' is defined twice"),
    ({"teams": [{"id": "t"}]}, "team 't': give members or a member_filter"),
    ({"teams": [{"id": "t", "member_filter": {"reps": ["R1"]}}]}, "member_filter needs rep_attribute"),
    ({"teams": [{"id": "t", "members": ["R1"], "capacity": -1}]}, "greater than or equal to 0"),
    ({"derived": {"seg": {"from": "employees", "thresholds": [[2000, "MM"], [200, "SMB"]], "above": "ENT"}}},
     "strictly increasing"),
    ({"derived": {"seg": {"from": "employees", "thresholds": [], "above": "ENT"}}}, "strictly increasing"),
    ({"derived": {"seg": {"from": "employees", "thresholds": [[1, "A"]], "above": "B"}},
      "routing_rules": [rule({"seg": {"ge": 3}})]}, "rule 'r': field 'seg': a derived label is text"),
    ({"derived": {"seg": {"from": "employees", "thresholds": [[1, "A"]], "above": "B"}},
      "routing_rules": [rule({"seg": "XL"})]}, "rule 'r': field 'seg': can never hold; the labels are A, B"),
    ({"routing_rule": []}, "unknown key"),
])
def test_rule_set_cross_checks_name_the_rule_or_team(doc: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError) as err:
        load_rule_set(doc, file="policy.yaml")
    assert err.value.file == "policy.yaml"
    assert words in str(err.value)


def test_derived_labels_are_checked_case_insensitively_and_team_rules_are_scoped() -> None:
    rules = load_rule_set({
        "derived": {"seg": {"from": "employees", "thresholds": [[1, "A"]], "above": "B"}},
        "teams": [{"id": "t", "members": ["R1"], "rules": [rule({"seg": " b "})]}],
        "routing_rules": [{**rule(), "name": "global"}],
    })
    assert [(r.name, team) for r, team in rules.scoped_rules()] == [("global", None), ("r", "t")]
