"""The `leadsolver` command: bad input gives exit 2 naming file, row and field, and writes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from solver.cli import main
from solver.compile.speed import decay
from solver.decode.reasons import ReasonCode
from solver.domain.speed import Speed

REPS = "id,territories,segments,capacity,open_leads,quota_weight,available,skills\n" \
       "r1,EU;US,SMB;MM,3,0,1,true,fin:1.5\n" \
       "r2,*,SMB;MM,2,1,2,true,\n"
LEADS = "id,territory,segment,industry,value,score,effort,owner_id\n" \
        "l1,EU,SMB,fin,100,0.5,1,\n" \
        "l2,US,MM,,50,1,1,r2\n" \
        "l3,APAC,ENT,,10,1,1,\n"


def run(tmp_path: Path, *args: str, reps: str = REPS, leads: str = LEADS,
        policy: str | None = None, reps_name: str = "reps.csv", leads_name: str = "leads.csv"):
    (tmp_path / reps_name).write_text(reps, encoding="utf-8")
    (tmp_path / leads_name).write_text(leads, encoding="utf-8")
    argv = ["assign", "--reps", str(tmp_path / reps_name), "--leads", str(tmp_path / leads_name),
            "--out", str(tmp_path / "out.json"), "--format", "json", *args]
    if policy is not None:
        (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
        argv += ["--policy", str(tmp_path / "policy.yaml")]
    return CliRunner().invoke(main, argv)


# Every kind of bad input file (exit 2, one line naming file, row and field) is one row of the
# table in tests/cli/test_bad_inputs.py.


def test_unknown_solver_option_is_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "--solver", "magic")
    assert result.exit_code == 2
    assert "magic" in result.output
    assert not (tmp_path / "out.json").exists()


def test_flow_with_effort_points_to_cpsat(tmp_path: Path) -> None:
    result = run(tmp_path, leads=LEADS.replace("10,1,1,", "10,1,3,"))
    assert result.exit_code == 2
    assert "leads.csv, row 3, field 'effort'" in result.output
    assert "cpsat" in result.output


def test_extra_columns_warn_once(tmp_path: Path) -> None:
    leads = "\n".join(line + ",x,y" if i else line for i, line in enumerate(LEADS.strip().split("\n")))
    leads = leads.replace("owner_id", "owner_id,color,size") + "\n"
    result = CliRunner().invoke(main, ["validate", "--reps", _write(tmp_path, "reps.csv", REPS),
                                       "--leads", _write(tmp_path, "leads.csv", leads)])
    assert result.exit_code == 0, result.output
    assert result.output.count("unknown columns (kept as attributes; no routing rule reads them): "
                               "color, size") == 1


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return str(tmp_path / name)


def test_json_output_shape(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    assert set(data) == {"assignments", "summary"}
    assert [a["lead_id"] for a in data["assignments"]] == ["l1", "l2", "l3"]
    for a in data["assignments"]:
        assert set(a) == {"lead_id", "rep_id", "status", "reason", "reason_code", "expected_value", "policy"}
    by_id = {a["lead_id"]: a for a in data["assignments"]}
    # 100 x 0.5 x 1.5, answered by a rep with nothing queued: the default 10 minutes' decay
    worth = 75.0 * float(decay(10.0, Speed()))
    assert by_id["l1"]["rep_id"] == "r1" and by_id["l1"]["expected_value"] == pytest.approx(worth, abs=1e-6)
    assert by_id["l2"]["rep_id"] == "r2" and "account owner" in by_id["l2"]["reason"]
    assert by_id["l3"]["rep_id"] is None and by_id["l3"]["status"] == "unassigned"
    assert "segment 'ENT'" in by_id["l3"]["reason"]
    assert by_id["l2"]["reason_code"] == "account_owner"
    assert by_id["l3"]["reason_code"] == "no_eligible_rep_for_rule"
    summary = data["summary"]
    assert summary["counts"]["assigned"] == 2 and summary["counts"]["unassigned"] == 1
    for key in ("objective", "bound", "gap", "fairness", "rep_loads", "solve_time_s", "policy"):
        assert key in summary
    assert set(summary["fairness"]) == {"jain", "gini", "max_deviation"}


# The JSON contract of `assign --format json`: keys in order. Fields may be added (extend
# these lists then), never renamed or removed.
SUMMARY_KEYS = ["policy", "status", "counts", "objective", "bound", "gap", "expected_value",
                "fairness_penalty", "fairness", "rep_loads", "solve_time_s", "compile_time_s", "stats"]
COUNTS_KEYS = ["leads", "assigned", "unassigned", "unassigned_by_reason"]
REP_LOAD_KEYS = ["rep_id", "assigned", "effort", "free_capacity_before", "load", "target"]
EXPLANATION_KEYS = ["lead_id", "assigned_to", "alternatives", "why"]
REP_FIT_KEYS = ["rep_id", "expected_value", "profit", "load", "target", "free_capacity"]


def test_json_summary_and_explanation_keys_are_pinned(tmp_path: Path) -> None:
    result = run(tmp_path, "--explain", "l1", "--explain", "l3")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    summary = data["summary"]
    assert list(summary) == SUMMARY_KEYS
    assert list(summary["counts"]) == COUNTS_KEYS
    assert summary["counts"]["unassigned_by_reason"] == {"no eligible rep": 1}
    assert list(summary["fairness"]) == ["jain", "gini", "max_deviation"]
    assert [list(r) for r in summary["rep_loads"]] == [REP_LOAD_KEYS, REP_LOAD_KEYS]
    assert summary["status"] == "optimal" and summary["policy"] == "flow"
    assert summary["stats"]["arcs"] > 0
    placed, unplaced = data["explanations"]
    assert [list(placed), list(unplaced)] == [EXPLANATION_KEYS, EXPLANATION_KEYS]
    assert list(placed["assigned_to"]) == REP_FIT_KEYS and unplaced["assigned_to"] is None
    assert placed["alternatives"] and all(
        list(alt) == [*REP_FIT_KEYS, "why_not"] for alt in placed["alternatives"])
    assert placed["assigned_to"]["rep_id"] == "r1"


def test_stdout_json_is_only_json(tmp_path: Path, sample_paths) -> None:
    result = CliRunner().invoke(main, ["assign", "--reps", str(sample_paths["reps"]), "--leads",
                                       str(sample_paths["leads"]), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["summary"]["counts"]["leads"] == 300


def test_table_and_explain(sample_paths) -> None:
    result = CliRunner().invoke(main, ["assign", "--reps", str(sample_paths["reps"]), "--leads",
                                       str(sample_paths["leads"]), "--policy", str(sample_paths["policy"]),
                                       "--explain", "L0002"])
    assert result.exit_code == 0, result.output
    assert "policy flow (optimal)" in result.output
    assert "lead L0002 -> R" in result.output
    assert "  not R" in result.output


def test_csv_output(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text(REPS)
    (tmp_path / "leads.csv").write_text(LEADS)
    result = CliRunner().invoke(main, ["assign", "--reps", str(tmp_path / "reps.csv"), "--leads",
                                       str(tmp_path / "leads.csv"), "--format", "csv"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    # The JSON's fields, in its order, then its optional queue (empty unless queued).
    assert lines[0] == "lead_id,rep_id,status,reason,expected_value,policy,reason_code,queue"
    assert len(lines) == 4
    assert lines[1].split(",")[6] in {code.value for code in ReasonCode}


def test_yaml_and_json_inputs_match_csv(tmp_path: Path) -> None:
    import yaml

    from solver import assign, load_leads, load_reps

    reps_csv = load_reps(_write(tmp_path, "reps.csv", REPS))
    leads_csv = load_leads(_write(tmp_path, "leads.csv", LEADS), reps_csv)
    reps_yaml = load_reps(_write(tmp_path, "reps.yaml", yaml.safe_dump(
        {"reps": [r.model_dump() | {"territories": list(r.territories), "segments": list(r.segments)}
                  for r in reps_csv]})))
    leads_json = load_leads(_write(tmp_path, "leads.json", json.dumps(
        [lead.model_dump(mode="json") for lead in leads_csv])), reps_yaml)
    assert reps_yaml == reps_csv
    assert leads_json == leads_csv
    assert assign(reps_yaml, leads_json).to_dict() != {}


def test_unassigned_reason_names_capacity(tmp_path: Path) -> None:
    leads = LEADS + "l4,EU,SMB,,5,1,1,\nl5,EU,SMB,,5,1,1,\nl6,EU,SMB,,5,1,1,\nl7,EU,SMB,,5,1,1,\n"
    result = run(tmp_path, leads=leads)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    reasons = [a["reason"] for a in data["assignments"] if a["status"] == "unassigned"]
    assert any(r.startswith("capacity: all") for r in reasons)
    assert data["summary"]["counts"]["unassigned_by_reason"]["capacity"] == sum(
        r.startswith("capacity") for r in reasons)


def test_table_rows_stay_one_line_each() -> None:
    """Issue 12 item 8: a newline in a cell broke the table; control characters are shown escaped."""
    from solver.report.tables import format_rows

    text = format_rows(("lead", "reason"), [("L\n1", "a\rb\tc\x1bd"), ("L2", "ok")])
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[2].split() == ["L\\n1", "a\\rb\\tc\\x1bd"]
    assert lines[3].split() == ["L2", "ok"]


def test_assign_csv_output_defuses_formula_ids(tmp_path: Path) -> None:
    """Issue 12 item 8: `assign --format csv` goes through the one CSV writer, which escapes formulas."""
    leads = LEADS.replace("l1,EU", '"=HYPERLINK(""http://evil"",""x"")",EU')
    result = run(tmp_path, "--format", "csv", leads=leads)
    assert result.exit_code == 0, result.output
    import csv as csvmod
    rows = list(csvmod.reader(io.StringIO((tmp_path / "out.json").read_text())))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert [r[0] for r in rows[2:]] == ["l2", "l3"]


def test_explain_of_an_unknown_lead_names_the_id(tmp_path: Path) -> None:
    result = run(tmp_path, "--explain", "l1", "--explain", "NOPE")
    assert result.exit_code == 2
    assert "--explain 'NOPE': no lead of the file has this id" in result.output
    assert "field 'id'" in result.output and not (tmp_path / "out.json").exists()


def test_simulate_offers_only_the_formats_it_writes(tmp_path: Path) -> None:
    # --format csv was accepted and printed the plain table
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.yaml"), "--format", "csv"])
    assert result.exit_code == 2 and "'csv' is not one of 'table', 'json'" in result.output


def test_assign_takes_the_reps_calendars_as_of_now(tmp_path: Path) -> None:
    """Working hours and leave count in `assign` as in `run`: a rep on leave gets nothing, and a
    lead no rep on shift may take goes to the rep back first (Saturday: Kolkata on Monday first)."""
    reps = ("id,territories,capacity,timezone,working_hours,ooo\n"
            "ny,*,10,America/New_York,Mon-Fri 09:00-17:00,\n"
            "in,*,10,Asia/Kolkata,Mon-Fri 09:00-17:00,\n"
            "uk,*,10,Europe/London,,2026-12-01..2026-12-31\n")
    leads = "id,territory,value,score\nw1,EU,1000,0.5\nw2,EU,2000,0.5\n"
    saturday = "2026-12-05T12:10:00+00:00"
    result = run(tmp_path, "--now", saturday, reps=reps, leads=leads)
    assert result.exit_code == 0, result.output
    answers = json.loads((tmp_path / "out.json").read_text())["assignments"]
    assert [(a["lead_id"], a["rep_id"], a["reason_code"]) for a in answers] == [
        ("w1", "in", "first_on_shift"), ("w2", "in", "first_on_shift")]
    # January: the London rep, who keeps no hours, is back from leave and on at any hour
    result = run(tmp_path, "--now", "2027-01-09T12:10:00+00:00", reps=reps, leads=leads)
    answers = json.loads((tmp_path / "out.json").read_text())["assignments"]
    assert {a["rep_id"] for a in answers} == {"uk"}
    (tmp_path / "out.json").unlink()
    result = run(tmp_path, "--now", "2026-12-05T12:10:00", reps=reps, leads=leads)
    assert result.exit_code == 2 and "field 'now'" in result.output and "offset" in result.output
    assert not (tmp_path / "out.json").exists()
