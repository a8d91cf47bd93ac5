"""Skills from won/lost history: shrinkage toward the team, errors naming row and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from solver.cli import main
from solver.domain.errors import InputError
from solver.domain.io import load_reps
from solver.domain.model import Rep
from solver.sim.learn import History, learn_skills, load_history, reps_csv


def history(rows: list[tuple[str, str, str, bool]]) -> History:
    rep, ind, prod, won = zip(*rows, strict=True)
    return History(np.array(rep, dtype=object), np.array(ind, dtype=object),
                   np.array(prod, dtype=object), np.array(won), np.full(len(rows), "NaT",
                                                                         dtype="datetime64[D]"))


def team(extra: list[tuple[str, str, str, bool]]) -> History:
    """A background team winning half of 400 deals (retail and finance), plus `extra`."""
    base = [(f"bg{k % 4}", ("retail", "finance")[k % 8 // 4], "core", k // 8 % 2 == 0)
            for k in range(400)]
    return history(base + extra)


def test_three_wins_do_not_make_an_expert() -> None:
    few = learn_skills(team([("new", "finance", "core", True)] * 3), prior_strength=20)
    many = learn_skills(team([("new", "finance", "core", True)] * 60), prior_strength=20)
    assert 1.0 < few["new"]["finance"] < 1.3  # raw 3/3 wins would say 2.0 (team wins half)
    assert many["new"]["finance"] > 1.5  # strong evidence moves it


def test_unseen_keys_get_the_prior() -> None:
    skills = learn_skills(team([("new", "finance", "core", True)] * 3), prior_strength=20)
    # never sold in retail: the industry multiplier is the rep's shrunk overall ability
    p = 203 / 403
    assert skills["new"]["retail"] == pytest.approx((3 + 20 * p) / 23 / p, abs=1e-4)
    assert skills["new"]["retail"] < skills["new"]["finance"]


def test_average_rep_is_near_one() -> None:
    skills = learn_skills(team([]))
    assert all(abs(v - 1) < 0.1 for s in skills.values() for v in s.values())


def test_load_history_errors_name_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("rep_id,outcome\na,won\nb,maybe\n")
    with pytest.raises(InputError) as err:
        load_history(path)
    assert (err.value.row, err.value.field) == (2, "outcome")
    path.write_text("rep,outcome\na,won\n")
    with pytest.raises(InputError, match="missing required column"):
        load_history(path)


def test_learn_command_writes_a_reps_file(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    rows = ["rep_id,industry,product,outcome,closed_at"]
    rows += [f"r{k % 3},retail,core,{'won' if k % 3 == 0 else 'lost'},2024-01-{1 + k % 28:02d}"
             for k in range(90)]
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "reps.csv"
    result = CliRunner().invoke(main, ["learn", "--history", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    reps = {r.id: r for r in load_reps(out)}
    assert reps["r0"].skill("retail") > 1 > reps["r1"].skill("retail")
    bad = CliRunner().invoke(main, ["learn", "--history", str(tmp_path / "none.csv")])
    assert bad.exit_code == 2 and "file not found" in bad.output


def test_reps_csv_round_trips_through_the_reader(tmp_path: Path) -> None:
    reps = [Rep(id="r1", name="Lee, Pat", territories=("EU", "US"), capacity=7,
                skills={"software": 1.25}),
            Rep(id="r2", capacity=0, available=False)]
    path = tmp_path / "reps.csv"
    path.write_text(reps_csv(reps))
    assert load_reps(path) == reps
