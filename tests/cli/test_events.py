"""`leadsolver events` (issue 12 item 3): the id rule on lead ids."""

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
