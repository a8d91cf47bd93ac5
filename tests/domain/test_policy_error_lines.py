"""A policy error inside a list item names the item's line, or its key's, not the list's header
(`mode: sfot` in the ninth rule said "row 1, field 'routing_rules'" for a rule on line 9)."""

from __future__ import annotations

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


@pytest.mark.parametrize(("bad", "row", "words"), [
    ("    mode: sfot", 10, "mode:"),                     # the key the message names
    ("    fnal: true", 10, "fnal:"),                     # an unknown key
    ("    weight: 2", 10, "weight:"),
    ("  - name: third\n    then: {exlude: {reps: [r1]}}", 10, "then needs"),  # the rule's own line
])
def test_an_error_in_a_rule_names_its_line(tmp_path: Path, bad: str, row: int, words: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(RULES.replace("{bad}", bad), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert words in err.value.message
    assert err.value.row == row


def test_a_fallbacks_error_names_the_fallbacks_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("solver: flow\nfallback:\n  queues: [review]\n  no_rule_match: {queue: reveiw}\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"not listed in fallback\.queues") as err:
        load_policy(path)
    assert (err.value.row, err.value.field) == (4, "fallback")


def test_an_error_in_a_teams_rule_names_that_rule(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"teams": [{"id": "t", "members": ["r1"],\n'
                    '  "rules": [{"name": "a", "then": {"prefer": {"reps": ["r1"]}}},\n'
                    '            {"name": "b", "then": {"prefer": {"reps": ["r1"]}},\n'
                    '             "mode": "sfot"}]}]}\n', encoding="utf-8")
    with pytest.raises(InputError, match="mode:") as err:
        load_policy(path)
    assert err.value.row == 4
