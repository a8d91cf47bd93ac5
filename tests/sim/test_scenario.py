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


def test_bad_rep_value_names_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "variants:\n  neg: {team.set.capacity: -1}\n")
    with pytest.raises(InputError) as err:
        team_reps(variant_of(load_scenario(path), "neg"))
    assert (err.value.row, err.value.field) == (1, "capacity")


def test_malformed_yaml_and_missing_reps(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="malformed YAML"):
        load_scenario(write(tmp_path, "team: [unclosed\n"))
    with pytest.raises(InputError, match=r"team\.reps is required"):
        load_scenario(write(tmp_path, "name: x\n"))


def test_expand_dotted_merges_nested_keys() -> None:
    assert expand_dotted({"a.b": 1, "a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
