"""`leadsolver events` (issue 12 item 3): the id rule on lead ids, a conflicting disposition refused,
a `;`-delimited file, a zero-byte file; an assign's rep and lead checked (new-user QA pass)."""

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


def queued_ledger(tmp: Path) -> Path:
    """A ledger with Q1 in the queue review (no rule admits it) and L1 assigned; reps R1 and R2."""
    (tmp / "reps.csv").write_text("id,capacity,territories\nR1,9,EU\nR2,9,APAC\n")
    (tmp / "leads.csv").write_text("id,value,territory\nQ1,10,US\nL1,10,EU\n")
    (tmp / "policy.yaml").write_text("solver: flow\nfallback: {no_rule_match: {queue: review}, queues: [review]}\n")
    db = tmp / "ledger.db"
    code, text = cli("run", "--db", str(db), "--reps", str(tmp / "reps.csv"), "--leads", str(tmp / "leads.csv"),
                     "--policy", str(tmp / "policy.yaml"), "--now", "2026-03-02T09:00:00Z", "--format", "json")
    assert code == 0, text
    assert {a["lead_id"]: a["rep_id"] for a in json.loads(text)["assignments"]} == {"Q1": None, "L1": "R1"}
    return db


def test_an_assign_to_a_rep_the_reps_file_lacks_exits_2_and_applies_nothing(tmp_path):
    db = queued_ledger(tmp_path)
    reps = str(tmp_path / "reps.csv")
    text = "lead_id,action,at,rep_id\nL1,touch,,\nQ1,assign,2026-03-02T11:00:00+00:00,R9\n"
    code, out = events(db, "e.csv", text, "--reps", reps)
    assert code == 2, out
    assert f"{db.parent / 'e.csv'}, row 2, field 'rep_id': 'R9' is no rep of the reps file {reps}" in out
    code, out = events(db, "e.csv", text)  # without the reps file an assign cannot be checked
    assert code == 2 and "row 2, field 'rep_id': an assign needs --reps" in out, out
    rows = lead_rows(db)
    assert rows["Q1"]["lifecycle"] == "queued" and rows["L1"]["touched_at"] is None  # the touch neither
    code, out = cli("learn", "--ledger", str(db), "--reps", reps)
    assert code == 0, out


def test_an_assign_of_a_lead_that_waits_no_more_exits_2_saying_where_it_stands(tmp_path):
    db = queued_ledger(tmp_path)
    reps = "--reps", str(tmp_path / "reps.csv")
    code, out = events(db, "e.csv", "lead_id,action,rep_id\nQ1,touch,\nL1,assign,R2\n", *reps)
    assert code == 2, out
    assert "row 2, field 'action': lead 'L1' is not waiting in a queue or the backlog: assigned to 'R1'" in out
    code, out = events(db, "e.csv", "lead_id,action,rep_id\nQ1,assign,R1\nQ1,assign,R2\n", *reps)
    assert code == 2 and "row 2, field 'action': lead 'Q1' is not waiting in a queue or the backlog: " \
                         "assigned to 'R1' by row 1 of this file" in out, out
    code, out = events(db, "e.csv", "lead_id,action,rep_id\nQ1,release,\nQ1,assign,R2\n", *reps)
    assert code == 2 and "row 2, field 'action'" in out and "closed by row 1 of this file" in out, out
    rows = lead_rows(db)
    assert (rows["Q1"]["lifecycle"], rows["L1"]["rep_id"]) == ("queued", "R1")  # nothing applied


def test_an_assign_applied_before_changes_nothing_and_says_so(tmp_path):
    db = queued_ledger(tmp_path)
    reps = "--reps", str(tmp_path / "reps.csv")
    text = "lead_id,action,rep_id\nQ1,assign,R2\nQ1,assign,R2\nQ1,won,\n"
    for summary in ({"events": 3, "applied": 2, "unchanged": 1}, {"events": 3, "applied": 0, "unchanged": 3}):
        code, out = events(db, "e.csv", text, *reps, "--format", "json")
        assert code == 0 and json.loads(out)["summary"] == summary, out
    row = lead_rows(db)["Q1"]
    assert (row["rep_id"], row["reason_code"], row["outcome"]) == ("R2", "assigned_by_person", "won")
    code, out = events(db, "again.csv", "lead_id,action,rep_id\nQ1,assign,R1\n", *reps)  # another rep: refused
    assert code == 2 and "lead 'Q1' is not waiting in a queue or the backlog: assigned to 'R2', since closed" \
        in out, out


def test_an_event_dated_before_the_lead_was_there_is_refused_and_nothing_applied(tmp_path):
    # a file on the CRM's clock against a ledger run on another: touches 28 days before the
    # assignment went in, and the experiment report printed negative minutes to first touch
    db = ledger_with(tmp_path, "id,value\nL1,10\nL2,10\n")  # accepted and assigned 2026-03-02 09:00
    code, text = events(db, "early.csv", "lead_id,action,at\nL2,touch,2026-03-02T10:00:00Z\n"
                                         "L1,touch,2026-03-02T08:59:00Z\n")
    assert code == 2, text
    assert f"{db.parent / 'early.csv'}, row 2, field 'at': 2026-03-02T08:59:00+00:00 is before the lead " \
           "was accepted (2026-03-02T09:00:00+00:00)" in text
    code, text = events(db, "won.csv", "lead_id,action,at\nL1,won,2026-02-01T00:00:00Z\n")
    assert code == 2 and "field 'at'" in text and "before the lead was accepted" in text
    rows = lead_rows(db)
    assert rows["L2"]["touched_at"] is None and rows["L1"]["outcome"] is None  # the whole file refused
    code, text = events(db, "ok.csv", "lead_id,action,at\nL1,touch,2026-03-02T09:05:00Z\n")
    assert code == 0, text


def test_an_event_dated_after_now_is_refused_beyond_clock_skew(tmp_path):
    # a touch dated next year: learn read 303,600 minutes of response time in it
    db = ledger_with(tmp_path, "id,value\nL1,10\nL2,10\n")
    code, text = events(db, "late.csv", "lead_id,action,at\nL1,touch,2026-03-03T08:00:00Z\n"
                                        "L2,touch,2027-06-01T09:00:00Z\n")  # now: 2026-03-03 09:00
    assert code == 2 and f"{db.parent / 'late.csv'}, row 2, field 'at'" in text and "after now" in text, text
    assert lead_rows(db)["L1"]["touched_at"] is None  # the whole file refused
    # a CRM clock a few minutes ahead of ours is not a mistake
    assert events(db, "skew.csv", "lead_id,action,at\nL1,touch,2026-03-03T09:04:00Z\n")[0] == 0


def test_a_touch_before_the_leads_assignment_is_refused(tmp_path):
    # the lead waits in the backlog from 09:00 (no room) and is placed by the 12:00 run
    (tmp_path / "full.csv").write_text("id,capacity\nR1,0\n")
    (tmp_path / "reps.csv").write_text("id,capacity\nR1,9\n")
    (tmp_path / "leads.csv").write_text("id,value\nW1,10\n")
    db = tmp_path / "ledger.db"
    for reps, now in (("full.csv", "2026-03-02T09:00:00Z"), ("reps.csv", "2026-03-02T12:00:00Z")):
        code, text = cli("run", "--db", str(db), "--reps", str(tmp_path / reps), "--leads",
                         str(tmp_path / "leads.csv"), "--now", now)
        assert code == 0, text
    assert lead_rows(db)["W1"]["rep_id"] == "R1"
    code, text = events(db, "early.csv", "lead_id,action,at\nW1,touch,2026-03-02T10:00:00Z\n")
    assert code == 2 and "row 1, field 'at': a touch at 2026-03-02T10:00:00+00:00 is before the lead " \
                          "was assigned (2026-03-02T12:00:00+00:00)" in text, text
    assert lead_rows(db)["W1"]["touched_at"] is None
    assert events(db, "ok.csv", "lead_id,action,at\nW1,touch,2026-03-02T12:05:00Z\n")[0] == 0


def test_a_time_a_fraction_of_a_second_early_shows_the_fraction(tmp_path):
    # the service accepts a lead at 22:40:42.6; a CRM event dated 22:40:42 read "22:40:42 is before
    # the lead was accepted (22:40:42)": both times now show the fraction that tells them apart
    (tmp_path / "reps.csv").write_text("id,capacity\nR1,9\n")
    (tmp_path / "leads.csv").write_text("id,value\nL1,10\n")
    db = tmp_path / "ledger.db"
    code, text = cli("run", "--db", str(db), "--reps", str(tmp_path / "reps.csv"), "--leads",
                     str(tmp_path / "leads.csv"), "--now", "2026-03-02T09:00:00.6Z")
    assert code == 0, text
    code, text = events(db, "early.csv", "lead_id,action,at\nL1,touch,2026-03-02T09:00:00Z\n")
    assert code == 2 and "2026-03-02T09:00:00.000000+00:00 is before the lead was accepted " \
                          "(2026-03-02T09:00:00.600000+00:00)" in text, text
    assert events(db, "ok.csv", "lead_id,action,at\nL1,touch,2026-03-02T09:00:01Z\n")[0] == 0
