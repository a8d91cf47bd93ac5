"""Skills from won/lost history: shrinkage toward the team, errors naming row and field."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from solver.cli import main
from solver.domain.errors import InputError
from solver.domain.io import load_reps
from solver.domain.model import Rep
from solver.sim.learn import (
    History,
    auc,
    calibration_slope,
    check_skills,
    learn_skills,
    load_history,
    log_loss,
    reps_csv,
)


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
    # a reps file none of whose reps worked these deals would get no skill at all: refused
    (tmp_path / "others.csv").write_text("id,capacity\nA,5\nB,5\n")
    (tmp_path / "partly.csv").write_text("id,capacity\nr0,5\nnew,5\n")
    out.unlink()
    none = CliRunner().invoke(main, ["learn", "--history", str(path), "--reps", str(tmp_path / "others.csv"),
                                     "--out", str(out)])
    assert none.exit_code == 2 and "others.csv" in none.output and "field 'id'" in none.output
    assert "'r0'" in none.output and not out.exists()
    partly = CliRunner().invoke(main, ["learn", "--history", str(path), "--reps", str(tmp_path / "partly.csv"),
                                       "--out", str(out)])
    assert partly.exit_code == 0, partly.output  # a new rep with no deals yet keeps skill 1
    assert {r.id: r.skill("retail") > 1 for r in load_reps(out)} == {"r0": True, "new": False}


def test_reps_csv_round_trips_through_the_reader(tmp_path: Path) -> None:
    reps = [Rep(id="r1", name="Lee, Pat", territories=("EU", "US"), capacity=7,
                skills={"software": 1.25}),
            Rep(id="r2", capacity=0, available=False)]
    path = tmp_path / "reps.csv"
    path.write_text(reps_csv(reps))
    assert load_reps(path) == reps


# --- cross-validated skills: kept only where they beat the team average out of sample ----------

def synthetic(rates: list[float], n: int = 3000, seed: int = 0, dated: bool = True) -> History:
    """A seeded history: rep i wins with `rates[i]` whatever the industry or product."""
    rng = np.random.default_rng(seed)
    rep = rng.integers(len(rates), size=n)
    closed = np.datetime64("2024-01-01") + rng.integers(0, 365, size=n)
    return History(np.array([f"r{i:02d}" for i in rep], dtype=object),
                   rng.choice(["retail", "finance", "tech"], size=n).astype(object),
                   rng.choice(["core", "plus"], size=n).astype(object),
                   rng.random(n) < np.asarray(rates)[rep],
                   closed if dated else np.full(n, "NaT", dtype="datetime64[D]"))


def write_history(path: Path, h: History, dated: bool = True) -> None:
    head = "rep_id,industry,product,outcome" + (",closed_at" if dated else "")
    path.write_text("\n".join([head] + [
        f"{r},{i},{p},{'won' if w else 'lost'}" + (f",{c}" if dated else "")
        for r, i, p, w, c in zip(h.rep_id, h.industry, h.product, h.won, h.closed, strict=True)]) + "\n")


def test_log_loss_auc_and_slope_match_hand_computed_cases() -> None:
    assert log_loss(np.array([True, False]), np.array([0.8, 0.4])) == pytest.approx(
        -(math.log(0.8) + math.log(0.6)) / 2)
    # pairs (won, lost): 0.9>0.4, 0.9>0.1, 0.4=0.4 (half), 0.4>0.1 -> 3.5 of 4
    assert auc(np.array([1, 1, 0, 0], bool), np.array([0.9, 0.4, 0.4, 0.1])) == pytest.approx(0.875)
    assert auc(np.array([1, 0], bool), np.array([0.2, 0.7])) == 0.0
    assert math.isnan(auc(np.array([1, 1], bool), np.array([0.2, 0.7])))
    # two prediction levels: the fit passes through both observed rates, so the slope is
    # (logit 0.7 - logit 0.3) / (logit 0.8 - logit 0.2)
    won = np.array([True] * 3 + [False] * 7 + [True] * 7 + [False] * 3)
    p = np.array([0.2] * 10 + [0.8] * 10)
    logit = lambda x: math.log(x / (1 - x))  # noqa: E731
    assert calibration_slope(won, p) == pytest.approx((logit(0.7) - logit(0.3)) / (logit(0.8) - logit(0.2)),
                                                      abs=1e-8)
    assert math.isnan(calibration_slope(won, np.full(20, 0.5)))  # one prediction: no slope


def test_cv_keeps_the_team_average_when_reps_are_alike() -> None:
    h = synthetic([0.5] * 20)
    check = check_skills(h)
    assert check.method == "time-split" and len(check.folds) == 4 and not check.note
    assert not check.beats and math.isinf(check.strength)
    assert check.difference <= check.se
    assert "do not beat the team average" in check.verdict and "shrink to 1.0" in check.verdict
    skills = learn_skills(h, check.strength)
    assert skills and all(v == 1.0 for s in skills.values() for v in s.values())
    # raw rates (strength 0) are the worst of the grid on noise
    losses = {g["strength"]: g["log_loss"] for g in check.grid}
    assert losses[0.0] == max(losses.values())


def test_cv_picks_a_finite_strength_when_reps_really_differ() -> None:
    rates = list(np.linspace(0.15, 0.85, 10))
    h = synthetic(rates)
    check = check_skills(h)
    assert check.beats and math.isfinite(check.strength) and check.strength == check.best
    assert check.difference > check.se > 0
    assert check.auc["learned"] > check.auc["team"] + 0.1 and check.auc["multipliers"] > 0.6
    assert 0.5 < check.calibration_slope["multipliers"] < 1.5
    # rolling origin: every fold tests later deals than it learned from, on more history each time
    assert [f["train"] for f in check.folds] == sorted(f["train"] for f in check.folds)
    assert all(a["to"] < b["from"] for a, b in zip(check.folds, check.folds[1:], strict=False))
    skills = learn_skills(h, check.strength)
    assert skills["r09"]["retail"] > 1.3 and skills["r00"]["retail"] < 0.5
    fixed = check_skills(h, prior_strength=5.0)
    assert fixed.fixed and fixed.strength == 5.0 and [g["strength"] for g in fixed.grid] == [5.0, math.inf]


def test_a_history_without_dates_falls_back_to_a_seeded_k_fold() -> None:
    h = synthetic([0.5] * 5, n=400, dated=False)
    check = check_skills(h)
    assert check.method == "k-fold" and "400 of 400 deals have no close date" in check.note
    assert "seeded 4-fold" in check.note and len(check.folds) == 4
    assert sum(f["test"] for f in check.folds) == 400
    assert check_skills(h).to_json() == check.to_json()  # seeded: the same folds every run
    same_day = replace(synthetic([0.5], n=2), closed=np.full(2, "2024-01-01", dtype="datetime64[D]"))
    tiny = check_skills(same_day)
    assert not tiny.grid and math.isinf(tiny.strength) and "Too few" in tiny.verdict


def test_learn_command_reports_the_check_and_routes_accordingly(tmp_path: Path) -> None:
    real, noise = tmp_path / "real.csv", tmp_path / "noise.csv"
    write_history(real, synthetic(list(np.linspace(0.15, 0.85, 10))))
    write_history(noise, synthetic([0.5] * 20))
    out = tmp_path / "reps.csv"
    table = CliRunner().invoke(main, ["learn", "--history", str(real), "--out", str(out)])
    assert table.exit_code == 0, table.output
    assert "time-split cross-validation" in table.output and "team average" in table.output
    assert "Learned skills beat the team average out of sample: they are used." in table.output
    assert load_reps(out)[9].skill("retail") > 1.3  # r09, the best rep
    result = CliRunner().invoke(main, ["learn", "--history", str(noise), "--format", "json",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["beats"] is False and report["strength"] == "inf" and len(report["folds"]) == 4
    assert {"grid", "best", "team_log_loss", "learned_log_loss", "difference", "se", "auc",
            "calibration_slope", "rule", "verdict"} <= report.keys()
    assert report["grid"][-1]["strength"] == "inf" and report["grid"][0]["strength"] == 0.0
    assert "do not beat" in report["verdict"]
    assert all(r.skills and set(r.skills.values()) == {1.0} for r in load_reps(out))  # no skills
    fixed = CliRunner().invoke(main, ["learn", "--history", str(noise), "--prior-strength", "20"])
    assert "fixed by --prior-strength (no search)" in fixed.output
    assert "kept at the fixed strength 20" in fixed.output
    csv_out = CliRunner().invoke(main, ["learn", "--history", str(real), "--format", "csv"])
    assert csv_out.stdout.startswith("id,name,territories")


def test_learn_command_says_when_the_history_has_no_dates(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_history(path, synthetic([0.5] * 5, n=400), dated=False)
    result = CliRunner().invoke(main, ["learn", "--history", str(path)])
    assert result.exit_code == 0, result.output
    assert "seeded k-fold cross-validation" in result.output
    assert "Note: 400 of 400 deals have no close date" in result.output
