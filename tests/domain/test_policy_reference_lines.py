"""Policy errors found over the whole file name its line (they named the file alone): a rule name
given twice, a team no team of the policy, a rep, lead field or rep attribute the data lacks; and
an owner's name two reps share is refused on leads as on accounts, fallback or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from solver.compile.rules import LeadTable, compile_rule_set, evaluate, lead_columns, rep_attributes
from solver.domain.errors import InputError
from solver.domain.io import load_leads, load_policy
from solver.domain.model import Rep
from solver.domain.policy_checks import check_policy_reps

TEAMS = """\
solver: flow
teams:
  - id: enterprise
    members: [R1]
  - id: smb
    members: [R2]
    rules:
      - name: smb first
        then: {prefer: {reps: [R2]}}
"""


def policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> InputError:
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert err.value.file == str(path)
    return err.value


@pytest.mark.parametrize(("tail", "row", "field", "words"), [
    # the second of the two: the first may be far above, the repeat is what was just added
    ("routing_rules:\n  - name: big\n    then: {exclude: {reps: [R1]}}\n"
     "  - then: {exclude: {reps: [R2]}}\n    when: {industry: Retail}\n    name: big\n",
     15, "routing_rules[1].name", "rule 'big': two rules share this name (the other at line 11)"),
    # a team rule and a later policy rule of one name: the later one, naming the other's line (QA:
    # it pointed at the team's rule, checked after the policy's, and named no other line)
    ("routing_rules:\n  - name: smb first\n    then: {exclude: {reps: [R1]}}\n",
     11, "routing_rules[0].name", "rule 'smb first': two rules share this name (the other at line 8)"),
    ("  - id: enterprise\n    members: [R2]\n", 10, "teams[2].id", "team 'enterprise' is defined twice"),
])
def test_a_name_given_twice_names_the_second(tmp_path: Path, tail: str, row: int, field: str,
                                              words: str) -> None:
    err = refused(policy(tmp_path, TEAMS + tail))
    assert (err.line, err.field) == (row, field)
    assert words in err.message


@pytest.mark.parametrize(("tail", "row", "field"), [
    ("routing_rules:\n  - name: big\n    when: {industry: Retail}\n    then:\n      admit:\n"
     "        teams:\n          - smb\n          - enterprse\n", 15, "routing_rules[0].then.admit.teams"),
    ("routing_rules:\n  - name: big\n    then:\n      prefer:\n        ranked:\n          - reps: [R1]\n"
     "          - team: enterprse\n", 16, "routing_rules[0].then.prefer.ranked[1].team"),
    ("fallback:\n  owner_inactive: normal\n  no_rule_match:\n    team: enterprse\n", 13,
     "fallback.no_rule_match.team"),
    ("caps:\n  teams:\n    smb: {per_day: 3}\n    enterprse: {per_day: 3}\n", 13, "caps.teams.enterprse"),
])
def test_an_unknown_team_names_its_line_and_the_closest_team(tmp_path: Path, tail: str, row: int,
                                                              field: str) -> None:
    """The field is the key as the file writes it (review: `teams:` was named `team`)."""
    err = refused(policy(tmp_path, TEAMS + tail))
    assert (err.line, err.field) == (row, field)
    assert "no team 'enterprse' in teams; did you mean 'enterprise'?" in err.message


def test_an_unknown_team_in_a_teams_rule_names_that_rule_in_json(tmp_path: Path) -> None:
    path = policy(tmp_path, '{"teams": [{"id": "enterprise", "members": ["R1"]},\n'
                            '  {"id": "smb", "members": ["R2"], "rules": [\n'
                            '    {"name": "a", "then": {"prefer": {"reps": ["R2"]}}},\n'
                            '    {"name": "b",\n'
                            '     "then": {"admit": {"team": "Enterprise "}}}]}]}\n', "policy.json")
    err = refused(path)
    assert (err.line, err.field) == (5, "teams[1].rules[1].then.admit.team")
    assert "did you mean 'enterprise'?" in err.message


def test_a_far_off_team_name_gets_no_guess(tmp_path: Path) -> None:
    err = refused(policy(tmp_path, TEAMS + "fallback:\n  no_rule_match: {team: government}\n"))
    assert err.line == 11
    assert err.message.endswith("no team 'government' in teams")


def test_a_derived_label_test_that_cannot_hold_names_the_rules_when(tmp_path: Path) -> None:
    err = refused(policy(tmp_path, TEAMS + "derived:\n  tier: {from: employees, thresholds: [[10, small]], "
                                           "above: big}\nrouting_rules:\n  - name: huge\n"
                                           "    when:\n      tier: huge\n    then: {admit: {team: smb}}\n"))
    assert (err.line, err.field) == (14, "routing_rules[0].when")
    assert "can never hold; the labels are small, big" in err.message


def test_an_experiment_challengers_error_names_its_line(tmp_path: Path) -> None:
    err = refused(policy(tmp_path, "solver: flow\nexperiment:\n  name: x\n  challenger:\n"
                                   "    seed: 3\n    solver: nope\n"))
    assert (err.line, err.field) == (6, "experiment.challenger.solver")


REPS = [Rep(id="R1", name="Ana Silva", capacity=3), Rep(id="R2", name="Ana Silva", capacity=3),
        Rep(id="R3", name="Marcus Reyes", capacity=3, attributes={"languages": "de"})]


@pytest.mark.parametrize(("tail", "row", "field", "words"), [
    ("fallback:\n  no_rule_match:\n    rep: R9\n", 12, "fallback.no_rule_match.rep", "'R9' names no rep"),
    ("caps:\n  reps:\n    R1: {per_day: 1}\n    r3: {per_day: 1}\n", 13, "caps.reps.r3", "did you mean 'R3'?"),
    ("routing_rules:\n  - name: big\n    then:\n      prefer:\n        ranked:\n          - reps: [R1]\n"
     "          - reps:\n              - R2\n              - R7\n", 16, "routing_rules[0].then.prefer.ranked[1].reps", "'R7' names no rep"),
    ("routing_rules:\n  - name: one\n    then:\n      admit:\n        rep: R8\n", 14,
     "routing_rules[0].then.admit.rep", "'R8' names no rep"),
])
def test_a_rep_the_reps_lack_names_its_line(tmp_path: Path, tail: str, row: int, field: str,
                                            words: str) -> None:
    """The field is the key as the file writes it (review: `reps:` was named `rep`)."""
    path = policy(tmp_path, TEAMS + tail)
    with pytest.raises(InputError) as err:
        check_policy_reps(load_policy(path), REPS, policy_file=str(path))
    assert (err.value.file, err.value.line, err.value.field) == (str(path), row, field)
    assert words in err.value.message


@pytest.mark.parametrize(("tail", "row", "field", "words"), [
    ("routing_rules:\n  - name: big\n    when:\n      - industry: Retail\n      - employes >= 9\n"
     "    then: {admit: {team: smb}}\n", 12, "routing_rules[0].when", "unknown lead field 'employes'"),
    ("derived:\n  tier:\n    from: employes\n    thresholds: [[10, small]]\n    above: big\n", 12,
     "derived.tier.from", "did you mean 'employees'?"),
    ("routing_rules:\n  - name: de\n    then:\n      admit:\n        rep_attribute: language\n"
     "        in: [de]\n", 14, "routing_rules[0].then.admit.rep_attribute", "did you mean 'languages'?"),
    ("routing_rules:\n  - name: two\n    then:\n      admit:\n        reps: [R1, R9]\n", 14,
     "routing_rules[0].then.admit.reps", "no rep 'R9' in the reps"),
])
def test_a_field_or_attribute_the_data_lacks_names_its_line(tmp_path: Path, tail: str, row: int,
                                                            field: str, words: str) -> None:
    path = policy(tmp_path, TEAMS + tail)
    rule_set = load_policy(path).rule_set
    with pytest.raises(InputError) as err:
        compiled = compile_rule_set(rule_set, [r.id for r in REPS],
                                    rep_attributes(REPS, {"languages": ["", "", "de"]}), file=str(path))
        evaluate(compiled, LeadTable.of(lead_columns([], {"employees": []})), default_weight=0.25)
    assert (err.value.line, err.value.field) == (row, field)
    assert words in err.value.message


@pytest.mark.parametrize("fallback", ["", "fallback: {owner_inactive: {queue: review}, queues: [review]}\n"])
def test_a_lead_owners_name_two_reps_share_is_refused_fallback_or_not(tmp_path: Path, fallback: str) -> None:
    # with fallback.owner_inactive the lead was read as a departed owner's and sent to the
    # fallback, though both reps of that name are there
    leads = tmp_path / "leads.csv"
    leads.write_text("id,value,owner_id\nL1,5,marcus reyes\nL2,5,Ana Silva\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_leads(leads, REPS, policy=load_policy(policy(tmp_path, "solver: flow\n" + fallback)))
    assert (err.value.file, err.value.row, err.value.field) == (str(leads), 2, "owner_id")
    assert err.value.message == "'Ana Silva' is the name of more than one rep (R1, R2): give the owner's rep id"


@pytest.mark.parametrize("fallback", ["", "fallback: {owner_inactive: {queue: review}, queues: [review]}\n"])
@pytest.mark.parametrize("owner", ["Ana  Silva", "ana\u00a0silva ", "ANA SILVA"])
def test_an_owners_name_matches_whatever_its_spaces_and_case(tmp_path: Path, fallback: str, owner: str) -> None:
    """QA: "Ana  Silva" (two spaces) got past the shared-name check: the message showed one space,
    and with fallback.owner_inactive the lead was read as a departed owner's."""
    leads = tmp_path / "leads.csv"
    leads.write_text(f"id,value,owner_id\nL1,5,{owner}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_leads(leads, REPS, policy=load_policy(policy(tmp_path, "solver: flow\n" + fallback)))
    assert (err.value.row, err.value.field) == (1, "owner_id")
    assert f"{owner.strip()!r} is the name of more than one rep (R1, R2)" in str(err.value)


def test_one_reps_name_typed_with_other_spaces_is_that_rep(tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("id,value,owner_id\nL1,5,marcus   REYES\n", encoding="utf-8")
    (lead,) = load_leads(leads, REPS)
    assert lead.owner_id == "R3"


def test_a_name_as_one_rep_writes_it_is_that_rep_though_another_differs_only_in_its_form(tmp_path: Path) -> None:
    """Review: reps named "Ｃａｒｌ Ｏ" (full-width) and "Carl O" are two reps; an owner "Carl O" was
    the second before names matched under compatibility forms, then refused as both reps' name.
    A name no rep writes so falls back to the compared form, and is refused only if that is shared."""
    reps = [*REPS, Rep(id="R4", name="Ｃａｒｌ Ｏ", capacity=3), Rep(id="R5", name="Carl O", capacity=3)]
    leads = tmp_path / "leads.csv"
    leads.write_text("id,value,owner_id\nL1,5,Carl O\nL2,5,Ｃａｒｌ Ｏ\n", encoding="utf-8")
    assert [lead.owner_id for lead in load_leads(leads, reps)] == ["R5", "R4"]
    leads.write_text("id,value,owner_id\nL1,5,carl  o\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'carl  o' is the name of more than one rep \(R4, R5\)"):
        load_leads(leads, reps)
