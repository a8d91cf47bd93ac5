"""Scenario loader: bad inputs name file and field; variants merge and validate like the base."""

from __future__ import annotations

from pathlib import Path

import pytest

from solver.domain.errors import InputError
from solver.sim.scenario import expand_dotted, load_scenario, variant_of
from solver.sim.stream import team_reps

BASE = """
name: tiny
team:
  reps: [{id: a, capacity: 5, segments: [SMB]}, {id: b, capacity: 5, segments: [ENT]}]
  quota: 1000
  quota_by_segment: {ENT: 3000}
policies: [round_robin, flow]
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_base_and_variants_load(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "variants:\n  cap 9: {team.set.capacity: 9}\n")
    base = load_scenario(path)
    assert base.baseline_policy == "round_robin"
    reps = team_reps(variant_of(base, "cap 9"))
    assert [r.capacity for r in reps] == [9, 9]
    assert [r.capacity for r in team_reps(base)] == [5, 5]


def test_quota_by_segment_sets_fair_share(tmp_path: Path) -> None:
    reps = team_reps(load_scenario(write(tmp_path, BASE)))
    # quotas 1000 and 3000: weights are quota / mean quota
    assert [r.quota_weight for r in reps] == pytest.approx([0.5, 1.5])


def test_reps_file_relative_to_scenario(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reps.csv").write_text("id,capacity\nx,3\n")
    path = write(tmp_path, "team: {reps: data/reps.csv}\n")
    assert [r.id for r in team_reps(load_scenario(path))] == ["x"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("stream: {urgent_share: 1.5}\n", "stream.urgent_share"),  # a share above 1
        ("stream: {weekday_weights: [1, 1]}\n", "stream.weekday_weights"),  # not 7 days
        ("stream: {timezone: Mars/Base}\n", "stream.timezone"),  # unknown zone
        ("stream: {segment: {XL: 1}}\n", "stream.segment"),  # unknown segment
        ("horizon_days: -3\n", "horizon_days"),  # negative horizon
        ("seeds: 0\n", "seeds"),  # no seeds
        ("response: {half_life: 3}\n", "response.half_life"),  # misspelt key
        ("start: 2024-03-04T00:00:00\n", "start"),  # naive start time
        ("start: 2024-13-04T00:00:00+00:00\n", "start"),  # no such month: YAML's error named no key
        ("references: [least_loadd]\n", "references"),  # a misspelt reference was dropped silently
    ],
)
def test_bad_fields_name_the_field(tmp_path: Path, extra: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(write(tmp_path, BASE + extra))
    assert err.value.field == field
    assert err.value.file == str(tmp_path / "s.yaml")


def test_unknown_policy_and_baseline(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown policy 'magic'"):
        load_scenario(write(tmp_path, BASE.replace("[round_robin, flow]", "[magic]")))
    with pytest.raises(InputError, match="baseline 'greedy'"):
        load_scenario(write(tmp_path, BASE + "baseline: greedy\n"))


def test_bad_variant_is_reported_at_load_naming_the_variant(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "variants:\n  oops: {stream.urgent_share: 2}\n")
    with pytest.raises(InputError, match="variant 'oops'") as err:
        load_scenario(path)
    assert err.value.field == "stream.urgent_share"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        ("{team.set.capacity: -5}", "team.set.capacity", "greater than or equal to 0"),  # bad value
        ("{team.set.colour: red}", "team.set.colour", "unknown key"),  # no such rep field
        ("{team.add_reps: [{id: c, capacity: ten}]}", "team.add_reps[0].capacity", "integer"),
        ("{team.add_reps: [{id: c, capacity: 1}, {id: d, capacity: 1, timezone: Mars/Base}]}", "team.add_reps[1].timezone", "Mars"),
        # the duplicate is the variant's, not the base team's (named as where the id was first)
        ("{team.add_reps: [{id: b, capacity: 1}]}", "team.add_reps[0].id", r"'b' is already in the team \(.*s.yaml: team.reps, row 2\)"),
        ("{team.remove_reps: [a, ZZ9]}", "team.remove_reps[1]", "unknown rep 'ZZ9'"),
        ("{team.quotas: {ZZ9: 10}}", "team.quotas.ZZ9", "unknown rep 'ZZ9'"),
    ],
)
def test_bad_team_edit_in_a_variant_is_reported_at_load(tmp_path: Path, edit: str, field: str,
                                                         message: str) -> None:
    """load_scenario alone raises (nothing simulated), naming the scenario file, the variant and the key."""
    path = write(tmp_path, BASE + f"variants:\n  +1 rep: {edit}\n")
    with pytest.raises(InputError, match=message) as err:
        load_scenario(path)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), None, field)
    assert err.value.message.startswith("variant '+1 rep': ")


def test_added_rep_duplicating_the_reps_file_blames_the_variant(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text("id,capacity\nA1,3\nA2,3\n")
    path = write(tmp_path, "team: {reps: reps.csv}\nvariants:\n  more: {team.add_reps: [{id: A2, capacity: 1}]}\n")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert str(err.value) == (f"{path}, field 'team.add_reps[0].id': variant 'more': rep id 'A2' is "
                              f"already in the team ({tmp_path / 'reps.csv'}, row 2)")


def test_bad_team_edit_in_the_base_names_the_file_without_a_variant(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("quota: 1000", "quota: 1000\n  set: {capacity: -1}"))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert (err.value.file, err.value.field) == (str(path), "team.set.capacity")
    assert not err.value.message.startswith("variant")


def test_malformed_yaml_and_missing_reps(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="malformed YAML"):
        load_scenario(write(tmp_path, "team: [unclosed\n"))
    with pytest.raises(InputError, match=r"team\.reps is required"):
        load_scenario(write(tmp_path, "name: x\n"))


def test_expand_dotted_merges_nested_keys() -> None:
    assert expand_dotted({"a.b": 1, "a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}


def test_an_inline_rep_error_names_the_scenario_file_not_its_name(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("{id: b, capacity: 5", "{id: b, capacity: -5"))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}: team.reps, row 2, field 'capacity'")


POLICY = """policy:
  teams:
    - id: emea
      members: [a]
  routing_rules:
    - name: r1
      when: {territory: EMEA}
      then: {admit: {team: emea}}
"""


def test_a_policy_naming_no_rep_of_the_team_is_refused_at_load_naming_the_line(tmp_path: Path) -> None:
    """QA: `simulate` said "policy, field 'reps': team 'emea': no rep 'EMEA-99' in the reps", with
    no file and no line, once the progress bar had started."""
    path = write(tmp_path, BASE + POLICY.replace("members: [a]", "members: [EMEA-99]"))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 11, "policy.teams[0].members")
    assert "'EMEA-99' names no rep" in err.value.message


def test_a_rep_a_variant_removes_is_refused_where_the_policy_names_it(tmp_path: Path) -> None:
    """Review: the message said 'names no rep in the reps file', though the reps file has it."""
    path = write(tmp_path, BASE + POLICY + "variants:\n  smaller: {team.remove_reps: [a]}\n")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert (err.value.line, err.value.field) == (11, "policy.teams[0].members")
    assert err.value.message == "variant 'smaller': 'a' names a rep that team.remove_reps[0] takes out of the team"


@pytest.mark.parametrize("variant", [
    "  more caps:\n    policy.caps.reps: {NOPE-1: {per_day: 3}}\n",  # a dotted key
    "  more caps:\n    policy:\n      caps:\n        reps:\n          NOPE-1: {per_day: 3}\n",
])
def test_a_rep_a_variant_names_and_the_team_lacks_names_the_variants_line(tmp_path: Path, variant: str) -> None:
    """Review: the line was the base's `policy:` key, the variant's data placed as the base's."""
    text = BASE + POLICY + "variants:\n" + variant
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert (err.value.line, err.value.field) == (text.count("\n"), "policy.caps.reps.NOPE-1")
    assert err.value.message.startswith("variant 'more caps': 'NOPE-1' names no rep in the reps file")


def test_a_variants_rule_naming_no_rep_names_the_key_as_the_variant_writes_it(tmp_path: Path) -> None:
    """Review: the field was `...admit.rep`, a key the file does not have."""
    text = BASE + POLICY + ("variants:\n  other:\n    policy.routing_rules:\n      - name: r2\n"
                            "        then:\n          admit:\n            reps: [a, zz]\n")
    path = write(tmp_path, text)
    with pytest.raises(InputError, match="variant 'other': 'zz' names no rep") as err:
        load_scenario(path)
    assert (err.value.line, err.value.field) == (text.count("\n"), "policy.routing_rules[0].then.admit.reps")


def test_a_rule_name_given_twice_in_a_scenario_names_both_lines(tmp_path: Path) -> None:
    """QA: the scenario's file was named but no line."""
    path = write(tmp_path, BASE + POLICY + "    - name: r1\n      then: {admit: {team: emea}}\n")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert (err.value.line, err.value.field) == (16, "policy.routing_rules[1].name")
    assert str(err.value).endswith("rule 'r1': two rules share this name (the other at line 13)")


def test_an_error_a_variant_makes_names_the_variants_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + POLICY + "variants:\n  other:\n    policy.fallback:\n"
                                            "      no_rule_match: {queue: review}\n")
    with pytest.raises(InputError, match="variant 'other': no_rule_match: queue 'review'") as err:
        load_scenario(path)
    assert (err.value.line, err.value.field) == (19, "policy.fallback.no_rule_match.queue")
