"""`leadsolver learn --ledger`: speed to lead learned from the router's SQLite ledger."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from solver.cli.main import main
from solver.domain.io import load_reps
from solver.online.sqlite_store import SqliteStore
from tests.sim.test_response_learn import TRUTH, simulate_ledger

REPS = "id,capacity,territories,skills\n" + "".join(f"{r},40,US,saas:1.1\n" for r in TRUTH)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    store = SqliteStore(path)
    with store.transaction():
        simulate_ledger(store, leads_per_rep=120, outcomes=True)
    store.close()
    return path


def learn(*argv: str):
    return CliRunner().invoke(main, ["learn", *argv])


def test_learn_writes_each_reps_minutes_and_prints_what_it_learned(ledger: Path, tmp_path: Path) -> None:
    reps, out = tmp_path / "reps.csv", tmp_path / "learned.csv"
    reps.write_text(REPS)
    result = learn("--ledger", str(ledger), "--reps", str(reps), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == set(TRUTH)
    for rep_id, (response, handling) in TRUTH.items():
        assert float(rows[rep_id]["response_minutes"]) == pytest.approx(response, rel=0.35)
        assert float(rows[rep_id]["handling_minutes"]) == pytest.approx(handling, rel=0.35)
        assert rows[rep_id]["skills"] == "saas:1.1" and rows[rep_id]["territories"] == "US"
    assert [r.response_minutes is not None for r in load_reps(out)] == [True] * len(TRUTH)
    assert "Speed to lead from" in result.output and "team" in result.output
    assert "working minutes" in result.output  # what the figures are in (not wall-clock off shift)
    assert "Decay: half-life" in result.output


def test_learn_prints_json_and_the_policys_curve_without_outcomes(tmp_path: Path) -> None:
    path, reps = tmp_path / "empty.db", tmp_path / "reps.csv"
    SqliteStore(path).close()
    reps.write_text(REPS)
    policy = tmp_path / "policy.yaml"
    policy.write_text("speed:\n  response_minutes: 7\n  handling_minutes: 12\n")
    result = learn("--ledger", str(path), "--reps", str(reps), "--policy", str(policy), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["skills"] is None and data["decay"]["supported"] is False
    assert data["decay"]["note"].startswith("not enough outcomes") and "policy's curve" in data["decay"]["note"]
    assert {(r["response_minutes"], r["handling_minutes"]) for r in data["response"]["reps"]} == {(7.0, 12.0)}


def test_learn_with_history_and_ledger_keeps_both(ledger: Path, tmp_path: Path) -> None:
    history, reps, out = tmp_path / "deals.csv", tmp_path / "reps.csv", tmp_path / "out.csv"
    history.write_text("rep_id,outcome,industry\n" + "R1,won,saas\nR2,lost,saas\n" * 10)
    reps.write_text(REPS)
    result = learn("--history", str(history), "--ledger", str(ledger), "--reps", str(reps),
                   "--out", str(out), "--prior-strength", "5")
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(out.open()))
    assert "saas:" in row["skills"] and float(row["response_minutes"]) > 0


@pytest.mark.parametrize("case", ["missing", "corrupt", "unknown rep", "no reps", "neither"])
def test_bad_ledgers_exit_2_with_one_message(case: str, ledger: Path, tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text(REPS if case != "unknown rep" else "id,capacity\nR1,5\nR2,5\n")
    db = {"missing": tmp_path / "none.db", "corrupt": tmp_path / "bad.db"}.get(case, ledger)
    if case == "corrupt":
        db.write_text("not a database, just text\n" * 50)
    argv = {"no reps": ["--ledger", str(db)], "neither": ["--reps", str(reps)]}.get(
        case, ["--ledger", str(db), "--reps", str(reps)])
    result = learn(*argv)
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()[-1]
    expected = {"missing": [str(db), "no ledger"], "corrupt": [str(db), "ledger"],
                "unknown rep": [str(db), "field 'rep_id'", "'R3'", "'R4'", str(reps)],
                "no reps": ["--ledger needs --reps"], "neither": ["--history", "--ledger"]}[case]
    assert all(part in message for part in expected), message
    assert "Traceback" not in result.output


def test_policy_out_writes_the_fitted_curve_into_the_policy(ledger: Path, tmp_path: Path) -> None:
    from solver.domain.io import load_policy

    reps, policy, out = tmp_path / "reps.csv", tmp_path / "policy.yaml", tmp_path / "fitted.yaml"
    reps.write_text(REPS)
    policy.write_text("fairness: {weight: 0.5}\nspeed: {response_minutes: 7}\n")
    result = learn("--ledger", str(ledger), "--reps", str(reps), "--policy", str(policy),
                   "--policy-out", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    fit = json.loads(result.output)["decay"]
    fitted = load_policy(out)
    assert fitted.fairness.weight == 0.5 and fitted.speed.response_minutes == 7  # the rest is kept
    assert fit["supported"]  # 480 seeded outcomes: the fitted curve beats a flat one
    assert fitted.speed.half_life_minutes == pytest.approx(fit["half_life_minutes"])
    assert fitted.speed.floor == pytest.approx(fit["floor"])
    assert fitted.speed.half_life_minutes != load_policy(policy).speed.half_life_minutes
    assert learn("--history", "x", "--policy-out", str(out)).exit_code == 2  # needs --ledger


def test_learn_updates_the_reps_file_in_place_but_never_writes_over_the_ledger(ledger: Path,
                                                                               tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text(REPS)
    before = ledger.read_bytes()
    for option in ("--out", "--policy-out"):
        result = learn("--ledger", str(ledger), "--reps", str(reps), option, str(ledger))
        assert result.exit_code == 2 and f"{option} {ledger} is the ledger" in result.output
    assert ledger.read_bytes() == before
    assert learn("--ledger", str(ledger), "--reps", str(reps), "--out", str(reps)).exit_code == 0  # README's usage
    assert all(r.response_minutes is not None for r in load_reps(reps))
