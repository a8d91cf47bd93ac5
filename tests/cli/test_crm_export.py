"""Reading real exports through the commands (issue 13): the Salesforce scenario, --columns, delimiters,
typo warnings, `validate`'s report of the mapping and the rules, --accounts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from solver.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "salesforce"
REPS = "id,territories,capacity\nr1,EMEA,30\nr2,NA,30\n"


def invoke(*argv: str) -> Result:
    return CliRunner().invoke(main, list(argv))


def scenario(command: str, *extra: str) -> Result:
    return invoke(command, "--reps", str(SCENARIO / "reps.csv"), "--leads", str(SCENARIO / "leads.csv"),
                  "--policy", str(SCENARIO / "policy.yaml"), *extra)


def test_salesforce_export_runs_through_the_preset_and_places_the_leads() -> None:
    result = scenario("assign", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    placed = {a["lead_id"]: a["rep_id"] for a in data["assignments"]}
    assert len(placed) == 30 and data["summary"]["counts"]["assigned"] == 29
    assert placed["00Q5g0000000017AAA"] is None  # the typo: warned, not placed
    assert placed["00Q5g0000000004AAA"] == "005A1"  # "Lead Owner: Ana Silva" keeps her lead
    assert "row 17, field 'territory': 'Germnay' matches no rep or rule (did you mean 'Germany'?)" \
        in result.stderr


def test_validate_reports_mapping_rules_and_typos_after_the_ok_line() -> None:
    result = scenario("validate")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok: 6 reps, 30 leads, solver flow"
    assert "columns: preset salesforce, 7 aliases for territory" in lines
    assert any("Lead ID -> id" in line and "Annual Revenue -> value" in line for line in lines)
    assert "  big companies to the senior reps (soft prefer): matches 9 of 30 leads; prefers 3 of 6 reps " \
           "for them" in lines
    assert any("'Germnay'" in line for line in lines)


def export(tmp_path: Path, delimiter: str = ",") -> tuple[str, str]:
    """The issue's CRM export: its own column names, 20 leads, lowercase territories."""
    rows = [["Lead ID", "Owner", "Region", "Amount"]]
    rows += [[f"X{i}", "", ["EMEA", "emea", "NA", "na "][i % 4], str(100 + i)] for i in range(20)]
    (tmp_path / "leads.csv").write_text("\n".join(delimiter.join(r) for r in rows) + "\n")
    (tmp_path / "reps.csv").write_text(REPS)
    (tmp_path / "columns.yaml").write_text("leads: {id: Lead ID, owner_id: Owner, territory: Region, "
                                           "value: Amount}\n")
    return str(tmp_path / "reps.csv"), str(tmp_path / "leads.csv")


def test_an_export_with_its_own_columns_and_lowercase_territories_is_placed(tmp_path: Path) -> None:
    for delimiter in (",", ";", "\t"):
        reps, leads = export(tmp_path, delimiter)
        result = invoke("assign", "--reps", reps, "--leads", leads, "--columns",
                        str(tmp_path / "columns.yaml"), "--format", "json")
        assert result.exit_code == 0, (delimiter, result.output)
        assert json.loads(result.stdout)["summary"]["counts"]["assigned"] == 20, delimiter
        assert result.stderr == ""  # every column mapped, every label matched


def test_without_the_mapping_the_missing_column_is_named(tmp_path: Path) -> None:
    reps, leads = export(tmp_path, ";")
    result = invoke("validate", "--reps", reps, "--leads", leads)
    assert result.exit_code == 2
    assert "leads.csv, header row, field 'id': missing required column" in result.stderr


def test_run_reads_through_the_columns_file(tmp_path: Path) -> None:
    reps, leads = export(tmp_path)
    result = invoke("run", "--db", str(tmp_path / "ledger.db"), "--reps", reps, "--leads", leads,
                    "--columns", str(tmp_path / "columns.yaml"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["counts"]["assigned"] == 20


def test_validate_counts_the_accounts(tmp_path: Path) -> None:
    reps, leads = export(tmp_path)
    (tmp_path / "accounts.csv").write_text("account_id,owner,parent_account_id,named,named_rep_id\n"
                                           "A1,r1,,true,r2\nA2,,A1,false,\n")
    result = invoke("validate", "--reps", reps, "--leads", leads, "--columns", str(tmp_path / "columns.yaml"),
                    "--accounts", str(tmp_path / "accounts.csv"))
    assert result.exit_code == 0, result.output
    assert "accounts: 2 (1 named)" in result.stdout.splitlines()


def test_assign_routes_a_subsidiary_lead_to_its_parent_accounts_owner(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text("id,territories,capacity,skills\nr1,*,5,fin:2\nr2,*,5,\n")
    (tmp_path / "leads.csv").write_text("id,value,account_id,industry\nl1,100,SUB,fin\n")
    (tmp_path / "accounts.csv").write_text("account_id,owner,parent_account_id\nPARENT,r2,\nSUB,,PARENT\n")
    argv = ["assign", "--reps", str(tmp_path / "reps.csv"), "--leads", str(tmp_path / "leads.csv"),
            "--format", "json"]
    without = invoke(*argv)
    with_accounts = invoke(*argv, "--accounts", str(tmp_path / "accounts.csv"))
    assert with_accounts.exit_code == 0, with_accounts.output
    assert json.loads(with_accounts.stdout)["assignments"][0]["rep_id"] == "r2"
    assert json.loads(without.stdout)["assignments"][0]["rep_id"] == "r1"  # the better fit, without the account


def test_validate_prints_each_rule_mode_matches_and_reps(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text("id,territories,capacity,languages\nr1,*,5,en;de\nr2,*,5,en\n"
                                       "r3,*,5,fr\n")
    (tmp_path / "leads.csv").write_text("id,value,Lead Source,language\nl1,1,Web,de\nl2,1,Event,fr\n"
                                        "l3,1,Web,en\n")
    (tmp_path / "policy.yaml").write_text(
        "teams: [{id: core, members: [r1, r2]}]\n"
        "routing_rules:\n"
        "  - {name: speaks it, when: 'language present', then: {admit: {rep_attribute: languages, "
        "lead_field: language}}}\n"
        "  - {name: no events for r3, when: {Lead Source: event}, then: {exclude: {reps: [r3]}}}\n"
        "  - {name: web to core, when: {Lead Source: Web}, then: {admit: {team: core}}, mode: off}\n")
    result = invoke("validate", "--reps", str(tmp_path / "reps.csv"), "--leads", str(tmp_path / "leads.csv"),
                    "--policy", str(tmp_path / "policy.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "routing rules (3):",
        "  speaks it (hard admit): matches 3 of 3 leads; admits 3 of 3 reps for them",
        "  no events for r3 (hard exclude): matches 1 of 3 leads; excludes 1 of 3 reps for them",
        "  web to core (off admit): off",
    ]


def test_validate_counts_the_leads_that_took_a_fallback_column(tmp_path: Path) -> None:
    (tmp_path / "reps.csv").write_text(REPS)
    (tmp_path / "leads.csv").write_text("Lead ID,Country,State/Province\nL1,,NA\nL2,EMEA,Bavaria\nL3,,EMEA\n")
    (tmp_path / "columns.yaml").write_text("preset: salesforce\n")
    result = invoke("validate", "--reps", str(tmp_path / "reps.csv"), "--leads", str(tmp_path / "leads.csv"),
                    "--columns", str(tmp_path / "columns.yaml"))
    assert result.exit_code == 0, result.output
    assert f"  {tmp_path / 'leads.csv'}: territory from State/Province where Country is blank: 2 of 3 leads" \
        in result.stdout.splitlines()


def test_the_columns_help_tells_of_a_list_of_columns() -> None:
    """QA: the help said `leads: {field: column}` alone; a field may name a list of columns."""
    for command in ("validate", "assign", "run"):
        result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
        text = " ".join(result.output.split())
        assert "leads: {field: column, or [column, ...]: the first not blank on each record}" in text
