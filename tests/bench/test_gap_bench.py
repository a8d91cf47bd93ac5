"""The GAP suite: rows, summary, renderings and the command's exit codes (issue 3)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from solver.bench.gap import render_table, run_gap, summarize, write_results
from solver.bench.gapfile import read_best_known
from solver.cli import main
from solver.cli.bench import gap_command
from solver.domain.errors import InputError

TINY = "2 3\n 4 1 3\n 2 5 2\n 3 2 2\n 1 3 2\n 4 3\n"  # min optimum 5


@pytest.fixture
def files(tmp_path):
    """One tiny type-C instance with its best-known value in a table of its own."""
    inst = tmp_path / "c0203"
    inst.write_text(TINY)
    table = tmp_path / "bk.csv"
    table.write_text("file,problem_index,instance,m,n,sense,best_known_value\n"
                     "single/c0203,1,c0203,2,3,min,6\n")
    return inst, table


def test_run_gap_rows_and_summary(files):
    inst, table = files
    result = run_gap([inst], time_limit_s=2, workers=1, naive=True, best_known=table)
    (row,) = result["rows"]
    assert row["value"] == 5 and row["naive_value"] == 5
    assert row["best_known"] == 6 and row["gap_pct"] == pytest.approx(100 / 6)
    assert row["status"] == "optimal" and row["bound"] == pytest.approx(5)
    assert result["summary"]["c"]["mean_gap_pct"] == pytest.approx(100 / 6, abs=1e-3)
    assert result["summary"]["cde"]["naive"]["max_gap_pct"] == pytest.approx(100 / 6, abs=1e-3)
    assert {"date", "cpu", "cores", "ortools"} <= set(result["meta"])
    assert "| c0203 | c | 2 | 3 | 5 | 6 |" in render_table(result)


def test_partial_results_after_every_row(files, tmp_path):
    """An interrupted run still leaves a table: on_row sees each row as it is added."""
    inst, table = files
    seen = []

    def save(result):
        seen.append(len(result["rows"]))
        write_results(result, tmp_path)
        assert "PARTIAL" in (tmp_path / "results.md").read_text()

    result = run_gap([inst, inst], time_limit_s=1, workers=1, naive=False, best_known=table,
                     on_row=save)
    assert seen == [1, 2] and result["meta"]["complete"] is True
    write_results(result, tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "PARTIAL" not in text and "load_avg_start" in text
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["c"]["count"] == 2


def test_summary_groups_by_type():
    rows = [{"type": "c", "gap_pct": 0.2}, {"type": "d", "gap_pct": 0.6},
            {"type": "a", "gap_pct": 0.0}, {"type": "d", "gap_pct": None}]
    summary = summarize(rows)
    assert summary["cde"]["mean_gap_pct"] == pytest.approx(0.4)
    assert summary["cde"]["max_gap_pct"] == pytest.approx(0.6)
    assert summary["d"]["solved"] == 1 and summary["all"]["count"] == 4


def test_command_json(files, tmp_path):
    inst, table = files
    out = tmp_path / "r.json"
    result = CliRunner().invoke(gap_command, [
        "--instances", str(inst), "--best-known", str(table), "--time-limit", "1",
        "--workers", "1", "--no-naive", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["rows"][0]["value"] == 5 and "naive_value" not in data["rows"][0]


def test_command_bad_file_exits_2(tmp_path):
    bad = tmp_path / "broken"
    bad.write_text("2 3 4 1")
    result = CliRunner().invoke(gap_command, ["--instances", str(bad), "--no-naive"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "broken" in result.output


# Bad inputs: exit 2, one message naming the file, nothing written. QA found a --best-known file
# missing or junk that left every gap blank ("best None") without a word.


def gap(*args: str):
    return CliRunner().invoke(main, ["bench", "gap", "--time-limit", "1", "--workers", "1", "--no-naive",
                                     *args])


def one_error(result) -> str:
    """The run's only stderr line (progress lines included), which must be an error."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not result.stdout
    return lines[0]


@pytest.mark.parametrize(("text", "where", "words"), [
    ("junk\n", "header row, field 'file'", "missing required column"),
    ("", "", "file is empty"),
    ("file,problem_index,sense,best_known_value\n", "", "no rows"),
    ("file,problem_index,sense,best_known_value\nc0203,1,min,6\nc0203,x,min,6\n",
     "row 2, field 'problem_index'", "expected an integer, found 'x'"),
    ("file,problem_index,sense,best_known_value\nc0203,1,min,\n", "row 1, field 'best_known_value'",
     "empty cell"),
    ("file,problem_index,sense,best_known_value\nc0203,1,minimise,6\n", "row 1, field 'sense'",
     "'min' or 'max'"),
])
def test_best_known_junk_names_file_row_and_field(files, tmp_path, text, where, words):
    inst, _ = files
    table = tmp_path / "junk.csv"
    table.write_text(text)
    with pytest.raises(InputError) as info:
        read_best_known(table)
    assert str(info.value).startswith(f"{table}{', ' + where if where else ''}: ")
    assert words in str(info.value)
    assert one_error(gap("--instances", str(inst), "--best-known", str(table))) == f"error: {info.value}"


def test_best_known_missing_exits_2_naming_it(files, tmp_path):
    inst, _ = files
    missing = tmp_path / "nope.csv"
    assert one_error(gap("--instances", str(inst), "--best-known", str(missing))) \
        == f"error: {missing}: file not found"


def test_best_known_read(files):
    inst, table = files
    result = gap("--instances", str(inst), "--best-known", str(table))
    assert result.exit_code == 0, result.output
    assert "| c0203 | c | 2 | 3 | 5 | 6 | 16.667% |" in result.stdout


# --out replaced the instance file with the results table (exit 0), and an --out that cannot be
# written was an "internal error" (exit 1).


@pytest.mark.parametrize("which", ["instance", "second instance", "best known"])
def test_out_never_replaces_an_input(files, tmp_path, monkeypatch, which):
    inst, table = files
    other = tmp_path / "c0203b"
    other.write_text(TINY)
    target = {"instance": inst, "second instance": other, "best known": table}[which]
    before = {p: p.read_bytes() for p in (inst, other, table)}
    monkeypatch.chdir(tmp_path)
    out = target.name  # relative: the same file all the same
    line = one_error(gap("--instances", str(inst), "--instances", str(other), "--best-known", str(table),
                         "--out", out))
    option = "--best-known" if which == "best known" else "--instances"
    assert f"--out {out} is the {option} file: writing there would replace it" in line
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bk.csv", "c0203", "c0203b"]


def test_out_that_cannot_be_written_exits_2_naming_it(files, tmp_path):
    inst, table = files
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "x.md"  # a file where its folder should be: no one can write there
    line = one_error(gap("--instances", str(inst), "--best-known", str(table), "--out", str(out)))
    assert line.startswith(f"error: {out}, field 'out': cannot write the results (")


def test_out_in_a_new_folder_is_written(files, tmp_path):
    inst, table = files
    out = tmp_path / "new" / "r.md"  # as every --out: the folder is made
    result = gap("--instances", str(inst), "--best-known", str(table), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == result.stdout
