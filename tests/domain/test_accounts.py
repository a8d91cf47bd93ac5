"""The accounts file (issue 13 item 3, loading): columns, synonyms and every cross check."""

from __future__ import annotations

from pathlib import Path

import pytest

from solver.domain.accounts import load_accounts
from solver.domain.errors import InputError
from solver.domain.model import Policy, Rep

REPS = [Rep(id="r1", capacity=1), Rep(id="r2", capacity=1)]
HEADER = "account_id,name,owner,parent_account_id,named,named_rep_id,named_team_id\n"


def write(tmp_path: Path, text: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_the_long_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "A1,Acme GmbH,,A0,true,r2,\nA0,Acme Holding,r1,,false,,\n")
    sub, parent = load_accounts(path, REPS)
    assert (sub.id, sub.parent_id, sub.named, sub.named_rep_id, sub.owner_id) == ("A1", "A0", True, "r2", "")
    assert (parent.name, parent.owner_id) == ("Acme Holding", "r1")


def test_yaml_with_the_short_names_and_a_named_team(tmp_path: Path) -> None:
    path = write(tmp_path, "- {id: A1, owner_id: r1, named: true, named_team_id: strategic}\n", "a.yaml")
    policy = Policy.model_validate({"teams": [{"id": "strategic", "members": ["r2"]}]})
    (account,) = load_accounts(path, REPS, policy=policy)
    assert account.named_team_id == "strategic"


def test_an_owner_who_left_is_read_as_departed_and_said(tmp_path: Path) -> None:
    """Issue 13 item 4: a CRM still names the owner who left; the account is read, with a warning
    naming the row and the field (its leads then take fallback.owner_inactive)."""
    with pytest.warns(UserWarning, match=r"accounts.csv, row 2, field 'owner_id': 'gone' is no rep"):
        accounts = load_accounts(write(tmp_path, HEADER + "A1,x,r1,,,,\nA2,y,gone,,,,\n"), REPS)
    assert [a.owner_id for a in accounts] == ["r1", "gone"]


@pytest.mark.parametrize(("fallback", "fate"), [
    (None, "its leads are routed as if unowned"),
    ({"owner_inactive": {"queue": "review"}, "queues": ["review"]}, "its leads take fallback.owner_inactive"),
])
def test_a_departed_owners_warning_says_what_happens_to_the_leads(tmp_path: Path, fallback, fate) -> None:
    # it claimed the fallback applied when the policy had none, and the leads were routed normally
    policy = Policy.model_validate({} if fallback is None else {"fallback": fallback})
    with pytest.warns(UserWarning, match=fate) as caught:
        load_accounts(write(tmp_path, HEADER + "A2,y,gone,,,,\n"), REPS, policy=policy)
    assert len(caught) == 1


@pytest.mark.parametrize(("rows", "row", "field", "words"), [
    ("A1,x,,,true,r1,\nA2,x,,,true,nobody,\n", 2, "named_rep_id", "names no rep"),
    ("A1,x,,,true,,nope\n", 1, "named_team_id", "names no team"),
    ("A1,x,,A9,,,\n", 1, "parent_account_id", "'A9' names no account"),
    ("A1,x,,A2,,,\nA2,x,,A3,,,\nA3,x,,A1,,,\n", 1, "parent_account_id", "cycle (A1 -> A2 -> A3 -> A1)"),
    ("A1,x,,A1,,,\n", 1, "parent_account_id", "cycle"),
    ("A1,x,,,,,\na1,y,,,,,\n", 2, "account_id", "case"),
    ("A1,x,,,maybe,,\n", 1, "named", "boolean"),
])
def test_each_bad_account_names_row_and_field(tmp_path: Path, rows: str, row: int, field: str,
                                              words: str) -> None:
    with pytest.raises(InputError) as err:
        load_accounts(write(tmp_path, HEADER + rows), REPS, policy=Policy())
    assert (err.value.row, err.value.field) == (row, field)
    assert words in err.value.message


NAMED_REPS = [Rep(id="E01", name="Ana Silva", capacity=1), Rep(id="E02", name="Marcus Reyes", capacity=1),
              Rep(id="E03", name="Marcus Reyes", capacity=1)]


def test_an_owner_given_by_the_reps_name_is_that_rep(tmp_path: Path, recwarn) -> None:
    # an owner written as a CRM shows it ("Ana Silva") was read as a departed owner; leads took names
    (account,) = load_accounts(write(tmp_path, HEADER + "A1,x,ana silva,,,,\n"), NAMED_REPS)
    assert account.owner_id == "E01"
    assert not [w for w in recwarn if "departed" in str(w.message)]


def test_an_owners_name_two_reps_share_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"more than one rep \(E02, E03\)") as err:
        load_accounts(write(tmp_path, HEADER + "A1,x,E01,,,,\nA2,y,Marcus Reyes,,,,\n"), NAMED_REPS)
    assert (err.value.row, err.value.field) == (2, "owner")


def test_a_named_account_naming_no_rep_and_no_team_is_an_error(tmp_path: Path) -> None:
    # named: true with neither named_rep_id nor named_team_id was accepted: its leads went to anyone
    with pytest.raises(InputError, match="needs a named_rep_id or a named_team_id") as err:
        load_accounts(write(tmp_path, HEADER + "A1,x,,,false,,\nA2,y,,,true,,\n"), REPS, policy=Policy())
    assert (err.value.row, err.value.field) == (2, "named")


@pytest.mark.parametrize(("header", "rows", "column"), [
    ("account_id,name,parent_account_id\n", "A1,x,\nA1,y,\n", "account_id"),
    ("Account_ID,name,parent_account_id\n", "A1,x,\nA2,y,A9\n", "parent_account_id"),
    ("id;name;parent_id\n", "A1;x;\nA2;y;A9\n", "parent_id"),
    ("id;name;Parent_Account_ID\n", "A1;x;\nA2;y;A9\n", "Parent_Account_ID"),
])
def test_an_error_names_the_files_own_column(tmp_path: Path, header: str, rows: str, column: str) -> None:
    # a duplicate in column account_id said "field 'id'", a bad parent_account_id "field 'parent_id'"
    with pytest.raises(InputError) as err:
        load_accounts(write(tmp_path, header + rows), REPS)
    assert (err.value.row, err.value.field) == (2, column)
