"""The GAP file reader: both layouts, the profit transform, errors naming file and token."""

from __future__ import annotations

import numpy as np
import pytest

from solver.bench.gapfile import read_best_known, read_gap
from solver.domain.errors import InputError

# 2 agents, 3 jobs: cost rows per agent, then resource rows, then capacities.
TINY = "2 3\n 4 1 3\n 2 5 2\n 3 2 2\n 1 3 2\n 4 3\n"


@pytest.fixture
def tiny(tmp_path):
    """A single-problem file small enough to check by hand (min optimum 5: job 1 -> agent 0, jobs 0, 2 -> agent 1)."""
    path = tmp_path / "c0203"
    path.write_text(TINY)
    return path


def test_single_file_layout(tiny):
    (inst,) = read_gap(tiny)
    assert inst.sense == "min" and inst.kind == "c" and inst.name == "c0203"
    np.testing.assert_array_equal(inst.cost, [[4, 2], [1, 5], [3, 2]])  # job-major
    np.testing.assert_array_equal(inst.weight, [[3, 1], [2, 3], [2, 2]])
    np.testing.assert_array_equal(inst.capacity, [4, 3])
    # profit = (max cost + 1) - cost, so maximising profit minimises cost.
    np.testing.assert_array_equal(inst.problem.profit, 6 - inst.cost)
    owner = np.array([1, 0, 0])
    assert inst.value(owner) == 2 + 1 + 3
    assert inst.value_of_profit(inst.problem.total_profit(owner)) == 6


def test_multi_problem_file(tmp_path):
    path = tmp_path / "gap99.txt"
    path.write_text("2\n" + TINY + TINY)
    instances = read_gap(path)
    assert [i.name for i in instances] == ["gap99-1", "gap99-2"]
    assert all(i.sense == "max" for i in instances)  # gapN.txt are maximisation problems
    np.testing.assert_array_equal(instances[1].problem.profit, instances[1].cost)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("2 3 4 1 3", "cost matrix"),  # file ends early
        ("2 3\n 4 1 x 2 5 2 3 2 2 1 3 2 4 3", "token"),  # not an integer
        (TINY + " 7", "trailing data"),  # one integer too many: read as P=2 problems, ends early
        ("1\n2 3\n 4 1 3 2 5 2 3 2 -2 1 3 2 4 3", "resource matrix"),  # negative resource
        ("1\n2 3\n 4 1 3 2 5 2 3 2 2 1 3 2 4 -3", "capacity"),  # negative capacity
    ],
)
def test_malformed_files_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_gap(path)
    assert info.value.file == str(path)
    assert info.value.row is not None


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_gap(tmp_path / "nope")


def test_best_known_table(tmp_path):
    path = tmp_path / "bk.csv"
    path.write_text("file,problem_index,instance,m,n,sense,best_known_value\n"
                    "orlib/gap1.txt,2,c515-2,5,15,max,327\nsingle/c0203,1,c0203,2,3,min,6\n")
    table = read_best_known(path)
    assert table[("gap1.txt", 2, "max")] == 327
    assert table[("c0203", 1, "min")] == 6


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("2 3\n1 2 x\n", 2, "token", "found 'x'"),  # said row 5: the token's position in the stream
        ("1 2\n5 6\n1 1\nx\n", 4, "token", "found 'x'"),  # said row 7
        ("2 3\n1 2 3\n\n4 5 6\n\n", 4, "m n", "ends early, at line 4 (its last line): one problem of "
                                              "m=2 agents and n=3 jobs needs 16 integers"),  # said row 9
        ("1\n2 3\n 4 1 3\n 2 5 2\n 3 2 2\n 1 3 -2\n 4 3\n", 6, "resource matrix", ">= 0"),
        ("1\n2 3\n 4 1 3\n 2 5 2\n 3 2 2\n 1 3 2\n 4\n -3\n", 8, "capacity", ">= 0"),
        (TINY + "\n7\n", 8, "resource matrix", "ends early, at line 8"),  # read as P=2 problems
        ("1\n" + TINY + "7 8\n", 8, "trailing data", "2 unexpected integers"),
        ("2 3\n", 1, "m n", "ends early, at line 1"),
    ],
)
def test_errors_name_the_line_of_the_bad_token(tmp_path, text, line, field, words):
    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_gap(path)
    assert (info.value.row, info.value.field) == (line, field), str(info.value)
    assert words in str(info.value)
