"""scenarios/routing end to end (issue 13): `leadsolver validate` reports every rule, `leadsolver
assign` routes the 200 leads by the policy's teams, rules, accounts and fallbacks.

The expectations are computed from the scenario's CSV files, not copied from a run: which leads
the review queue must hold, which desk each segment goes to, who covers which country.
Caps (`caps:` in the policy) bound the batch itself in `assign` (no ledger to count): each rep's
per_day as the batch's whole intake, the public-sector team's per_day for its members together.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from solver.cli import main

HERE = Path(__file__).resolve().parents[2] / "scenarios" / "routing"
FILES = ["--reps", str(HERE / "reps.csv"), "--leads", str(HERE / "leads.csv"),
         "--accounts", str(HERE / "accounts.csv")]
PUBLIC = {"government", "education"}


def rows(name: str) -> dict[str, dict[str, str]]:
    with open(HERE / name, newline="", encoding="utf-8") as f:
        return {r.get("id") or r["account_id"]: r for r in csv.DictReader(f)}


REPS, LEADS, ACCOUNTS = rows("reps.csv"), rows("leads.csv"), rows("accounts.csv")


def assign(policy: Path = HERE / "policy.yaml") -> dict[str, Any]:
    result = CliRunner().invoke(main, ["assign", *FILES, "--policy", str(policy), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@cache
def routed() -> dict[str, dict[str, Any]]:
    return {a["lead_id"]: a for a in assign()["assignments"]}


def rep_of(lead: str) -> str | None:
    return routed()[lead]["rep_id"]


def listed(rep: str, column: str) -> set[str]:
    return {x.strip().lower() for x in REPS[rep][column].split(";") if x.strip()}


def account_owner(lead: dict[str, str]) -> str:
    """The owner up the lead's account chain ("" = none)."""
    account = ACCOUNTS.get(lead["account_id"])
    while account is not None:
        if account["owner_id"]:
            return account["owner_id"]
        account = ACCOUNTS.get(account["parent_account_id"])
    return ""


def segment(employees: str) -> str:
    if not employees:
        return "SMB"
    n = float(employees)
    return "SMB" if n < 200 else "MM" if n < 1000 else "ENT"


def desk(lead: dict[str, str]) -> str:
    if lead["industry"].lower() in PUBLIC:
        return "public"
    return {"SMB": "smb", "MM": "midmarket", "ENT": "enterprise"}[segment(lead["employees"])]


def routed_by_rules(lead_id: str) -> bool:
    """Assigned, and not by an account (owner or named account) that overrides the rules."""
    lead = LEADS[lead_id]
    return rep_of(lead_id) is not None and not lead["owner_id"] and not lead["account_id"]


def test_validate_reports_every_rule_of_the_policy_with_its_reach() -> None:
    result = CliRunner().invoke(main, ["validate", *FILES, "--policy", str(HERE / "policy.yaml")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("ok: 24 reps, 200 leads, solver flow\naccounts: 30 (3 named)\nrouting rules (13):")
    policy = yaml.safe_load((HERE / "policy.yaml").read_text())
    names = [r["name"] for r in policy["routing_rules"]]
    names += [r["name"] for team in policy["teams"] for r in team.get("rules", [])]
    assert len(names) == 13
    lines = {line.strip().split(" (")[0]: line for line in out.splitlines() if line.startswith("  ")}
    for name in names:
        assert name in lines, f"validate does not report rule {name!r}"
    assert lines["trade-show leads to Grace"].endswith("(off admit): off")
    assert "(hard exclude): matches" in lines["no healthcare for Sofia"]
    healthcare = sum(lead["industry"] == "Healthcare" for lead in LEADS.values())
    assert f"matches {healthcare} of 200 leads; excludes 1 of 24 reps" in lines["no healthcare for Sofia"]
    japanese = sum(lead["language"] == "ja" for lead in LEADS.values())
    speakers = sum("ja" in listed(r, "languages") for r in REPS)
    assert (f"matches {japanese} of 200 leads; admits {speakers} of 24 reps"
            in lines["Japanese leads to Japanese speakers"])
    public = sum(lead["industry"].lower() in PUBLIC for lead in LEADS.values())
    assert f"matches {public} of 200 leads; admits 3 of 24 reps" in lines[
        "public sector to the public-sector team"]


def test_named_accounts_go_to_their_named_rep_or_team() -> None:
    assert rep_of("L0001") == "K01"  # Northwind Global: named rep K01
    assert rep_of("L0002") == "K01"  # Northwind France: a subsidiary of the named account
    assert rep_of("L0003") in {"E01", "E02", "E03", "E04", "E05", "K01"}  # Tailspin: team enterprise
    # K01 is strategic-only: nothing but named accounts' leads.
    named = {a for a, acc in ACCOUNTS.items() if acc["named"] == "true"} | {"ACC-011"}
    assert {LEADS[lead]["account_id"] for lead, a in routed().items() if a["rep_id"] == "K01"} <= named


def test_a_subsidiary_goes_to_its_parents_owner_and_a_set_owner_keeps_its_lead() -> None:
    assert rep_of("L0004") == "E03"  # Umbrella Nederland -> Umbrella Holdings' owner
    assert rep_of("L0005") == "E04"  # Stark Austria -> Stark Maschinenbau's owner
    assert rep_of("L0019") == "S03"  # owner_id set in the export
    for lead_id, lead in LEADS.items():
        owner = account_owner(lead)
        if owner and REPS[owner]["available"] == "true":
            assert rep_of(lead_id) == owner, lead_id


def test_the_review_queue_holds_the_departed_owners_leads_and_the_uncovered_countries() -> None:
    covered = {c for rep in REPS.values() if rep["available"] == "true"
               for c in rep["countries"].split(";")}
    departed = {lead_id for lead_id, lead in LEADS.items()
                if (o := account_owner(lead)) and REPS[o]["available"] == "false"}
    uncovered = {lead_id for lead_id, lead in LEADS.items() if lead["country"] not in covered} - departed
    assert {"L0006", "L0007"} <= departed and {"L0015", "L0016"} <= uncovered
    queued = {lead_id: a for lead_id, a in routed().items() if a.get("queue")}
    assert set(queued) == departed | uncovered
    for lead_id, a in queued.items():
        assert a["queue"] == "review" and a["rep_id"] is None and a["reason_code"] == "queued"
        cause = "the account's owner is inactive" if lead_id in departed else "no rule admits a rep"
        assert a["reason"] == f"queued: review: {cause}", lead_id
    gone = {r for r, rep in REPS.items() if rep["available"] == "false"}
    assert gone == {"E06", "M07"} and not any(a["rep_id"] in gone for a in routed().values())


@pytest.mark.parametrize(("lead", "team"), [
    ("L0008", "smb"),         # 199 employees
    ("L0009", "midmarket"),   # 200: a threshold is the first value of the next band
    ("L0010", "midmarket"),   # 999
    ("L0011", "enterprise"),  # 1000
    ("L0012", "smb"),         # blank: missing -> SMB
    ("L0013", "public"),      # 40,000 employees, but Government: the final rule wins
])
def test_the_segment_boundaries(lead: str, team: str) -> None:
    rep = rep_of(lead)
    assert rep is not None and REPS[rep]["desk"] == team


def test_rule_routed_leads_stay_on_their_desk_in_their_country_and_language() -> None:
    checked = 0
    for lead_id, lead in LEADS.items():
        if not routed_by_rules(lead_id):
            continue
        checked += 1
        rep = rep_of(lead_id)
        assert rep is not None
        assert REPS[rep]["desk"] == desk(lead), lead_id
        assert lead["country"].lower() in listed(rep, "countries"), lead_id
        if lead["language"] == "ja":
            assert "ja" in listed(rep, "languages"), lead_id
    assert checked > 130  # the rest: queued, or left over by capacity and caps


def test_no_healthcare_lead_goes_to_the_excluded_rep() -> None:
    healthcare = [i for i, lead in LEADS.items() if lead["industry"] == "Healthcare"]
    us_midmarket = [i for i in healthcare if routed_by_rules(i) and desk(LEADS[i]) == "midmarket"
                    and LEADS[i]["country"] in ("US", "CA")]
    assert us_midmarket  # the rule has something to do: M02 covers these leads but for it
    assert all(rep_of(i) != "M02" for i in healthcare)
    assert any(a["rep_id"] == "M02" for a in routed().values())  # M02 takes other leads


def test_the_off_rule_is_not_applied_and_the_public_sector_team_cap_binds() -> None:
    trade_show = [i for i, lead in LEADS.items() if lead["source"] == "Trade Show" and rep_of(i)]
    assert trade_show and any(rep_of(i) != "S03" for i in trade_show)
    members = {"P01", "P02", "P03"}
    taken = sum(a["rep_id"] in members for a in routed().values())
    open_now = sum(int(REPS[r]["open_leads"]) for r in members)
    assert taken == 20 - open_now  # the team's capacity: 20 open leads
    # Left over by the team's cap, and said so (the reps themselves still had room).
    full = [i for i, a in routed().items() if a["reason_code"] == "team_cap"]
    assert full and all(desk(LEADS[i]) == "public" for i in full)
    assert all("public_sector" in routed()[i]["reason"] for i in full)


def test_the_caps_bound_the_batch() -> None:
    """per_day 12 for everyone, 4 for S06 (half days), 20 for the public-sector team together."""
    policy = yaml.safe_load((HERE / "policy.yaml").read_text())
    taken: dict[str, int] = {}
    for a in routed().values():
        if a["rep_id"] is not None and a["reason_code"] != "account_owner":
            taken[a["rep_id"]] = taken.get(a["rep_id"], 0) + 1
    assert taken.get("S06", 0) <= policy["caps"]["reps"]["S06"]["per_day"] == 4
    assert max(taken.values()) <= policy["caps"]["default"]["per_day"] == 12
    assert sum(taken.get(r, 0) for r in ("P01", "P02", "P03")) <= policy["caps"]["teams"]["public_sector"]["per_day"]
    assert any(n == 12 for n in taken.values())  # the cap binds somewhere


def test_the_ranked_preference_moves_financial_services_leads_to_the_specialists(tmp_path: Path) -> None:
    # The policy without the rule, cut from its text (a YAML round trip would turn `off` into false).
    text = (HERE / "policy.yaml").read_text()
    start = text.index("  - name: financial services specialists first")
    end = text.index("  # --- Switched off.")
    (tmp_path / "policy.yaml").write_text(text[:start] + text[end:])
    without = {a["lead_id"]: a["rep_id"] for a in assign(tmp_path / "policy.yaml")["assignments"]}
    specialists = {r for r in REPS if "financial services" in listed(r, "verticals")}
    fs = [i for i, lead in LEADS.items() if lead["industry"] == "Financial Services" and routed_by_rules(i)]

    def share(owners: dict[str, str | None]) -> int:
        return sum(owners[i] in specialists for i in fs)

    assert share({i: rep_of(i) for i in fs}) > share(without)
