"""`leadsolver events` (issue 12 item 3): the id rule on lead ids, a conflicting disposition refused,
a `;`-delimited file, a zero-byte file."""

import json
import unicodedata
from pathlib import Path

from click.testing import CliRunner

from solver.cli.main import main


def cli(*argv: str) -> tuple[int, str]:
    """Exit code and stdout, or stderr and stdout when it failed."""
    result = CliRunner().invoke(main, list(argv))
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr + result.stdout


def ledger_with(tmp: Path, leads: str) -> Path:
    """A ledger whose run assigned the leads of `leads` (a CSV text) to R1."""
    (tmp / "reps.csv").write_text("id,capacity\nR1,9\n")
    (tmp / "leads.csv").write_text(leads, encoding="utf-8")
    db = tmp / "ledger.db"
    code, text = cli("run", "--db", str(db), "--reps", str(tmp / "reps.csv"), "--leads", str(tmp / "leads.csv"),
                     "--now", "2026-03-02T09:00:00Z", "--format", "json")
    assert code == 0, text
    assert {a["rep_id"] for a in json.loads(text)["assignments"]} == {"R1"}
    return db


def events(db: Path, name: str, text: str, *extra: str) -> tuple[int, str]:
    path = db.parent / name
    path.write_text(text, encoding="utf-8")
    return cli("events", "--db", str(db), "--file", str(path), "--now", "2026-03-03T09:00:00Z", *extra)


def lead_rows(db: Path) -> dict[str, dict]:
    code, text = cli("history", "--db", str(db), "--format", "json")
    assert code == 0, text
    return {r["lead_id"]: r for r in json.loads(text)["leads"]}


def test_an_nfd_lead_id_finds_the_nfc_lead(tmp_path):
    nfc = unicodedata.normalize("NFC", "Café")
    db = ledger_with(tmp_path, f"id,value\n{nfc},10\n")
    nfd = unicodedata.normalize("NFD", "Café")
    assert nfd != nfc
    code, text = events(db, "e.csv", f"lead_id,action\n{nfd},won\n", "--format", "json")
    assert code == 0, text
    assert json.loads(text)["summary"] == {"events": 1, "applied": 1, "unchanged": 0}
    assert lead_rows(db)[nfc]["outcome"] == "won"


def test_a_zero_width_space_in_a_lead_id_is_the_id_rules_error_naming_file_row_and_field(tmp_path):
    db = ledger_with(tmp_path, "id,value\nL1,10\n")
    code, text = events(db, "e.csv", "lead_id,action\nL1,touch\nL1\u200b,won\n")
    assert code == 2, text
    assert f"{db.parent / 'e.csv'}, row 2, field 'lead_id': an id must not hold control or invisible " \
           "characters (U+200B at character 3)" in text
    assert lead_rows(db)["L1"]["outcome"] is None  # nothing applied, the touch neither


def test_a_disposition_that_conflicts_with_the_recorded_one_exits_2_and_applies_nothing(tmp_path):
    db = ledger_with(tmp_path, "id,value\nE1,10\nE2,10\n")
    code, text = events(db, "won.csv", "lead_id,action\nE1,won\n")
    assert code == 0, text
    code, text = events(db, "lost.csv", "lead_id,action\nE2,touch\nE1,lost\n")
    assert code == 2, text
    assert f"{db.parent / 'lost.csv'}, row 2, field 'action': lead 'E1' is recorded as won" in text
    rows = lead_rows(db)
    assert rows["E1"]["outcome"] == "won" and rows["E2"]["touched_at"] is None  # the touch neither
    code, text = events(db, "won.csv", "lead_id,action\nE1,won\n", "--format", "json")  # the same again
    assert code == 0 and json.loads(text)["summary"] == {"events": 1, "applied": 0, "unchanged": 1}, text


def test_two_dispositions_of_one_lead_in_one_file_conflict(tmp_path):
    db = ledger_with(tmp_path, "id,value\nE1,10\n")
    code, text = events(db, "both.csv", "lead_id,action,reason\nE1,won,\nE1,disqualified,no_budget\n")
    assert code == 2 and "row 2, field 'action'" in text and "won" in text, text
    assert lead_rows(db)["E1"]["outcome"] is None
    code, text = events(db, "dq.csv", "lead_id,action,reason\nE1,disqualified,no_budget\n")
    assert code == 0, text
    code, text = events(db, "dq2.csv", "lead_id,action,reason\nE1,disqualified,not_a_fit\n")
    assert code == 2 and "row 1, field 'action'" in text and "no_budget" in text, text


def test_a_semicolon_delimited_events_file_is_read(tmp_path):
    db = ledger_with(tmp_path, "id,value\nE1,10\n")
    code, text = events(db, "e.csv", "lead_id;action;at;reason;value\nE1;won;2026-03-02T12:00:00Z;;2500\n",
                        "--format", "json")
    assert code == 0, text
    assert json.loads(text)["summary"]["applied"] == 1
    assert lead_rows(db)["E1"]["outcome_value"] == 2500.0


def test_a_zero_byte_events_file_is_nothing_to_apply(tmp_path):
    db = ledger_with(tmp_path, "id,value\nE1,10\n")
    code, text = events(db, "e.csv", "")
    assert code == 0 and "nothing to apply" in text, text
    code, text = events(db, "e.csv", "", "--format", "json")
    assert code == 0 and json.loads(text)["summary"] == {"events": 0, "applied": 0, "unchanged": 0}, text
