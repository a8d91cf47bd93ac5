"""`--out` never replaces the ledger or an input file: a report written over the ledger lost every
decision in it (exit 0, "wrote r.db"), one written over the leads file lost the leads."""

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from solver.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "sample"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    for name in ("reps.csv", "leads.csv", "policy.yaml"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return {name.split(".")[0]: tmp_path / name for name in ("reps.csv", "leads.csv", "policy.yaml")}


def run_args(files: dict[str, Path], db: Path, out: Path) -> list[str]:
    return ["run", "--db", str(db), "--reps", str(files["reps"]), "--leads", str(files["leads"]),
            "--policy", str(files["policy"]), "--out", str(out)]


def test_run_refuses_an_out_that_is_its_new_ledger(files, tmp_path):
    db = tmp_path / "r.db"
    result = invoke(*run_args(files, db, db))
    assert result.exit_code == 2
    assert f"--out {db} is the ledger" in result.output and not db.exists()


def test_read_only_commands_never_write_over_the_ledger(files, tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    assert invoke(*run_args(files, db, tmp_path / "report.txt")).exit_code == 0
    before = db.read_bytes()
    monkeypatch.chdir(tmp_path)
    os.symlink(db, tmp_path / "link.db")
    for args in (["history", "--db", str(db), "--out", "r.db"],  # relative: the same file
                 ["queues", "--db", str(db), "--out", str(tmp_path / "link.db")],  # through a link
                 ["experiment", "report", "--db", str(db), "--out", str(db)],
                 ["events", "--db", str(db), "--file", str(files["leads"]), "--out", str(db)]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "is the ledger: writing there would replace it" in result.output
    assert db.read_bytes() == before
    assert invoke("history", "--db", str(db), "--lead", "L0001").exit_code == 0


@pytest.mark.parametrize("which", ["leads", "reps", "policy"])
def test_assign_and_run_refuse_an_out_that_is_an_input(files, tmp_path, which):
    before = files[which].read_bytes()
    assign = invoke("assign", "--reps", str(files["reps"]), "--leads", str(files["leads"]),
                    "--policy", str(files["policy"]), "--out", str(files[which]))
    run = invoke(*run_args(files, tmp_path / "r.db", files[which]))
    for result in (assign, run):
        assert result.exit_code == 2 and f"is the --{which} file" in result.output
    assert files[which].read_bytes() == before and not (tmp_path / "r.db").exists()


def test_history_refuses_lead_and_run_together(files, tmp_path):
    # --lead was silently ignored beside --run
    db = tmp_path / "r.db"
    assert invoke(*run_args(files, db, tmp_path / "report.txt")).exit_code == 0
    result = invoke("history", "--db", str(db), "--lead", "L0001", "--run", "last")
    assert result.exit_code == 2 and "--lead and --run show different things" in result.output
