"""The shared CSV helpers and the atomic write of domain/io."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import pytest

from solver.domain.errors import InputError
from solver.domain.io import csv_dicts, csv_text, load_leads, load_reps, write_atomic
from solver.domain.model import Lead


def test_csv_text_quotes_what_needs_quoting_and_ends_rows_with_newline() -> None:
    text = csv_text(("id", "note"), [("a", 'says "hi", twice'), ("b", 2.5)])
    assert text == 'id,note\na,"says ""hi"", twice"\nb,2.5\n'
    assert list(csv.reader(io.StringIO(text))) == [["id", "note"], ["a", 'says "hi", twice'], ["b", "2.5"]]


def test_csv_dicts_strips_the_header_and_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(" rep_id , outcome\nr1,won\n")
    assert list(csv_dicts(path, ("rep_id", "outcome"))) == [{"rep_id": "r1", "outcome": "won"}]
    with pytest.raises(InputError) as err:
        csv_dicts(path, ("rep_id", "closed_at"))
    assert (err.value.file, err.value.row, err.value.field) == (str(path), "header", "closed_at")


def test_write_atomic_replaces_the_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out" / "result.json"
    write_atomic(path, "first\n")
    write_atomic(path, "second\n")
    assert path.read_text() == "second\n"
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


@pytest.mark.parametrize(("cell", "written"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),  # formula injection
    ("+1-555", "'+1-555"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),  # and quoted: an unquoted CR broke the row for every reader
    ("L0001", "L0001"),  # plain text as it is
    ("a=b", "a=b"),  # only the first character starts a formula
])
def test_csv_text_defuses_cells_a_spreadsheet_would_run_as_formulas(cell: str, written: str) -> None:
    """Issue 12 item 8: an id like =HYPERLINK(...) went verbatim into `--format csv`."""
    text = csv_text(("id",), [(cell,)])
    assert list(csv.reader(io.StringIO(text))) == [["id"], [written]]


def test_csv_text_keeps_numbers_numbers() -> None:
    text = csv_text(("value", "delta", "text"), [(-2.5, -3, "-3")])
    assert text.splitlines()[1] == "-2.5,-3,'-3"


@pytest.mark.parametrize(("name", "text", "message", "allowed"), [
    ("zero.csv", "", "file is empty", None),  # no header at all: a broken export either way
    ("blank.csv", "\n  \n", "file is empty", None),
    ("zero.json", "", "file is empty", None),
    ("blank.yaml", "\n\n", "file is empty", None),
    ("header.csv", "id,value\n", "no leads in the file", []),  # `run`: a day with nothing new
    ("empty.json", "[]", "no leads in the file", []),
    ("empty.yaml", "leads: []\n", "no leads in the file", []),
])
def test_a_leads_file_without_leads_is_an_error_unless_allowed_empty(tmp_path, name, text, message,
                                                                      allowed) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_leads(path)
    if allowed is None:
        with pytest.raises(InputError, match=message):
            load_leads(path, allow_empty=True)
    else:
        assert load_leads(path, allow_empty=True) == allowed


def test_allow_empty_still_checks_a_header_and_the_rows(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("value\n")
    with pytest.raises(InputError, match="missing required column"):
        load_leads(path, allow_empty=True)
    path.write_text("id,value\nL1,lots\n")
    with pytest.raises(InputError, match="row 1, field 'value'"):
        load_leads(path, allow_empty=True)


# -- QA pass: blank header cells, as spreadsheets save them

def test_blank_header_cells_over_empty_columns_are_ignored(tmp_path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("id,territories,capacity,,\nR1,NA,5,,\nR2,EMEA,5,,\n")
    leads = tmp_path / "leads.csv"
    leads.write_text("id,territory,value,\nL1,NA,1000,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unknown columns" warning naming an empty column
        assert [r.id for r in load_reps(reps)] == ["R1", "R2"]
        (lead,) = load_leads(leads)
    assert lead.attributes == {}


def test_a_blank_header_cell_over_values_names_the_column(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("id,,value\nL1,,1\nL2,x,2\n")
    with pytest.raises(InputError, match=r"column 2 has no name but holds values \(row 2: 'x'\)") as err:
        load_leads(path)
    assert (err.value.row, err.value.field) == ("header", None)


# -- QA pass: file types by extension

def one_lead(tmp_path: Path, name: str, text: str) -> Lead:
    """The one lead of a leads file `name` holding `text`."""
    path = tmp_path / name
    path.write_text(text)
    (lead,) = load_leads(path)
    return lead


@pytest.mark.parametrize(("name", "text"), [
    ("leads.tsv", "id\tvalue\tterritory\nL1\t5\tNA\n"),
    ("leads.txt", "id,value,territory\nL1,5,NA\n"),
    ("leads.TXT", "id;value;territory\nL1;5;NA\n"),
])
def test_tsv_and_txt_files_are_read_as_delimited_text(tmp_path, name, text) -> None:
    lead = one_lead(tmp_path, name, text)
    assert (lead.id, lead.value, lead.territory) == ("L1", 5.0, "NA")


@pytest.mark.parametrize(("name", "message"), [
    ("leads.xlsx", r"a spreadsheet \(.xlsx\) is not read: save it as CSV \(UTF-8\)"),
    ("leads.ods", r"a spreadsheet \(.ods\) is not read: save it as CSV \(UTF-8\)"),
    ("leads.xml", r"unknown file type '.xml': records are read from .csv, .tsv, .txt"),
    ("leads", r"unknown file type '\(no extension\)'"),
])
def test_other_file_types_are_one_error_saying_what_is_read(tmp_path, name, message) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not text")
    with pytest.raises(InputError, match=message) as err:
        load_leads(path)
    assert err.value.file == str(path)


# -- QA pass: numeric ids in JSON and YAML (HubSpot's record ids are numbers)

@pytest.mark.parametrize(("name", "text"), [
    ("leads.json", '[{"id": 1, "value": 10, "owner_id": 7, "account_id": 12345678901234567890}]'),
    ("leads.yaml", "- {id: 1, value: 10, owner_id: 7, account_id: 12345678901234567890}\n"),
])
def test_integer_ids_are_read_as_their_digits(tmp_path, name, text) -> None:
    lead = one_lead(tmp_path, name, text)
    assert (lead.id, lead.owner_id, lead.account_id) == ("1", "7", "12345678901234567890")


@pytest.mark.parametrize(("written", "number"), [("0012", 10), ("0x1F", 31), ("1_000", 1000)])
def test_a_yaml_id_yaml_reads_as_another_number_asks_for_quotes(tmp_path, written, number) -> None:
    path = tmp_path / "leads.yaml"
    path.write_text(f"- {{id: L1, value: 1}}\n- {{id: {written}, value: 10}}\n")
    with pytest.raises(InputError) as err:
        load_leads(path)
    assert (err.value.row, err.value.field) == (2, "id")
    assert err.value.message == (f'YAML reads {written} as the number {number}: quote the id ("{written}") '
                                 "to keep it as written")


def test_a_boolean_id_is_still_refused(tmp_path) -> None:
    path = tmp_path / "leads.json"
    path.write_text('[{"id": true, "value": 10}]')
    with pytest.raises(InputError, match="field 'id': Input should be a valid string"):
        load_leads(path)


def test_an_encoding_error_names_the_record_row_as_other_errors_do_and_keeps_the_line(tmp_path: Path) -> None:
    """QA: after a quoted field spanning lines, `row 11 ... (line 12)` named the wrong record; a
    UTF-16 file said `row 1` for its header."""
    head = 'id,note,value\nl1,"two\nlines",5\n\nl3,ok,7\n'
    text = (head + "l4,Köln,9\n").encode("latin-1")
    path = tmp_path / "leads.csv"
    path.write_bytes(text)
    with pytest.raises(InputError, match=r"byte 0xf6 at line 6\)") as err:
        load_leads(path)
    # the row a bad value in that record gets (the blank line counts, as for every error)
    path.write_bytes((head + "l4,Koln,x\n").encode())
    with pytest.raises(InputError) as bad_value:
        load_leads(path)
    assert err.value.row == bad_value.value.row == 4
    path.write_bytes("id,value\nl1,5\n".encode("utf-16"))
    with pytest.raises(InputError, match=r"at line 1\)") as err:
        load_leads(path)
    assert err.value.row == "header"


def test_an_excel_style_date_is_refused_saying_the_iso_format_expected(tmp_path: Path) -> None:
    """QA: the Salesforce sample's Created Date (11/2/2026) failed with pydantic's 'input is too short'."""
    path = tmp_path / "leads.csv"
    path.write_text("id,value,created_at\nl1,5,2026-11-02\nl2,5,11/2/2026\n")
    with pytest.raises(InputError) as err:
        load_leads(path)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), 2, "created_at")
    assert "ISO 8601, e.g. 2026-11-02 or 2026-11-02T09:00:00+00:00 (got '11/2/2026')" in err.value.message
