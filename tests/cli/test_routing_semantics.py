"""Issue 13's "done when", end to end through `leadsolver assign`: a policy YAML, reps and leads CSVs
with extra columns, and an accounts file (`--accounts`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from solver.cli import main
from solver.decode.reasons import ReasonCode


def run(tmp_path: Path, reps: str, leads: str, policy: str, *args: str, accounts: str | None = None
        ) -> dict[str, Any]:
    for name, text in (("reps.csv", reps), ("leads.csv", leads), ("policy.yaml", policy)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    if accounts is not None:
        (tmp_path / "accounts.csv").write_text(accounts, encoding="utf-8")
        args = (*args, "--accounts", str(tmp_path / "accounts.csv"))
    result = CliRunner().invoke(main, [
        "assign", "--reps", str(tmp_path / "reps.csv"), "--leads", str(tmp_path / "leads.csv"),
        "--policy", str(tmp_path / "policy.yaml"), "--format", "json", "--out", str(tmp_path / "out.json"),
        *args])
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "out.json").read_text())


def owners(data: dict[str, Any]) -> dict[str, str | None]:
    return {a["lead_id"]: a["rep_id"] for a in data["assignments"]}


def test_an_employees_boundary_puts_2000_in_ent_and_1999_in_mm(tmp_path: Path) -> None:
    reps = "id,capacity,region\nE1,9,ent\nM1,9,mm\nS1,9,smb\n"
    leads = "id,value,employees\nat,100,2000\nbelow,100,1999\nsmall,100,199\nbig,100,250000\n"
    policy = """
derived:
  size: {from: employees, thresholds: [[200, SMB], [2000, MM]], above: ENT}
routing_rules:
  - name: segment by size
    then: {admit: {rep_attribute: region, lead_field: size}}
"""
    data = run(tmp_path, reps, leads, policy, "--explain", "at")
    assert owners(data) == {"at": "E1", "below": "M1", "small": "S1", "big": "E1"}
    explained = data["explanations"][0]
    assert explained["assigned_to"]["rules"] == ["admitted by 'segment by size'"]
    assert {alt["rep_id"]: alt["why_not"] for alt in explained["alternatives"]} == {
        "M1": "blocked by the routing rule 'segment by size'",
        "S1": "blocked by the routing rule 'segment by size'"}


def test_a_rep_excluded_from_one_industry_gets_every_other(tmp_path: Path) -> None:
    # R1 is worth twice as much on every industry: it takes every lead it is allowed.
    reps = "id,capacity,skills\nR1,9,retail:2;software:2;health:2;finance:2\nR2,9,\n"
    leads = "id,value,industry\nl1,100,retail\nl2,100,software\nl3,100,health\nl4,100,finance\nl5,100,Retail\n"
    policy = """
routing_rules:
  - name: no retail for R1
    when: {industry: retail}
    then: {exclude: {reps: [R1]}}
"""
    data = run(tmp_path, reps, leads, policy)
    assert owners(data) == {"l1": "R2", "l2": "R1", "l3": "R1", "l4": "R1", "l5": "R2"}


def test_a_member_who_prefers_a_domain_fills_its_quota_from_it_first(tmp_path: Path) -> None:
    # F takes two leads; the fintech leads are worth a little less, so without the preference
    # F would fill up on the retail ones.
    reps = "id,capacity,domains\nF,2,fintech\nA,9,\nB,9,\n"
    leads = ("id,value,domain\nr1,100,retail\nf1,90,fintech\nr2,100,retail\nf2,90,fintech\n"
             "f3,90,fintech\n")
    policy = """
teams:
  - {id: sales, members: [F, A, B]}
routing_rules:
  - name: fintech experts first
    when: {domain: fintech}
    then: {prefer: {ranked: [{rep_attribute: domains, in: [fintech]}]}}
    weight: 0.5
"""
    data = run(tmp_path, reps, leads, policy, "--explain", "f3")
    by_lead = owners(data)
    assert [lead for lead, rep in by_lead.items() if rep == "F"] in (["f1", "f2"], ["f1", "f3"], ["f2", "f3"])
    assert all(rep is not None for rep in by_lead.values())  # the rest share what is left
    plain = run(tmp_path, reps, leads, "solver: flow\n")
    assert sorted(lead for lead, rep in owners(plain).items() if rep == "F") != sorted(
        lead for lead, rep in by_lead.items() if rep == "F")


def test_a_departed_owners_lead_goes_to_the_review_queue(tmp_path: Path) -> None:
    reps = "id,capacity,available\nR1,9,true\nGONE,9,false\n"
    leads = "id,value,owner_id\nkept,100,GONE\nnew,100,\n"
    policy = """
fallback:
  owner_inactive: {queue: review}
  queues: [review]
"""
    data = run(tmp_path, reps, leads, policy, "--explain", "kept")
    kept = next(a for a in data["assignments"] if a["lead_id"] == "kept")
    assert kept["rep_id"] is None and kept["queue"] == "review"
    assert kept["reason_code"] == ReasonCode.QUEUED
    assert kept["reason"] == "queued: review: the account's owner is inactive"
    assert owners(data)["new"] == "R1"
    assert data["summary"]["counts"]["unassigned_by_reason"] == {"queued": 1}
    assert data["explanations"][0]["queue"] == "review"


def test_accounts_a_subsidiary_goes_to_its_parents_owner_and_a_departed_owner_to_review(
        tmp_path: Path) -> None:
    """The departed owner OLD is in no file but the accounts export: its accounts' leads are queued."""
    reps = "id,capacity\nR1,9\nR2,9\n"
    accounts = ("account_id,owner_id,parent_account_id\nparent,R2,\nsub,,parent\n"
                "left,OLD,\nleft-sub,,left\n")
    leads = "id,value,account_id\nsub-lead,10,sub\norphan,10,left-sub\nplain,10,\n"
    policy = "fallback:\n  owner_inactive: {queue: review}\n  queues: [review]\n"
    data = run(tmp_path, reps, leads, policy, accounts=accounts)
    by_lead = {a["lead_id"]: a for a in data["assignments"]}
    assert by_lead["sub-lead"]["rep_id"] == "R2"
    assert by_lead["sub-lead"]["reason_code"] == ReasonCode.ACCOUNT_OWNER
    assert by_lead["orphan"]["rep_id"] is None and by_lead["orphan"]["queue"] == "review"
    assert by_lead["orphan"]["reason_code"] == ReasonCode.QUEUED
    assert by_lead["plain"]["rep_id"] is not None


def test_a_lead_naming_an_owner_who_left_takes_the_fallback_with_a_warning(tmp_path: Path) -> None:
    """Review finding: a CRM export names owners who left ('Lead Owner'); with
    fallback.owner_inactive such a lead is queued (a warning names row and field) instead of
    refusing the whole batch. Without the fallback the owner must still be a rep (exit 2)."""
    reps = "id,capacity\nR1,9\n"
    leads = "id,value,owner_id\nkept,100,R1\ngone,100,Former Rep\nnew,100,\n"
    policy = "fallback:\n  owner_inactive: {queue: review}\n  queues: [review]\n"
    for name, text in (("reps.csv", reps), ("leads.csv", leads), ("policy.yaml", policy)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    argv = ["assign", "--reps", str(tmp_path / "reps.csv"), "--leads", str(tmp_path / "leads.csv"),
            "--format", "json"]
    done = CliRunner().invoke(main, [*argv, "--policy", str(tmp_path / "policy.yaml")])
    assert done.exit_code == 0, done.output
    assert "row 2, field 'owner_id': 'Former Rep' is no rep" in done.stderr
    by_lead = {a["lead_id"]: a for a in json.loads(done.stdout)["assignments"]}
    assert by_lead["gone"]["queue"] == "review" and by_lead["gone"]["rep_id"] is None
    assert by_lead["kept"]["rep_id"] == "R1" and by_lead["new"]["rep_id"] == "R1"
    refused = CliRunner().invoke(main, argv)
    assert refused.exit_code == 2 and "names no rep" in refused.stderr


def test_caps_bound_a_batch_with_no_ledger(tmp_path: Path) -> None:
    """Review finding: `assign` ignored caps. With no ledger to count, a per_day cap bounds the
    batch as the day's whole intake, utilisation bounds open leads against capacity, and a team's
    cap bounds its members together."""
    reps = "id,capacity,open_leads\nR1,4,0\nR2,4,1\nR3,4,0\n"
    leads = "id,value\n" + "".join(f"l{i},{10 + i}\n" for i in range(12))
    policy = """
teams: [{id: pair, members: [R1, R3]}]
caps:
  default: {utilisation: 0.75}
  reps: {R1: {per_day: 2}}
  teams: {pair: {per_day: 3}}
"""
    taken = {r["rep_id"]: r["assigned"] for r in run(tmp_path, reps, leads, policy)["summary"]["rep_loads"]}
    assert taken["R1"] <= 2  # its per_day
    assert taken["R2"] == 2  # utilisation: 3 of 4 open at most, 1 already open
    assert taken["R1"] + taken["R3"] == 3  # the team's per_day, shared


def test_a_lead_placed_by_a_fallback_rep_says_so(tmp_path: Path) -> None:
    """Review finding: a fallback placement read as an ordinary one (placed_by_rank)."""
    reps = "id,capacity,region\nR1,9,eu\nR2,9,us\n"
    leads = "id,value,country\nde,10,DE\nbr,10,BR\n"
    policy = """
routing_rules:
  - {name: europe, when: {country: DE}, then: {admit: {rep_attribute: region, in: [eu]}}}
  - {name: americas, when: {country: US}, then: {admit: {rep_attribute: region, in: [us]}}}
  - {name: covered, when: {country: {not_in: [DE, US]}}, then: {exclude: {reps: [R1, R2]}}}
fallback: {no_rule_match: {rep: R2}}
"""
    by_lead = {a["lead_id"]: a for a in run(tmp_path, reps, leads, policy)["assignments"]}
    assert by_lead["de"]["reason_code"] == "placed_by_rank"
    assert by_lead["br"]["rep_id"] == "R2" and by_lead["br"]["reason_code"] == "fallback"
    assert by_lead["br"]["reason"].startswith("fallback: no rule admits a rep; sent to rep R2")


def test_assign_names_the_policy_file_and_every_column_for_a_rule_on_a_missing_field(tmp_path: Path) -> None:
    # assign said "policy, field 'industry_x': ... (the leads have id)": no file, one column of three
    (tmp_path / "reps.csv").write_text("id,capacity\nR1,5\n")
    (tmp_path / "leads.csv").write_text("id,value,country\nX1,100,US\n")
    policy = tmp_path / "rules.yaml"
    policy.write_text("routing_rules:\n  - name: retail\n    when: {industry_x: Retail}\n"
                      "    then: {admit: {reps: [R1]}}\n")
    result = CliRunner().invoke(main, ["assign", "--reps", str(tmp_path / "reps.csv"), "--leads",
                                       str(tmp_path / "leads.csv"), "--policy", str(policy)])
    assert result.exit_code == 2
    message = result.output.splitlines()[-1]
    assert message.startswith(f"error: {policy}, line 3, field 'routing_rules[0].when': rule 'retail': "
                              "unknown lead field 'industry_x'")
    assert "country" in message and "value" in message
