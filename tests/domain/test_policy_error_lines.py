"""A policy error inside a list item names the item's line, or its key's, not the list's header
(`mode: sfot` in the ninth rule said "row 1, field 'routing_rules'" for a rule on line 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solver.domain.errors import InputError
from solver.domain.io import load_policy

RULES = """\
solver: flow
routing_rules:
  - name: first
    when: {industry: Healthcare}
    then: {exclude: {reps: [r1]}}
  - name: second
    # a comment line
    when: "value >= 100"
    then: {exclude: {reps: [r2]}}
{bad}
"""


@pytest.mark.parametrize(("bad", "line", "field", "words"), [
    ("    mode: sfot", 10, "routing_rules[1].mode", "mode:"),                     # the key the message names
    ("    fnal: true", 10, "routing_rules[1].fnal", "fnal:"),                     # an unknown key
    ("    weight: 2", 10, "routing_rules[1].weight", "weight:"),
    ("  - name: third\n    then: {exlude: {reps: [r1]}}", 10, "routing_rules[2]", "then needs"),  # the rule's own line
])
def test_an_error_in_a_rule_names_its_line(tmp_path: Path, bad: str, line: int, field: str, words: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(RULES.replace("{bad}", bad), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert words in err.value.message
    assert (err.value.row, err.value.line, err.value.field) == (None, line, field)
    assert f"policy.yaml, line {line}, field" in str(err.value)


def test_a_fallbacks_error_names_the_fallbacks_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("solver: flow\nfallback:\n  queues: [review]\n  no_rule_match: {queue: reveiw}\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"not listed in fallback\.queues") as err:
        load_policy(path)
    assert (err.value.line, err.value.field) == (4, "fallback.no_rule_match.queue")


def test_an_error_in_a_teams_rule_names_that_rule(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"teams": [{"id": "t", "members": ["r1"],\n'
                    '  "rules": [{"name": "a", "then": {"prefer": {"reps": ["r1"]}}},\n'
                    '            {"name": "b", "then": {"prefer": {"reps": ["r1"]}},\n'
                    '             "mode": "sfot"}]}]}\n', encoding="utf-8")
    with pytest.raises(InputError, match="mode:") as err:
        load_policy(path)
    assert (err.value.line, err.value.field) == (4, "teams[0].rules[1].mode")


def test_conditions_that_can_never_hold_name_the_rules_when_line(tmp_path: Path) -> None:
    """QA: an impossible numeric bound pointed at the rule's name line, not its `when`."""
    path = tmp_path / "policy.yaml"
    path.write_text("routing_rules:\n  - name: odd\n    mode: hard\n    when:\n      - employees > 10\n"
                    "      - employees < 5\n    then: {exclude: {reps: [r1]}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="the numeric bounds leave no value") as err:
        load_policy(path)
    assert (err.value.line, err.value.field) == (4, "routing_rules[0].when")


@pytest.mark.parametrize(("data", "line", "field"), [
    ({"solver": "flow", "fairness": {"weight": -1}}, 4, "fairness.weight"),  # a field's own check
    ({"teams": [{"id": "emea", "members": ["r1"]}],  # a cross-check over the whole policy
      "routing_rules": [{"name": "b", "then": {"admit": {"team": "emae"}}}]}, 15, "routing_rules[0].then.admit.team"),
])
def test_a_json_policy_indented_with_tabs_names_its_line(tmp_path: Path, data: dict[str, object], line: int,
                                                         field: str) -> None:
    """Review: the line was found by reading the file as YAML, which refuses tabs, so a policy
    written by json.dumps(indent="\t") named no line at all."""
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data, indent="\t"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert (err.value.line, err.value.field) == (line, field)
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].strip().startswith(f'"{field.split(".")[-1]}"')
