"""Reading real exports (issue 13 items 1, 2, 3, 4, 7): attributes, column maps, presets, delimiters,
aliases and case matching, typo warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from solver.domain.columns import ColumnMap, plan_renames
from solver.domain.errors import InputError
from solver.domain.io import InputWarning, load_columns, load_leads, load_policy, load_reps
from solver.domain.labels import unmatched_values
from solver.domain.model import Policy, Rep

REPS = [Rep(id="r1", name="Ana Silva", territories=("EMEA",), industries=("Software",), capacity=5),
        Rep(id="r2", name="Bo Chen", territories=("NA",), industries=("Retail",), capacity=5)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def policy(tmp_path: Path, text: str) -> Policy:
    return load_policy(write(tmp_path, "policy.yaml", text))


# -- item 1: extra columns become attributes; one warning for those no rule reads

def test_extra_csv_columns_become_attributes_and_only_unread_ones_are_warned(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value,employees,color\nl1,5,250,red\nl2,6,,blue\n")
    pol = policy(tmp_path, "routing_rules:\n  - {name: big, when: 'employees >= 200', "
                           "then: {prefer: {reps: [r1]}}}\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = load_leads(leads, policy=pol)
    assert [lead.attributes for lead in got] == [{"employees": "250", "color": "red"},
                                                 {"employees": "", "color": "blue"}]
    assert [str(w.message) for w in caught] == [
        f"{leads}: unknown columns (kept as attributes; no routing rule reads them): color"]


def test_json_and_yaml_extras_are_text_and_lists_are_joined(tmp_path: Path) -> None:
    reps = write(tmp_path, "reps.yaml", "- {id: r1, capacity: 2, languages: [en, de], level: 3, vip: true}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        (rep,) = load_reps(reps)
    assert rep.attributes == {"languages": "en;de", "level": "3", "vip": "true"}


def test_a_nested_extra_field_is_refused_naming_row_and_field(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.json", '[{"id": "l1", "value": 1, "meta": {"a": 1}}]')
    with pytest.raises(InputError) as err:
        load_leads(leads)
    assert (err.value.row, err.value.field) == (1, "meta")


def test_forty_unread_columns_make_one_short_warning(tmp_path: Path) -> None:
    header = ",".join(["id", "value", *(f"c{i:02}" for i in range(40))])
    leads = write(tmp_path, "leads.csv", header + "\nl1,1" + ",x" * 40 + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_leads(leads)
    assert len(caught) == 1
    assert str(caught[0].message).endswith("c00, c01, c02, c03, c04, c05, c06, c07 and 32 more")


# -- item 2: column mapping and presets

def test_the_policy_mapping_renames_an_export_with_its_own_column_names(tmp_path: Path) -> None:
    pol = policy(tmp_path, "columns:\n  leads: {id: Lead ID, owner_id: Owner, territory: Region, "
                           "value: Amount}\n")
    leads = write(tmp_path, "leads.csv", "Lead ID,Owner,Region,Amount\nL1,r1,EMEA,100\nL2,,NA,5\n")
    got = load_leads(leads, REPS, policy=pol)
    assert [(x.id, x.owner_id, x.territory, x.value) for x in got] == [
        ("L1", "r1", "EMEA", 100.0), ("L2", "", "NA", 5.0)]


def test_a_mapped_column_the_file_lacks_is_an_error_naming_file_and_field(tmp_path: Path) -> None:
    pol = policy(tmp_path, "columns:\n  leads: {territory: Region}\n")
    leads = write(tmp_path, "leads.csv", "id,value,Area\nL1,1,EMEA\n")
    with pytest.raises(InputError) as err:
        load_leads(leads, policy=pol)
    assert (err.value.file, err.value.row, err.value.field) == (str(leads), "header", "territory")
    assert "'Region'" in err.value.message and "Area" in err.value.message


def test_salesforce_preset_maps_the_default_headers_and_keeps_the_rest(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv",
                  "Lead ID,Company,Lead Owner,Lead Source,Industry,Annual Revenue,No. of Employees,"
                  "Country,State/Province,Rating\n"
                  "00Q1,Acme,Ana Silva,Web,software,2000000,250,EMEA,,Hot\n"
                  "00Q2,Beta,,Event,Retail,,12,NA,CA,Cold\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        got = load_leads(leads, REPS, columns=ColumnMap(preset="salesforce"))
    first, second = got
    assert (first.id, first.account_id, first.owner_id, first.industry, first.value, first.territory) == (
        "00Q1", "Acme", "r1", "Software", 2e6, "EMEA")  # owner by rep name, industry in the reps' spelling
    assert first.attributes["No. of Employees"] == "250" and first.attributes["Rating"] == "Hot"
    assert second.value == 0.0  # a blank Annual Revenue: the preset's default


def test_hubspot_preset_reads_record_id_and_country_region(tmp_path: Path) -> None:
    leads = write(tmp_path, "contacts.csv", "Record ID,Contact owner,Country/Region,Lifecycle Stage\n"
                                            "901,,NA,lead\n")
    with pytest.warns(InputWarning, match="Lifecycle Stage"):
        (lead,) = load_leads(leads, columns=ColumnMap(preset="hubspot"))
    assert (lead.id, lead.territory, lead.value, lead.attributes) == ("901", "NA", 0.0, {"Lifecycle Stage": "lead"})


# -- "Country, else State/Province": a field mapped to several columns falls back per record

def test_a_blank_country_takes_the_state_a_filled_one_wins_and_all_blank_stays_blank(tmp_path: Path) -> None:
    """Exports always carry Country: the fallback used to be chosen per file, so a lead without a
    country was routed with no territory."""
    leads = write(tmp_path, "leads.csv", "Lead ID,Country,State/Province,Amount,Annual Revenue\n"
                                         "00Q1,,Bavaria,,7\n"
                                         "00Q2,Germany,Bavaria,3,7\n"
                                         "00Q3, ,,,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        got = load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert [(x.territory, x.value) for x in got] == [("Bavaria", 7.0), ("Germany", 3.0), ("", 0.0)]


def test_a_fallback_column_stays_an_attribute_and_is_not_warned_as_unread(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "Lead ID,Country,State/Province,Rating\n00Q1,,Bavaria,Hot\n")
    with pytest.warns(InputWarning) as caught:
        (lead,) = load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert [str(w.message) for w in caught] == [
        f"{leads}: unknown columns (kept as attributes; no routing rule reads them): Rating"]
    assert lead.attributes == {"State/Province": "Bavaria", "Rating": "Hot"}  # rules may still read it


def test_the_fallback_territory_takes_aliases_and_the_reps_spelling(tmp_path: Path) -> None:
    pol = policy(tmp_path, "columns: {preset: hubspot}\naliases: {territory: {California: NA}}\n")
    leads = write(tmp_path, "contacts.csv", "Record ID,Country/Region,State/Region\n1,,california\n2,emea,\n")
    got = load_leads(leads, REPS, policy=pol)
    assert [x.territory for x in got] == ["NA", "EMEA"]


def test_a_users_list_of_columns_falls_back_per_row(tmp_path: Path) -> None:
    pol = policy(tmp_path, "columns:\n  leads: {id: Lead ID, territory: [Region, Country]}\n")
    leads = write(tmp_path, "leads.csv", "Lead ID,value,Region,Country\nL1,1,,NA\nL2,1,EMEA,NA\nL3,1,,\n")
    got = load_leads(leads, policy=pol)
    assert [x.territory for x in got] == ["NA", "EMEA", ""]


def test_a_required_field_falls_back_too(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "Lead ID,Legacy ID,value\n,X9,1\n00Q2,X2,1\n")
    got = load_leads(leads, columns=ColumnMap(leads={"id": ("Lead ID", "Legacy ID")}))
    assert [(x.id, x.attributes) for x in got] == [("X9", {"Legacy ID": "X9"}), ("00Q2", {"Legacy ID": "X2"})]


def test_a_document_record_without_or_with_a_null_country_takes_the_state(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.json", '[{"Lead ID": "1", "State/Province": "Texas"},'
                                          ' {"Lead ID": "2", "Country": null, "State/Province": "Ohio"},'
                                          ' {"Lead ID": "3", "Country": "Japan", "State/Province": "Tokyo"}]')
    got = load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert [x.territory for x in got] == ["Texas", "Ohio", "Japan"]


def test_the_plan_names_each_fields_columns_in_order_only_where_the_file_has_several() -> None:
    wanted = ColumnMap(preset="salesforce").wanted("leads")
    plan = plan_renames(["Lead ID", "State/Province", "Country", "Annual Revenue"], wanted, file="f.csv")
    assert plan.fallbacks == {"territory": ("Country", "State/Province")}  # the preset's order, not the file's
    assert plan.fills() == [("territory", (("territory", "Country"), ("State/Province", "State/Province")))]


@pytest.mark.parametrize(("order", "expected"), [
    ("[Region, territory]", ["EMEA", "NA", ""]),
    ("[territory, Region]", ["NA", "NA", ""]),
])
def test_a_list_naming_the_fields_own_column_is_read_in_its_order(tmp_path: Path, order: str,
                                                                  expected: list[str]) -> None:
    """QA: [Region, territory] was refused ("both the column 'territory' and the mapped column
    'Region' give this field") while [territory, Region] was read: the list says the order."""
    cols = load_columns(write(tmp_path, "cols.yaml", f"leads: {{territory: {order}}}\n"))
    leads = write(tmp_path, "leads.csv", "id,value,territory,Region\nL1,1,NA,EMEA\nL2,1,NA,\nL3,1,,\n")
    got = load_leads(leads, columns=cols)
    assert [x.territory for x in got] == expected


def test_a_column_given_by_its_own_name_wins_over_the_preset(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,Lead ID,value\nmine,00Q1,3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        (lead,) = load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert lead.id == "mine" and lead.attributes == {"Lead ID": "00Q1"}


def test_a_columns_file_overrides_the_policy_mapping(tmp_path: Path) -> None:
    pol = policy(tmp_path, "columns: {leads: {value: Amount}}\naliases: {territory: {Europe: EMEA}}\n")
    cols = load_columns(write(tmp_path, "columns.yaml", "leads: {value: ARR}\n"))
    leads = write(tmp_path, "leads.csv", "id,ARR,Amount,territory\nl1,7,1,europe\n")
    with pytest.warns(InputWarning, match="Amount"):
        (lead,) = load_leads(leads, REPS, policy=pol, columns=pol.column_map.merged(cols))
    assert (lead.value, lead.territory, lead.attributes) == (7.0, "EMEA", {"Amount": "1"})


def test_a_columns_file_with_an_unknown_preset_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "columns.yaml", "leads: {id: Lead ID}\npreset: zoho\n")
    with pytest.raises(InputError) as err:
        load_columns(path)
    assert (err.value.line, err.value.field) == (2, "preset")


# -- item 3: aliases and case matching

def test_a_lowercase_label_takes_the_reps_spelling(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value,territory,industry,segment\nl1,1, emea ,RETAIL,smb\n")
    (lead,) = load_leads(leads, REPS)
    assert (lead.territory, lead.industry, lead.segment) == ("EMEA", "Retail", "SMB")


def test_match_case_off_keeps_the_leads_spelling(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value,territory\nl1,1,emea\n")
    (lead,) = load_leads(leads, REPS, columns=ColumnMap(match_case=False))
    assert lead.territory == "emea"


def test_aliases_apply_to_attributes_too(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value,Country\nl1,1,Deutschland\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        (lead,) = load_leads(leads, columns=ColumnMap(aliases={"Country": {"deutschland": "Germany"}}))
    assert lead.attributes == {"Country": "Germany"}


# -- item 4: delimiter sniffing

@pytest.mark.parametrize(("delimiter", "lists"), [(",", "EMEA;NA"), (";", "EMEA,NA"), ("\t", "EMEA;NA"),
                                                   ("|", "EMEA;NA")])
def test_each_delimiter_is_sniffed_and_lists_use_the_other_separator(
        tmp_path: Path, delimiter: str, lists: str) -> None:
    cells = [["id", "territories", "capacity", "skills"],
             ["r1", lists, "3", "fin:1.5" + (";" if delimiter != ";" else ",") + "tech:2"]]
    reps = write(tmp_path, "reps.csv", "\n".join(delimiter.join(row) for row in cells) + "\n")
    (rep,) = load_reps(reps)
    assert (rep.territories, rep.capacity, rep.skills) == (("EMEA", "NA"), 3, {"fin": 1.5, "tech": 2.0})


def test_semicolon_file_with_mapped_headers_is_sniffed_through_the_mapping(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "Lead ID;Annual Revenue;Country\n00Q1;1,5;EMEA\n")
    with pytest.raises(InputError) as err:  # "1,5" is no number: named, not a missing column
        load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert (err.value.row, err.value.field) == (1, "value")


def test_a_wrong_list_separator_in_a_semicolon_file_says_which_to_use(tmp_path: Path) -> None:
    reps = write(tmp_path, "reps.csv", "id;territories;capacity\nr1;EMEA|NA;3\n")
    with pytest.raises(InputError) as err:
        load_reps(reps)
    assert err.value.field == "territories" and "by ',' in a ';'-delimited CSV" in err.value.message


# -- item 7: typo warnings

def test_a_typo_is_named_with_row_field_and_the_closest_label(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value,territory\nl1,1,EMEA\nl2,1,EMAE\n")
    got = load_leads(leads, REPS)
    assert unmatched_values(REPS, got, Policy(), leads_file="leads.csv") == [
        "leads.csv, row 2, field 'territory': 'EMAE' matches no rep or rule (did you mean 'EMEA'?)"]


def test_no_typo_warning_where_a_rep_takes_any_value_or_a_rule_names_it(tmp_path: Path) -> None:
    leads = load_leads(write(tmp_path, "leads.csv", "id,value,territory\nl1,1,LATAM\n"), REPS)
    open_rep = Rep(id="r3", territories=("*",), capacity=1)
    assert unmatched_values([*REPS, open_rep], leads, Policy(), leads_file="x") == []
    pol = policy(tmp_path, "teams: [{id: t, members: [r1]}]\nrouting_rules:\n  - {name: latam, "
                           "when: {territory: latam}, then: {admit: {team: t}}}\n")
    assert unmatched_values(REPS, leads, pol, leads_file="x") == []


def test_typo_warnings_stop_at_ten_lines_then_count(tmp_path: Path) -> None:
    rows = "".join(f"l{i},1,EMAE\n" for i in range(25))
    leads = load_leads(write(tmp_path, "leads.csv", "id,value,territory\n" + rows), REPS)
    lines = unmatched_values(REPS, leads, Policy(), leads_file="leads.csv")
    assert len(lines) == 11 and lines[-1] == "leads.csv: 15 more lead values match no rep or rule"


def test_an_industry_no_rep_lists_is_no_typo_when_the_industry_rule_is_off(tmp_path: Path) -> None:
    leads = load_leads(write(tmp_path, "leads.csv", "id,value,territory,industry\nl1,1,NA,Mining\n"), REPS)
    assert unmatched_values(REPS, leads, Policy(), leads_file="x") == []
    assert len(unmatched_values(REPS, leads, policy(tmp_path, "rules: {industry: hard}\n"),
                                leads_file="x")) == 1


def test_rule_set_inputs_name_what_the_rules_read_as_the_compiler_does(tmp_path: Path) -> None:
    from solver.compile.rules import rule_inputs

    pol = policy(tmp_path, "teams: [{id: t, member_filter: {rep_attribute: region, in: [EU]}}]\n"
                           "derived: {size: {from: employees, thresholds: [[200, SMB]], above: ENT}}\n"
                           "routing_rules:\n"
                           "  - {name: a, when: {size: SMB, Lead Source: Web}, then: {admit: {team: t}}}\n"
                           "  - {name: b, when: 'email present', then: {admit: {rep_attribute: languages, "
                           "lead_field: language}}}\n")
    assert pol.rule_set.inputs() == rule_inputs(pol.rule_set) == (
        {"employees", "Lead Source", "email", "language"}, {"region", "languages"})


# -- QA pass: headers in another case, mapping targets that are a field mistyped

def test_headers_match_their_field_whatever_their_case(tmp_path: Path) -> None:
    reps = write(tmp_path, "reps.csv", "Id , Territories,CAPACITY\nr1,EMEA,5\n")
    leads = write(tmp_path, "leads.csv", "ID,Territory,Value\nl1,EMEA,1000\n")
    (rep,) = load_reps(reps)
    (lead,) = load_leads(leads)
    assert (rep.id, rep.territories, rep.capacity) == ("r1", ("EMEA",), 5)
    assert (lead.id, lead.territory, lead.value, lead.attributes) == ("l1", "EMEA", 1000.0, {})


def test_json_keys_match_their_field_whatever_their_case(tmp_path: Path) -> None:
    (lead,) = load_leads(write(tmp_path, "leads.json", '[{"Id": "l1", "Value": 5, "Territory": "NA"}]'))
    assert (lead.id, lead.value, lead.territory) == ("l1", 5.0, "NA")


@pytest.mark.parametrize(("name", "text", "where"), [
    ("leads.csv", "id,value,Territory,territory\nl1,1,NA,NA\n", ("header", "territory")),
    ("leads.json", '[{"id": "l1", "value": 1, "Value": 2}]', (1, "Value")),
])
def test_two_names_that_differ_only_by_case_are_a_duplicate(tmp_path: Path, name, text, where) -> None:
    with pytest.raises(InputError, match=r"duplicate .* are one name") as err:
        load_leads(write(tmp_path, name, text))
    assert (err.value.row, err.value.field) == where


def test_a_column_a_rule_reads_matches_whatever_its_case(tmp_path: Path) -> None:
    pol = policy(tmp_path, "routing_rules:\n  - {name: big, when: 'employees >= 200', "
                           "then: {prefer: {reps: [r1]}}}\n")
    leads = write(tmp_path, "leads.csv", "id,value,Employees\nl1,5,250\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)  # read by the rule: no unknown-column warning
        (lead,) = load_leads(leads, policy=pol)
    assert lead.attributes == {"employees": "250"}


@pytest.mark.parametrize(("text", "row", "field", "meant"), [
    ("leads: {territry: Region}\n", 1, "leads.territry", "territory"),
    ("leads: {id: Lead ID}\nreps: {Capacity: Seats}\n", 2, "reps.Capacity", "capacity"),
])
def test_a_columns_file_target_that_is_a_field_mistyped_is_an_error(tmp_path: Path, text, row, field,
                                                                     meant) -> None:
    with pytest.raises(InputError, match=f"did you mean '{meant}'") as err:
        load_columns(write(tmp_path, "columns.yaml", text))
    assert (err.value.file, err.value.line, err.value.field) == (str(tmp_path / "columns.yaml"), row, field)


def test_a_policy_mapping_target_mistyped_is_an_error_and_an_attribute_target_is_not(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="did you mean 'value'") as err:
        policy(tmp_path, "columns:\n  leads: {valu: Amount}\n")
    assert (err.value.line, err.value.field) == (2, "columns.leads.valu")
    assert policy(tmp_path, "columns:\n  leads: {employees: No. of Employees}\n").columns.leads


def test_the_readmes_columns_block_copied_whole_is_a_columns_file(tmp_path: Path) -> None:
    """QA: the README's `columns:` block in a --columns file failed with "unknown key 'columns'"."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b.split("```", 1)[0] for b in readme.split("```yaml\n")[1:] if b.startswith("columns:\n"))
    wrapped = load_columns(write(tmp_path, "wrapped.yaml", block))
    bare = "".join(line.removeprefix("  ") + "\n" for line in block.splitlines()[1:])
    assert wrapped == load_columns(write(tmp_path, "bare.yaml", bare))
    assert wrapped.preset == "salesforce" and wrapped.reps == {"id": "Email"}
    with pytest.raises(InputError) as err:  # inside the wrapper, an error still names its line
        load_columns(write(tmp_path, "typo.yaml", "columns:\n  preset: salesforce\n  leads: {territry: Region}\n"))
    assert (err.value.line, err.value.field) == (3, "columns.leads.territry")
    with pytest.raises(InputError, match="or a `columns:` key alone over it") as err:
        load_columns(write(tmp_path, "both.yaml", "columns: {preset: salesforce}\nleads: {id: Lead ID}\n"))
    assert (err.value.line, err.value.field) == (1, "columns")


@pytest.mark.parametrize(("text", "column"), [
    # QA: Amount blank, Annual Revenue 'abc': the error said field 'value' and not where 'abc' was
    ("Lead ID,Amount,Annual Revenue\n00Q1,,abc\n", "Annual Revenue"),
    ("Lead ID,Amount,Annual Revenue\n00Q1,abc,7\n", "Amount"),
])
def test_a_bad_value_names_the_export_column_it_came_from(tmp_path: Path, text: str, column: str) -> None:
    leads = write(tmp_path, "leads.csv", text)
    with pytest.raises(InputError) as err:
        load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert (err.value.row, err.value.field) == (1, "value")
    assert err.value.message.endswith(f"(got 'abc'), in the column {column!r}")


def test_a_bad_value_in_a_document_names_its_fallback_key(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.json", '[{"Lead ID": "1", "Amount": null, "Annual Revenue": "abc"}]')
    with pytest.raises(InputError) as err:
        load_leads(leads, columns=ColumnMap(preset="salesforce"))
    assert "in the column 'Annual Revenue'" in str(err.value)


def test_a_bad_value_in_the_fields_own_column_names_no_other(tmp_path: Path) -> None:
    leads = write(tmp_path, "leads.csv", "id,value\nL1,abc\n")
    with pytest.raises(InputError) as err:
        load_leads(leads)
    assert "column" not in err.value.message
