"""The records' field rules: one id rule everywhere, bounded numbers, no booleans as numbers.

The service builds `Lead` records from its JSON bodies and the loaders build
them from files, so these rules hold for both (issue 12 items 3, 6, 7).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from solver.domain.errors import InputError
from solver.domain.model import (
    MAX_CAPACITY,
    MAX_LEAD_VALUE,
    Lead,
    Policy,
    Rep,
    check_owners,
    check_unique_ids,
)


def test_every_id_field_follows_the_id_rule() -> None:
    lead = Lead(id=" e\u0301 ", value=1, account_id="A\u0301", parent_account_id="P1", owner_id="r\u0301")
    assert (lead.id, lead.account_id, lead.owner_id) == ("\u00e9", "\u00c1", "\u0155")
    assert Rep(id="e\u0301", capacity=1).id == "\u00e9"
    assert Lead(id="L1", value=1).account_id == ""  # optional ids stay optional
    for field in ("id", "account_id", "parent_account_id", "owner_id"):
        with pytest.raises(ValidationError, match="U\\+200B"):
            Lead(**{"id": "L1", "value": 1, field: "X\u200b1"})
    with pytest.raises(ValidationError, match="U\\+000A"):
        Rep(id="r\n1", capacity=1)


@pytest.mark.parametrize(("model", "field"), [
    (Lead, "value"), (Lead, "score"), (Lead, "effort"), (Rep, "capacity"), (Rep, "open_leads"),
    (Rep, "quota_weight"), (Rep, "seniority"),
])
def test_true_and_false_are_not_numbers(model: type, field: str) -> None:
    base = {"id": "x", "value": 1} if model is Lead else {"id": "x", "capacity": 1}
    for flag in (True, False):
        with pytest.raises(ValidationError, match="not true/false"):
            model(**base | {field: flag})
    with pytest.raises(ValidationError, match="not true/false"):
        Rep(id="x", capacity=1, skills={"fin": True})
    with pytest.raises(ValidationError, match="not true/false"):
        Policy(time_limit_s=True)


def test_numbers_from_csv_text_and_whole_floats_still_load() -> None:
    assert Lead(id="x", value="100.5", effort="2", score="0.5").value == 100.5
    assert Rep(id="x", capacity=3.0, quota_weight=2).capacity == 3


def test_money_and_counts_are_bounded_with_the_bound_itself_accepted() -> None:
    assert Lead(id="x", value=MAX_LEAD_VALUE).value == MAX_LEAD_VALUE
    assert Rep(id="x", capacity=MAX_CAPACITY).capacity == MAX_CAPACITY
    for bad in (MAX_LEAD_VALUE * 1.01, 1.7e308, float("inf"), float("nan")):
        with pytest.raises(ValidationError):
            Lead(id="x", value=bad)
    for bad_rep in ({"capacity": MAX_CAPACITY + 1}, {"capacity": 1, "open_leads": 2**63},
                    {"capacity": 1, "quota_weight": 1e308}, {"capacity": 1, "skills": {"fin": 1e6}}):
        with pytest.raises(ValidationError):
            Rep(id="x", **bad_rep)
    with pytest.raises(ValidationError):
        Lead(id="x", value=1, effort=10**30)


def test_list_items_and_skill_keys_refuse_wrong_separators() -> None:
    for bad in (("NA-West,EMEA",), ("NA-West|EMEA",)):
        with pytest.raises(ValidationError, match="';'"):
            Rep(id="x", capacity=1, territories=bad)
    with pytest.raises(ValidationError, match="';'"):
        Rep(id="x", capacity=1, skills={"Retail:1.2,Software": 0.9})
    with pytest.raises(ValidationError, match="twice"):
        Rep(id="x", capacity=1, skills={"Retail": 1.2, "retail": 0.9})


def test_near_duplicate_ids_name_both_rows() -> None:
    leads = [Lead(id="L1", value=1), Lead(id="L2", value=1), Lead(id="l1", value=1)]
    with pytest.raises(InputError) as err:
        check_unique_ids(leads, file="leads.csv", what="lead")
    assert (err.value.row, err.value.field) == (3, "id")
    assert "'l1'" in err.value.message and "row 1" in err.value.message and "'L1'" in err.value.message


def test_an_owner_differing_by_case_gets_a_hint() -> None:
    with pytest.raises(InputError, match="did you mean 'R1'"):
        check_owners([Rep(id="R1", capacity=1)], [Lead(id="L1", value=1, owner_id="r1")], leads_file="f")
