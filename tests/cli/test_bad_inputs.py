"""Every kind of bad input file (issue 12): exit 2, ONE line naming file, row and field, nothing written.

One table, one row per kind, the reason inline. Each row replaces one of the
good files below (reps.csv, leads.csv, no policy) with a bad one, CSV, JSON
or YAML, and runs `validate`, `assign` or `run`. Every row asserts the same
product standard: exit code 2, exactly one line on stderr that names the file,
the row (for JSON and YAML parse problems and policies: the line) and the
field, no stdout, no output file and no ledger. HTTP kinds are in
tests/http/test_bad_requests.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from solver.cli import main
from tests.cli.test_cli import LEADS, REPS

REP = {"id": "r1", "territories": ["EU"], "capacity": 3}
LEAD = {"id": "l1", "territory": "EU", "value": 100}


def reps_doc(*changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Two good reps (r1, r2), the first updated with each change in turn."""
    first = dict(REP)
    for change in changes:
        first |= change
    return [first, REP | {"id": "r2"}]


def leads_doc(*changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Two good leads (l1, l2), the second updated with each change: the bad one is row 2."""
    second = LEAD | {"id": "l2"}
    for change in changes:
        second |= change
    return [dict(LEAD), second]


def js(data: Any) -> str:
    return json.dumps(data)


def ym(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def nested(depth: int) -> str:
    return '[{"id": "l1", "value": 1, "territory": ' + "[" * depth + "]" * depth + "}]"


def bad(kind: str, where: str, words: str, command: str = "assign", **files: str | bytes) -> Any:
    """One row: `files` by name (reps_csv= writes reps.csv), where the message points, its words."""
    return pytest.param(command, files, where, words, id=kind)


CASES = [
    # -- CSV structure
    bad("reps without the capacity column", "reps.csv, header row, field 'capacity'",
        "missing required column", reps_csv="id,territories\nr1,EU\n"),
    bad("leads without the value column", "leads.csv, header row, field 'value'",
        "missing required column", leads_csv="id,territory\nl1,EU\n"),
    bad("an empty reps file", "reps.csv:", "empty", reps_csv=""),
    bad("an unclosed quote", "leads.csv, row 1:", "malformed CSV", leads_csv='id,value\n"l1,5\n'),
    bad("more cells than columns", "leads.csv, row 1:", "cells where the header has 2",
        leads_csv="id,value\nl1,5,7\n"),
    bad("Latin-1 bytes, not UTF-8", "leads.csv, row 1:", "not UTF-8",
        leads_csv="id,territory,value\nl1,Köln,5\n".encode("latin-1")),
    bad("the same column twice", "reps.csv, header row, field 'capacity'", "duplicate column",
        reps_csv="id,capacity,capacity\nr1,1,2\n"),
    # -- CSV numbers: types and bounds (item 6)
    bad("negative capacity", "reps.csv, row 2, field 'capacity'", "greater than or equal to 0",
        reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM,-2")),
    bad("capacity in words", "reps.csv, row 2, field 'capacity'", "integer",
        reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM,two")),
    bad("capacity 1e20 (exit 1 in assign before)", "reps.csv, row 2, field 'capacity'",
        "integer", reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM,1e20")),
    bad("capacity 2.5: a part of a lead", "reps.csv, row 2, field 'capacity'", "integer",
        reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM,2.5")),
    bad("capacity with 5,000 digits", "reps.csv, row 2, field 'capacity'", "integer",
        reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM," + "9" * 5000)),
    bad("open_leads 2^63 (exit 1 in assign before)", "reps.csv, row 1, field 'open_leads'",
        "less than or equal to 1000000", reps_csv=REPS.replace("EU;US,SMB;MM,3,0", f"EU;US,SMB;MM,3,{2**63}")),
    bad("quota_weight 1e308 (exit 1 in assign before)", "reps.csv, row 2, field 'quota_weight'",
        "less than or equal to 1000000", reps_csv=REPS.replace("2,1,2,true", "2,1,1e308,true")),
    bad("quota_weight 0: no share at all", "reps.csv, row 2, field 'quota_weight'", "greater than",
        reps_csv=REPS.replace("2,1,2,true", "2,1,0,true")),
    bad("quota_weight nan", "reps.csv, row 2, field 'quota_weight'", "finite",
        reps_csv=REPS.replace("2,1,2,true", "2,1,nan,true")),
    bad("available neither true nor false", "reps.csv, row 1, field 'available'", "boolean",
        reps_csv=REPS.replace("1,true,fin", "1,maybe,fin")),
    bad("skills multiplier 1e308", "reps.csv, row 1, field 'skills.fin'", "less than or equal to 1000",
        reps_csv=REPS.replace("fin:1.5", "fin:1e308")),
    bad("skills multiplier 0", "reps.csv, row 1, field 'skills.fin'", "greater than or equal to 0.001",
        reps_csv=REPS.replace("fin:1.5", "fin:0")),
    bad("value below 0", "leads.csv, row 2, field 'value'", "greater than or equal to 0",
        leads_csv=LEADS.replace("l2,US,MM,,50", "l2,US,MM,,-50")),
    bad("value in words", "leads.csv, row 2, field 'value'", "number",
        leads_csv=LEADS.replace("l2,US,MM,,50", "l2,US,MM,,lots")),
    bad("value 1.7e308 (stored as infinity by the service before)", "leads.csv, row 2, field 'value'",
        "less than or equal to 1000000000000", leads_csv=LEADS.replace("l2,US,MM,,50", "l2,US,MM,,1.7e308")),
    bad("value 1e14 (reshuffled the other leads, 'optimal', before)", "leads.csv, row 2, field 'value'",
        "less than or equal to 1000000000000", leads_csv=LEADS.replace("l2,US,MM,,50", "l2,US,MM,,1e14")),
    bad("value inf", "leads.csv, row 2, field 'value'", "finite",
        leads_csv=LEADS.replace("l2,US,MM,,50", "l2,US,MM,,inf")),
    bad("score above 1", "leads.csv, row 1, field 'score'", "less than or equal to 1",
        leads_csv=LEADS.replace("100,0.5", "100,1.5")),
    bad("score nan", "leads.csv, row 1, field 'score'", "finite", leads_csv=LEADS.replace("100,0.5", "100,nan")),
    bad("effort 0", "leads.csv, row 3, field 'effort'", "greater than or equal to 1",
        leads_csv=LEADS.replace("10,1,1,", "10,1,0,")),
    bad("effort 1e30 (exit 1 in assign before)", "leads.csv, row 3, field 'effort'",
        "integer", leads_csv=LEADS.replace("10,1,1,", "10,1,1e30,")),
    bad("urgent neither true nor false", "leads.csv, row 1, field 'urgent'", "boolean",
        leads_csv=LEADS.replace("owner_id\n", "owner_id,urgent\n").replace("1,\nl2", "1,,sometimes\nl2", 1)
        .replace("r2\n", "r2,\n").replace("1,1,\n", "1,1,,\n")),
    bad("a date that is no date", "leads.csv, row 1, field 'created_at'", "datetime",
        leads_csv="id,created_at,value\nl1,yesterday,5\n"),
    bad("unknown lead segment", "leads.csv, row 1, field 'segment'", "ENT",
        leads_csv=LEADS.replace("l1,EU,SMB", "l1,EU,XL")),
    bad("unknown rep segment", "reps.csv, row 1, field 'segments'", "unknown segment",
        reps_csv=REPS.replace("SMB;MM", "SMB;Huge", 1)),
    bad("an unknown time zone", "reps.csv, row 1, field 'timezone'", "time zone",
        reps_csv="id,capacity,timezone\nr1,1,Mars/Base\n"),
    bad("seniority below 0", "reps.csv, row 1, field 'seniority'", "greater than or equal to 0",
        reps_csv="id,capacity,seniority\nr1,1,-1\n"),
    # -- CSV wrong separators and malformed lists (item 7)
    bad("territories separated by ','", "reps.csv, row 1, field 'territories'", "';'",
        reps_csv=REPS.replace("EU;US", '"NA-West,EMEA"')),
    bad("territories separated by '|'", "reps.csv, row 1, field 'territories'", "';'",
        reps_csv=REPS.replace("EU;US", "NA-West|EMEA")),
    bad("skills separated by ','", "reps.csv, row 1, field 'skills'", "';'",
        reps_csv=REPS.replace("fin:1.5", '"Retail:1.2,Software:0.9"')),
    bad("a skill without a multiplier", "reps.csv, row 1, field 'skills'", "key:multiplier",
        reps_csv=REPS.replace("fin:1.5", "fin=1.5")),
    bad("the same skill twice (kept the last before)", "reps.csv, row 1, field 'skills'", "twice",
        reps_csv=REPS.replace("fin:1.5", "fin:1.5;fin:0.5")),
    # -- ids: the one id rule (item 3) and near-duplicates (item 7)
    bad("the same rep id twice", "reps.csv, row 3, field 'id'", "duplicate rep id",
        reps_csv=REPS + "r1,EU,,1,0,1,true,\n"),
    bad("the same lead id twice", "leads.csv, row 4, field 'id'", "duplicate lead id",
        leads_csv=LEADS + "l1,EU,SMB,,1,1,1,\n"),
    bad("rep ids differing only by case", "reps.csv, row 3, field 'id'", "row 1",
        reps_csv=REPS + "R1,EU,,1,0,1,true,\n"),
    bad("lead ids differing only by a compatibility form (fullwidth l)", "leads.csv, row 4, field 'id'",
        "row 1", leads_csv=LEADS + "\uff4c1,EU,SMB,,1,1,1,\n"),
    bad("rep ids differing by Unicode normalization", "reps.csv, row 2, field 'id'", "duplicate rep id",
        reps_csv="id,capacity\n\u00e9,1\ne\u0301,1\n"),
    bad("a zero-width space in a rep id", "reps.csv, row 2, field 'id'", "U+200B",
        reps_csv=REPS.replace("r2,", "r\u200b2,")),
    bad("a newline in a lead id", "leads.csv, row 1, field 'id'", "U+000A",
        leads_csv=LEADS.replace("l1,EU", '"l\n1",EU')),
    bad("a lead id over 200 characters", "leads.csv, row 1, field 'id'", "at most 200",
        leads_csv=LEADS.replace("l1,EU", "l" * 201 + ",EU")),
    bad("a bidi override in an account id", "leads.csv, row 1, field 'account_id'", "U+202E",
        leads_csv="id,value,account_id\nl1,5,A\u202e1\n"),
    bad("an owner that is no rep", "leads.csv, row 2, field 'owner_id'", "names no rep",
        leads_csv=LEADS.replace("1,r2", "1,ghost")),
    bad("an owner differing from a rep only by case", "leads.csv, row 2, field 'owner_id'", "'r2'",
        leads_csv=LEADS.replace("1,r2", "1,R2")),
    # -- JSON files
    bad("malformed JSON", "leads.json, line 1:", "malformed JSON", leads_json='[{"id": "l1", "value": 5},'),
    bad("a lead without a value", "leads.json, row 1, field 'value'", "missing required field",
        leads_json='[{"id": "l1"}]'),
    bad("JSON value true (became 1.0 before)", "leads.json, row 2, field 'value'", "not true/false",
        leads_json=js(leads_doc({"value": True}))),
    bad("JSON effort true", "leads.json, row 2, field 'effort'", "not true/false",
        leads_json=js(leads_doc({"effort": True}))),
    bad("JSON capacity false", "reps.json, row 1, field 'capacity'", "not true/false",
        reps_json=js(reps_doc({"capacity": False}))),
    bad("a JSON id that is a fraction", "leads.json, row 2, field 'id'", "string",  # an integer is its digits
        leads_json=js(leads_doc({"id": 7.5}))),
    bad("a JSON record that is no mapping", "leads.json, row 2:", "mapping", leads_json=js([LEAD, 5])),
    bad("a JSON document that is no list", "leads.json:", "expected a list of leads",
        leads_json=js({"lead": [LEAD]})),
    bad("the same key twice in a JSON record (kept the last before)", "leads.json, row 2, field 'value'",
        "twice", leads_json='[{"id": "l1", "value": 1}, {"id": "l2", "value": 1, "value": 2}]'),
    bad("a 5,000-digit JSON integer (exit 1 before)", "leads.json, line 2, field 'value'", "digits",
        leads_json='[{"id": "l1",\n "value": ' + "9" * 5000 + "}]"),
    bad("JSON nested 100,000 deep (exit 1 before)", "leads.json, line 1:", "nested", leads_json=nested(100_000)),
    bad("JSON capacity 1e30 (OverflowError in the fuzz)", "reps.json, row 1, field 'capacity'",
        "less than or equal to 1000000", reps_json=js(reps_doc({"capacity": 1e30}))),
    bad("JSON territories item holding ','", "reps.json, row 1, field 'territories'", "';'",
        reps_json=js(reps_doc({"territories": ["NA-West,EMEA"]}))),
    bad("JSON skill multiplier true", "reps.json, row 1, field 'skills.fin'", "not true/false",
        reps_json=js(reps_doc({"skills": {"fin": True}}))),
    bad("JSON skill keys differing only by case", "reps.json, row 1, field 'skills'", "twice",
        reps_json=js(reps_doc({"skills": {"Retail": 1.2, "retail": 0.9}}))),
    # -- YAML files
    bad("YAML capacity 10^30 (OverflowError in the fuzz)", "reps.yaml, row 1, field 'capacity'",
        "less than or equal to 1000000", command="validate", reps_yaml=ym(reps_doc({"capacity": 10**30}))),
    bad("a 5,000-digit YAML integer", "reps.yaml, line 3, field 'capacity'", "digits", command="validate",
        reps_yaml="- id: r1\n  territories: [EU]\n  capacity: " + "9" * 5000 + "\n"),
    bad("YAML nested 100,000 deep", "leads.yaml, line 1:", "nested", command="validate",
        leads_yaml=nested(100_000)),
    bad("the same key twice in a YAML record", "reps.yaml, row 1, field 'capacity'", "twice",
        command="validate", reps_yaml="- id: r1\n  capacity: 1\n  capacity: 2\n"),
    bad("a YAML id with leading zeros", "reps.yaml, row 1, field 'id'", 'YAML reads 0012 as the number 10: '
        'quote the id ("0012")', command="validate", reps_yaml="- {id: 0012, capacity: 1}\n"),
    bad("YAML open_leads true", "reps.yaml, row 1, field 'open_leads'", "not true/false", command="validate",
        reps_yaml="- {id: r1, capacity: 1, open_leads: true}\n"),
    bad("YAML skills as a list", "reps.yaml, row 1, field 'skills'", "dictionary", command="validate",
        reps_yaml="- {id: r1, capacity: 1, skills: [fin]}\n"),
    bad("YAML lead ids differing only by case", "leads.yaml, row 2, field 'id'", "row 1", command="validate",
        leads_yaml=ym([LEAD, LEAD | {"id": "L1"}])),
    # -- policy files
    bad("unknown solver", "policy.yaml, line 1, field 'solver'", "unknown solver", policy_yaml="solver: magic\n"),
    bad("misspelt rule", "policy.yaml, line 2, field 'rules.teritory'", "unknown key",
        policy_yaml="rules:\n  teritory: hard\n"),
    bad("malformed YAML policy", "policy.yaml, line 2:", "malformed YAML", policy_yaml="fairness: [1, 2\n"),
    bad("an empty policy", "policy.yaml:", "empty", policy_yaml=""),
    bad("a policy that is a list", "policy.yaml:", "mapping", policy_yaml="- solver: flow\n"),
    bad("negative seed (numpy refused it: exit 1 before)", "policy.yaml, line 1, field 'seed'",
        "greater than or equal to 0", policy_yaml="seed: -1\n"),
    bad("seed past 32 bits", "policy.yaml, line 1, field 'seed'", "less than or equal to 2147483647",
        policy_yaml=f"seed: {2**40}\n"),
    bad("workers 1e9", "policy.yaml, line 1, field 'workers'", "less than or equal to 256",
        policy_yaml="workers: 1000000000\n"),
    bad("fairness weight 1e308", "policy.yaml, line 2, field 'fairness.weight'", "less than or equal to",
        policy_yaml="fairness:\n  weight: 1.0e+308\n"),
    bad("first-touch SLA of 1e308 hours", "policy.json, line 1, field 'sla.first_touch_hours'",
        "less than or equal to", policy_json=js({"sla": {"first_touch_hours": 1e308}})),
    bad("time limit true", "policy.json, line 1, field 'time_limit_s'", "not true/false",
        policy_json=js({"time_limit_s": True})),
    bad("the same policy key twice", "policy.yaml, line 2, field 'solver'", "twice",
        policy_yaml="solver: flow\nsolver: cpsat\n"),
    bad("batch size 0", "policy.yaml, line 2, field 'batch.max_size'", "greater than or equal to 1",
        policy_yaml="batch:\n  max_size: 0\n"),
    # -- reading real exports (issue 13): column maps, attributes, delimiters, accounts
    bad("a mapped column the export lacks", "leads.csv, header row, field 'territory'", "'Region'",
        policy_yaml="columns:\n  leads: {territory: Region}\n"),
    bad("a column and its mapped column both given", "leads.csv, header row, field 'id'", "'Lead ID'",
        policy_yaml="columns: {leads: {id: Lead ID}}\n", leads_csv="id,Lead ID,value\nl1,x,5\n"),
    bad("an unknown preset in the policy", "policy.yaml, line 2, field 'columns.preset'", "salesforce",
        policy_yaml="columns:\n  preset: zoho\n"),
    bad("an unknown preset in a --columns file", "columns.yaml, line 1, field 'preset'", "hubspot",
        columns_yaml="preset: pipedrive\n"),
    bad("a misspelt key in a --columns file", "columns.yaml, line 1, field 'lead'", "unknown key",
        command="validate", columns_yaml="lead: {id: Lead ID}\n"),
    bad("a --columns file that is a list", "columns.yaml:", "must be a mapping", columns_yaml="- a\n"),
    bad("the preset's required column missing", "leads.csv, header row, field 'id'", "'Lead ID'",
        columns_yaml="preset: salesforce\n", leads_csv="Company,Amount\nAcme,5\n"),
    bad("a JSON extra field holding a mapping", "leads.json, row 2, field 'meta'", "not a mapping",
        leads_json=js(leads_doc({"meta": {"a": 1}}))),
    bad("'|' in a list of a ';'-delimited file", "reps.csv, row 1, field 'territories'",
        "by ',' in a ';'-delimited CSV", reps_csv="id;territories;capacity\nr1;EU|US;3\n"),
    bad("a rule on a lead field no file has", "policy.yaml, line 2, field 'routing_rules[0].when'", "unknown lead field",
        command="validate", policy_yaml="routing_rules:\n  - {name: big, when: 'employees >= 9', "
                                        "then: {prefer: {reps: [r1]}}}\n"),
    bad("an account's named rep that is no rep", "accounts.csv, row 2, field 'named_rep_id'",
        "names no rep", accounts_csv="account_id,named,named_rep_id\nA1,true,r1\nA2,true,ghost\n"),
    bad("a parent that is no account", "accounts.csv, row 1, field 'parent_account_id'", "names no account",
        command="validate", accounts_csv="account_id,parent_account_id\nA1,A7\n"),
    bad("parent accounts in a cycle", "accounts.csv, row 1, field 'parent_account_id'", "cycle",
        command="validate", accounts_csv="account_id,parent_account_id\nA1,A2\nA2,A1\n"),
    bad("an account id twice", "accounts.yaml, row 2, field 'id'", "duplicate account id",
        command="validate", accounts_yaml="- {id: A1}\n- {id: A1}\n"),
    bad("a named team the policy lacks", "accounts.csv, row 1, field 'named_team_id'", "no team",
        accounts_csv="account_id,named,named_team_id\nA1,true,strategic\n"),
    bad("run: a named rep that is no rep", "accounts.csv, row 1, field 'named_rep_id'", "names no rep",
        command="run", accounts_csv="account_id,named,named_rep_id\nA1,true,r9\n"),
    bad("run: a mapped column the export lacks", "leads.csv, header row, field 'value'", "'Amount'",
        command="run", columns_yaml="leads: {value: Amount}\n"),
    bad("a team capacity of 10^30 (exit 1 before)", "policy.yaml, line 1, field 'teams[0].capacity'",
        "less than or equal to 1000000", command="validate",
        policy_yaml="teams: [{id: t, members: [r1, r2], capacity: " + "1" + "0" * 30 + "}]\n"),
    bad("a team capacity true", "policy.yaml, line 1, field 'teams[0].capacity'", "not true/false",
        command="validate", policy_yaml="teams: [{id: t, members: [r1], capacity: true}]\n"),
    bad("a rule weight true", "policy.yaml", "not true/false", command="validate",
        policy_yaml="routing_rules:\n  - {name: w, then: {prefer: {reps: [r1]}}, weight: true}\n"),
    bad("an infinite derived threshold", "policy.yaml", "finite number", command="validate",
        policy_yaml="derived:\n  tier: {from: value, thresholds: [[.inf, big]], above: huge}\n"),
    bad("a derived number that is text", "leads.csv, row 1, field 'employees'", "'2,000'",
        leads_csv="id,value,employees\nl1,5,\"2,000\"\n",
        policy_yaml="derived:\n  tier: {from: employees, thresholds: [[10, small]], above: big}\n"
                    "routing_rules:\n  - {name: b, when: {tier: big}, then: {admit: {reps: [r1]}}}\n"),
    bad("a fallback rep that is no rep (validate said ok before)", "policy.yaml, line 1, field "
        "'fallback.no_rule_match.rep'", "'ghost' names no rep", command="validate",
        policy_yaml="fallback: {no_rule_match: {rep: ghost}}\n"),
    bad("a team member that is no rep", "policy.yaml, line 1, field 'teams[0].members'", "'r9' names no rep",
        policy_yaml="teams: [{id: t, members: [r1, r9]}]\n"),
    bad("a rule target rep in another case", "policy.yaml, line 1, field 'routing_rules[0].then.exclude.reps'", "did you mean 'r1'",
        command="run", policy_yaml="routing_rules: [{name: x, then: {exclude: {reps: [R1]}}}]\n"),
    bad("caps for a rep that is no rep", "policy.yaml, line 1, field 'caps.reps.nope'", "'nope' names no rep",
        command="validate", policy_yaml="caps: {reps: {nope: {per_day: 1}}}\n"),
    bad("a routing rule without a name", "policy.yaml, line 1, field 'routing_rules[0]'", "needs a name",
        command="validate", policy_yaml="routing_rules: [{then: {exclude: {reps: [r1]}}}]\n"),
    # -- policy cross-checks over the whole file: the line of what is wrong (they named none)
    bad("two rules of one name", "policy.yaml, line 5, field 'routing_rules[1].name'", "two rules share this name (the other at line 2)",
        command="validate", policy_yaml="routing_rules:\n  - name: x\n    then: {exclude: {reps: [r1]}}\n"
                                        "  - when: {territory: EU}\n    name: x\n"
                                        "    then: {exclude: {reps: [r2]}}\n"),
    bad("a rule naming no team", "policy.yaml, line 6, field 'routing_rules[0].then.admit.team'",
        "no team 'enterprse' in teams; did you mean 'enterprise'?",
        policy_yaml="teams:\n  - id: enterprise\n    members: [r1]\nrouting_rules:\n  - name: x\n"
                    "    then: {admit: {team: enterprse}}\n"),
    bad("a fallback naming no team", "policy.json, line 3, field 'fallback.no_rule_match.team'",
        "did you mean 'enterprise'?", command="run",
        policy_json='{"teams": [{"id": "enterprise", "members": ["r1"]}],\n "fallback":\n'
                    '  {"no_rule_match": {"team": "Enterprises"}}}\n'),
    bad("caps for a team the policy lacks", "policy.yaml, line 5, field 'caps.teams.enterprse'",
        "did you mean 'enterprise'?", command="validate",
        policy_yaml="teams: [{id: enterprise, members: [r1]}]\ncaps:\n  default: {per_day: 9}\n"
                    "  teams:\n    enterprse: {per_day: 3}\n"),
    bad("account grouping for a solver that cannot group (named 'policy', no line, before)",
        "policy.yaml, line 3, field 'rules.account_grouping'", "cannot group accounts", command="run",
        policy_yaml="solver: round_robin\nrules:\n  account_grouping: true\n"),
    bad("a lead owner's name two reps share, with the departed-owner fallback",
        "leads.csv, row 2, field 'owner_id'", "'Ana Silva' is the name of more than one rep (r1, r2)",
        reps_csv="id,name,capacity\nr1,Ana Silva,3\nr2,Ana Silva,3\n",
        leads_csv="id,value,owner_id\nl1,5,r1\nl2,5,Ana Silva\n",
        policy_yaml="fallback: {owner_inactive: {queue: review}, queues: [review]}\n"),
    # -- through `run`: refused before the ledger is opened, so no ledger file either
    bad("run: capacity 10^20", "reps.csv, row 2, field 'capacity'", "less than or equal to 1000000",
        command="run", reps_csv=REPS.replace("r2,*,SMB;MM,2", "r2,*,SMB;MM," + "1" + "0" * 20)),
    bad("run: JSON value true", "leads.json, row 2, field 'value'", "not true/false", command="run",
        leads_json=js(leads_doc({"value": True}))),
    bad("run: lead ids differing only by case", "leads.csv, row 4, field 'id'", "row 2", command="run",
        leads_csv=LEADS + "L2,EU,SMB,,1,1,1,\n"),
    bad("run: negative seed", "policy.yaml, line 1, field 'seed'", "greater than or equal to 0",
        command="run", policy_yaml="seed: -5\n"),
]


@pytest.mark.parametrize(("command", "files", "where", "words"), CASES)
def test_bad_input_exit_2_one_line_naming_file_row_field(
    tmp_path: Path, command: str, files: dict[str, str | bytes], where: str, words: str
) -> None:
    paths: dict[str, Path] = {}
    defaults = {"reps_csv": REPS, "leads_csv": LEADS}
    chosen = {k: v for k, v in defaults.items() if not any(f.startswith(k[:4]) for f in files)}
    for key, content in (chosen | files).items():
        kind, ext = key.rsplit("_", 1)
        path = tmp_path / f"{kind}.{ext}"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        paths[kind] = path
    out, db = tmp_path / "out.json", tmp_path / "ledger.db"
    argv = [command, "--reps", str(paths["reps"]), "--leads", str(paths["leads"])]
    for kind in ("policy", "columns", "accounts"):
        if kind in paths:
            argv += [f"--{kind}", str(paths[kind])]
    if command != "validate":
        argv += ["--out", str(out), "--format", "json"]
    if command == "run":
        argv += ["--db", str(db)]

    result = CliRunner().invoke(main, argv)

    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and where in lines[0] and words in lines[0], lines[0]
    assert len(lines[0]) < 400, "the offending value is shown shortened"
    assert result.stdout == ""
    assert not out.exists() and not db.exists()


def test_the_table_covers_every_file_kind_and_command() -> None:
    """At least 45 kinds, across CSV, JSON and YAML reps, leads and policies, and all three commands."""
    assert len(CASES) >= 45
    keys = {key for case in CASES for key in case.values[1]}
    assert {"reps_csv", "leads_csv", "reps_json", "leads_json", "reps_yaml", "leads_yaml",
            "policy_yaml", "policy_json"} <= keys
    assert {case.values[0] for case in CASES} == {"validate", "assign", "run"}
