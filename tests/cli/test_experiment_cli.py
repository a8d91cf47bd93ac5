"""`leadsolver run` with an experiment, `events` for outcomes, `experiment report` and `stop` (issue 15).

End to end on a temporary SQLite ledger: switchback and account randomization
through the batch job, the report's figures recomputed by hand, promotion of
the winner, and bad input refused with exit 2.
"""

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from solver.cli.main import main

SAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "sample"
DAY = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


def cli(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(argv))
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr + result.stdout


def policy_file(tmp_path: Path, **experiment) -> Path:
    section = {"name": "rr-challenge", "challenger": {"solver": "round_robin"}} | experiment
    path = tmp_path / "policy.yaml"  # the sample's policy, with the section as a JSON flow mapping
    path.write_text((SAMPLE / "policy.yaml").read_text() + f"experiment: {json.dumps(section)}\n")
    return path


def lead_files(tmp_path: Path, parts: int) -> list[Path]:
    """The sample's leads cut into `parts` files (one a run)."""
    rows = list(csv.DictReader((SAMPLE / "leads.csv").open()))
    files = []
    for k in range(parts):
        path = tmp_path / f"leads{k}.csv"
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[k::parts])
        files.append(path)
    return files


def run(db: Path, policy: Path, leads: Path, now: datetime) -> list[dict]:
    code, out = cli("run", "--db", str(db), "--reps", str(SAMPLE / "reps.csv"), "--leads", str(leads),
                    "--policy", str(policy), "--now", now.isoformat(), "--format", "json")
    assert code == 0, out
    return json.loads(out)["assignments"]


def record_outcomes(tmp_path: Path, db: Path, assignments: list[dict], at: datetime) -> dict[str, str]:
    """Touch every assigned lead and close it: every third won (value 1,000), the others lost;
    the last five stay pending."""
    placed = [a for a in assignments if a["status"] == "assigned"]
    outcome = {}
    rows = []
    for k, a in enumerate(placed[:-5]):
        outcome[a["lead_id"]] = "won" if k % 3 == 0 else "lost"
        rows.append((a["lead_id"], "touch", (at + timedelta(minutes=30)).isoformat(), ""))
        rows.append((a["lead_id"], outcome[a["lead_id"]], (at + timedelta(days=2)).isoformat(),
                     "1000" if k % 3 == 0 else ""))
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("lead_id", "action", "at", "value"))
        writer.writerows(rows)
    code, out = cli("events", "--db", str(db), "--file", str(path))
    assert code == 0, out
    return outcome


def report(db: Path) -> dict:
    code, out = cli("experiment", "report", "--db", str(db), "--format", "json")
    assert code == 0, out
    return json.loads(out)


def test_switchback_through_run_events_report_and_stop(tmp_path):
    db = tmp_path / "ledger.db"
    policy = policy_file(tmp_path, unit="switchback", block_hours=1)
    arms_by_run = []
    everything = []
    run_of = {}
    for k, leads in enumerate(lead_files(tmp_path, 6)):  # one run an hour: each in its own block
        out = run(db, policy, leads, DAY + timedelta(hours=k))
        arms_by_run.append({a["arm"] for a in out})
        everything += out
        run_of |= {a["lead_id"]: k for a in out}
    assert all(len(arms) == 1 for arms in arms_by_run)  # the whole team in one arm per block
    assert set().union(*arms_by_run) == {"control", "challenger"}
    assert {a["policy"] for a in everything if a["arm"] == "challenger" and a["status"] == "assigned"} == {
        "round_robin"}
    outcome = record_outcomes(tmp_path, db, everything, DAY + timedelta(hours=6))

    figures = report(db)
    arm_of = {a["lead_id"]: a["arm"] for a in everything}
    for arm in ("control", "challenger"):
        mine = [lead for lead, o in outcome.items() if arm_of[lead] == arm]
        won = sum(outcome[lead] == "won" for lead in mine)
        got = figures["arms"][arm]
        assert got["leads"] == sum(a["arm"] == arm for a in everything)
        assert (got["resolved"], got["won"]) == (len(mine), won)
        assert got["conversion"] == pytest.approx(won / len(mine))
        assert got["revenue_per_lead"] == pytest.approx(1000 * won / len(mine))
        assert got["pending"] == got["leads"] - len(mine)  # no outcome: pending, not lost
        # accepted at 09:00 + k h (run k), touched at 15:30
        minutes = [30 + 60 * (6 - run_of[lead]) for lead in mine]
        assert got["first_touch_minutes"]["median"] == pytest.approx(float(np.median(minutes)))
    d = figures["difference"]
    assert d["cluster_robust"] and d["clusters"] == 6  # one cluster a block
    assert d["diff"] == pytest.approx(figures["arms"]["challenger"]["conversion"]
                                      - figures["arms"]["control"]["conversion"], abs=1e-6)
    assert figures["sequential"]["looks"] >= 1 and 0 < figures["sequential"]["p_value"] <= 1
    assert figures["sample_size"]["sequential"] >= figures["sample_size"]["fixed_horizon"]

    code, table = cli("experiment", "report", "--db", str(db))
    assert code == 0 and "always-valid p" in table and "first touch, median (min)" in table
    page = tmp_path / "report.html"
    code, _ = cli("experiment", "report", "--db", str(db), "--format", "html", "--out", str(page))
    assert code == 0 and "<svg" in page.read_text() and "Cumulative lift" in page.read_text()

    code, out = cli("experiment", "stop", "--db", str(db), "--winner", "challenger", "--by", "ops lead")
    assert code == 0 and "round_robin" in out, out
    code, out = cli("experiment", "stop", "--db", str(db), "--winner", "control")
    assert code == 2 and "already stopped" in out
    code, out = cli("history", "--db", str(db), "--format", "json")
    stops = [e for e in json.loads(out)["experiments"] if "winner" in e]
    assert stops and stops[0]["winner"] == "challenger" and stops[0]["decided_by"] == "ops lead"
    assert stops[0]["report"]["difference"]["diff"] == pytest.approx(d["diff"])
    code, out = cli("history", "--db", str(db))
    assert "winner challenger (round_robin) routes every lead" in out

    new = tmp_path / "new.csv"
    new.write_text("id,territory,segment,value\nN1,NA-East,SMB,500\nN2,NA-West,SMB,600\n")
    after = run(db, policy, new, DAY + timedelta(days=3))
    assert [(a["lead_id"], a.get("arm"), a["policy"]) for a in after if a["lead_id"] in ("N1", "N2")] == [
        ("N1", None, "round_robin"), ("N2", None, "round_robin")]
    # leads waiting since the experiment are placed by the winner's policy and keep their arm
    assert all(a["arm"] == arm_of[a["lead_id"]] and a["policy"] == "round_robin"
               for a in after if a["lead_id"] not in ("N1", "N2"))


def test_account_randomization_through_run_keeps_each_account_in_one_arm(tmp_path):
    db = tmp_path / "ledger.db"
    policy = policy_file(tmp_path, unit="account")
    everything = []
    for k, leads in enumerate(lead_files(tmp_path, 2)):
        everything += run(db, policy, leads, DAY + timedelta(days=k))
    accounts = {r["id"]: r["account_id"] for r in csv.DictReader((SAMPLE / "leads.csv").open())}
    arms = defaultdict(set)
    for a in everything:
        arms[accounts[a["lead_id"]]].add(a["arm"])
    assert all(len(v) == 1 for v in arms.values()) and {next(iter(v)) for v in arms.values()} == {
        "control", "challenger"}
    record_outcomes(tmp_path, db, everything, DAY + timedelta(days=2))
    figures = report(db)
    resolved_accounts = {accounts[lead] for lead in accounts
                         if any(a["lead_id"] == lead and a["status"] == "assigned" for a in everything)}
    assert figures["difference"]["cluster_robust"]
    assert figures["difference"]["clusters"] <= len(resolved_accounts)


@pytest.mark.parametrize(("argv", "message"), [
    (("experiment", "report", "--db", "{tmp}/missing.db"), "no ledger at this path"),
    (("experiment", "report", "--db", "{tmp}/plain.db"), "records no experiment"),
    (("experiment", "stop", "--db", "{tmp}/plain.db", "--winner", "control"), "records no experiment"),
    (("experiment", "stop", "--db", "{tmp}/plain.db", "--winner", "both"), "'both' is not one of"),
])
def test_bad_experiment_commands_exit_2_and_write_nothing(tmp_path, argv, message):
    plain = tmp_path / "plain.db"
    run(plain, SAMPLE / "policy.yaml", lead_files(tmp_path, 10)[0], DAY)  # a ledger without experiment
    before = plain.read_bytes()
    code, out = cli(*(a.replace("{tmp}", str(tmp_path)) for a in argv))
    assert code == 2 and message in out
    assert plain.read_bytes() == before


def test_a_bad_experiment_section_names_the_policy_file_and_field(tmp_path):
    policy = policy_file(tmp_path, challenger={"caps": {"per_day": 3}})
    code, out = cli("run", "--db", str(tmp_path / "l.db"), "--reps", str(SAMPLE / "reps.csv"),
                    "--leads", str(SAMPLE / "leads.csv"), "--policy", str(policy))
    assert code == 2 and "policy.yaml" in out and "experiment" in out and "a challenger may change only" in out
    assert not (tmp_path / "l.db").exists()


def test_a_report_counts_only_the_leads_of_the_experiment_it_names(tmp_path):
    """QA: a second experiment's report counted every lead with an arm in the ledger, the first's too."""
    db = tmp_path / "ledger.db"
    first, second = lead_files(tmp_path, 2)
    old = run(db, policy_file(tmp_path), first, DAY)
    record_outcomes(tmp_path, db, old, DAY + timedelta(hours=6))
    code, out = cli("experiment", "stop", "--db", str(db), "--winner", "control", "--by", "qa")
    assert code == 0, out
    new = run(db, policy_file(tmp_path, name="second-exp"), second, DAY + timedelta(days=6))
    code, out = cli("experiment", "report", "--db", str(db), "--name", "second-exp", "--format", "json")
    assert code == 0, out
    arms = json.loads(out)["arms"]
    for arm in ("control", "challenger"):
        assert arms[arm]["leads"] == sum(a["arm"] == arm for a in new)
        assert (arms[arm]["resolved"], arms[arm]["pending"]) == (0, arms[arm]["leads"])
    code, out = cli("experiment", "report", "--db", str(db), "--name", "rr-challenge", "--format", "json")
    assert code == 0, out
    arms = json.loads(out)["arms"]
    assert [arms[arm]["leads"] for arm in ("control", "challenger")] == [
        sum(a["arm"] == arm for a in old) for arm in ("control", "challenger")]


def test_account_units_follow_the_accounts_files_parent_chains_in_the_arms_and_the_clusters(tmp_path):
    """QA: with unit: account, parents given in --accounts were ignored (only a leads column was read)."""
    rows = list(csv.DictReader((SAMPLE / "leads.csv").open()))
    ids = sorted({r["account_id"] for r in rows})
    root = {a: f"TOP{k % 6}" for k, a in enumerate(ids)}  # each account under a middle one under a top one
    accounts = tmp_path / "accounts.csv"
    with accounts.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("account_id", "parent_account_id"))
        writer.writerows([(f"TOP{k}", "") for k in range(6)] + [(f"MID{k}", f"TOP{k}") for k in range(6)])
        writer.writerows((a, f"MID{root[a][3:]}") for a in ids)
    db = tmp_path / "ledger.db"
    code, out = cli("run", "--db", str(db), "--reps", str(SAMPLE / "reps.csv"), "--leads", str(SAMPLE / "leads.csv"),
                    "--policy", str(policy_file(tmp_path, unit="account")), "--accounts", str(accounts),
                    "--now", DAY.isoformat(), "--format", "json")
    assert code == 0, out
    everything = json.loads(out)["assignments"]
    account = {r["id"]: r["account_id"] for r in rows}
    arms = defaultdict(set)
    for a in everything:
        arms[root[account[a["lead_id"]]]].add(a["arm"])
    assert all(len(v) == 1 for v in arms.values()), arms
    record_outcomes(tmp_path, db, everything, DAY + timedelta(days=1))
    code, out = cli("experiment", "report", "--db", str(db), "--accounts", str(accounts), "--format", "json")
    assert code == 0, out
    figures = json.loads(out)
    assert figures["difference"]["cluster_robust"] and figures["difference"]["clusters"] <= 6


def test_run_warns_when_the_policy_drops_a_stopped_experiments_section_without_the_winners_settings(tmp_path):
    """QA: after `stop --winner challenger`, removing the experiment section routed with the policy's
    own solver, silently. The winner holds while the section does; `run` now says so."""
    db = tmp_path / "ledger.db"
    first, second, third = lead_files(tmp_path, 3)
    run(db, policy_file(tmp_path), first, DAY)
    code, out = cli("experiment", "stop", "--db", str(db), "--winner", "challenger")
    assert code == 0 and "put the winner's settings in the policy" in out, out
    code, out = cli("experiment", "stop", "--help")
    assert code == 0 and "only while the policy still holds" in " ".join(out.split())

    def run_with(policy: Path, leads: Path) -> str:
        result = CliRunner().invoke(main, ["run", "--db", str(db), "--reps", str(SAMPLE / "reps.csv"),
                                           "--leads", str(leads), "--policy", str(policy),
                                           "--now", (DAY + timedelta(days=1)).isoformat()])
        assert result.exit_code == 0, result.output
        return result.stderr

    warned = run_with(SAMPLE / "policy.yaml", second)  # the section gone, the policy's own solver
    assert "'rr-challenge' was stopped with the winner challenger (round_robin)" in warned
    assert 'put its settings ({"solver": "round_robin"}) in the policy' in warned
    winners = tmp_path / "winner.yaml"  # the winner's settings in the policy: nothing to say
    winners.write_text((SAMPLE / "policy.yaml").read_text().replace("solver: flow", "solver: round_robin"))
    assert "stopped with the winner" not in run_with(winners, third)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path) -> Iterator[str]:
    """A new ledger: a SQLite file, or a fresh schema of the test PostgreSQL database (skipped,
    saying why, where no server answers)."""
    if request.param == "postgresql":
        from tests.pg_server import pg_schema_url

        with pg_schema_url() as url:
            yield url
        return
    yield str(tmp_path / "ledger.db")


def two_experiments(tmp_path: Path, ledger: str) -> dict[str, list[dict]]:
    """Two teams' experiments running at once on `ledger`, 'rr-test' started first, their runs
    interleaved: each one's answers."""
    parts = lead_files(tmp_path, 4)
    policies = {}
    for name, challenger in (("rr-test", "round_robin"), ("greedy-test", "greedy")):
        (tmp_path / name).mkdir()
        policies[name] = policy_file(tmp_path / name, name=name, challenger={"solver": challenger})
    routed: dict[str, list[dict]] = {"rr-test": [], "greedy-test": []}
    for k, (name, leads) in enumerate(zip(["rr-test", "greedy-test"] * 2, parts, strict=True)):
        routed[name] += run(ledger, policies[name], leads, DAY + timedelta(hours=k))
    return routed


def test_two_experiments_interleaved_on_one_ledger_report_apart(tmp_path, ledger):
    """Two teams' experiments on one ledger, their runs interleaved: the ledger recorded each
    lead's arm but not its experiment, so a report counted the other experiment's leads under
    its arms (here: the first experiment's later runs went to the second's report)."""
    routed = two_experiments(tmp_path, ledger)
    for name, out in routed.items():
        code, text = cli("experiment", "report", "--db", ledger, "--name", name, "--format", "json")
        assert code == 0, text
        arms = json.loads(text)["arms"]
        assert [arms[arm]["leads"] for arm in ("control", "challenger")] == [
            sum(a["arm"] == arm for a in out) for arm in ("control", "challenger")], name
        assert {a["experiment"] for a in out} == {name}  # the batch job's answers name it
    code, text = cli("history", "--db", ledger, "--format", "json")
    assert code == 0, text
    by_lead = {row["lead_id"]: row["experiment"] for row in json.loads(text)["leads"]}
    assert all(by_lead[a["lead_id"]] == name for name, out in routed.items() for a in out)


def test_with_two_experiments_running_report_and_stop_ask_which_one(tmp_path, ledger):
    """QA: with two experiments running, `stop` without --name stopped whichever record was latest
    (exit 0) and `report` reported it. Both now refuse, naming the running ones; with one left
    running, that one is the default."""
    two_experiments(tmp_path, ledger)

    def trail() -> str:
        code, text = cli("history", "--db", ledger, "--format", "json")
        assert code == 0, text
        return text

    before = trail()
    for argv in (("report",), ("stop", "--winner", "challenger")):
        code, out = cli("experiment", *argv, "--db", ledger)
        assert code == 2, out
        assert "field 'name': 2 experiments are running on this ledger ('rr-test', 'greedy-test'): " \
               "give --name to pick one" in out
    assert trail() == before  # nothing stopped
    code, out = cli("experiment", "stop", "--db", ledger, "--name", "rr-test", "--winner", "control")
    assert code == 0, out
    # one left running: the default, though the latest record is the other one's stop
    code, out = cli("experiment", "report", "--db", ledger, "--format", "json")
    assert code == 0 and json.loads(out)["experiment"]["name"] == "greedy-test", out
    code, out = cli("experiment", "stop", "--db", ledger, "--winner", "challenger")
    assert code == 0 and "stopped experiment 'greedy-test': challenger (greedy)" in out, out


def as_unnamed(ledger: str) -> None:
    """Turn a ledger back into the schema before experiment names: SQLite version 5, PostgreSQL 4."""
    if ledger.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(ledger, autocommit=True) as db:
            db.execute("ALTER TABLE leads DROP COLUMN experiment")
            db.execute("DELETE FROM schema_version WHERE version = 5")
        return
    import sqlite3

    with sqlite3.connect(ledger) as db:
        db.execute("ALTER TABLE leads DROP COLUMN experiment")
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def test_a_ledger_from_before_experiment_names_reports_as_before_once_upgraded(tmp_path, ledger):
    """Leads decided before the ledger recorded experiment names keep the report by start times:
    two experiments one after the other report the same figures without the names."""
    first, second = lead_files(tmp_path, 2)
    old = run(ledger, policy_file(tmp_path), first, DAY)
    record_outcomes(tmp_path, ledger, old, DAY + timedelta(hours=6))
    code, out = cli("experiment", "stop", "--db", ledger, "--winner", "control", "--by", "qa")
    assert code == 0, out
    new = run(ledger, policy_file(tmp_path, name="second-exp"), second, DAY + timedelta(days=6))

    def reports() -> list[dict]:
        out = []
        for name in ("rr-challenge", "second-exp"):
            code, text = cli("experiment", "report", "--db", ledger, "--name", name, "--format", "json")
            assert code == 0, text
            out.append(json.loads(text))
        return out

    named = reports()
    assert named[0]["arms"]["control"]["leads"] == sum(a["arm"] == "control" for a in old) > 0
    as_unnamed(ledger)
    code, out = cli("experiment", "report", "--db", ledger, "--format", "json")
    assert code == 2 and "schema version" in out  # a reader migrates nothing
    # QA: the SQLite message sent the user to `leadsolver run`, which routes leads to migrate
    assert "`leadsolver db upgrade --db" in out and "leadsolver run" not in out
    code, out = cli("db", "upgrade", "--db", ledger)
    assert code == 0 and "-> schema version" in out, out
    assert reports() == named
    # QA: history gave these leads experiment null; it gives the experiment whose report counts them
    code, out = cli("history", "--db", ledger, "--format", "json")
    assert code == 0, out
    by_lead = {row["lead_id"]: row["experiment"] for row in json.loads(out)["leads"]}
    assert {by_lead[a["lead_id"]] for a in old} == {"rr-challenge"}
    assert {by_lead[a["lead_id"]] for a in new} == {"second-exp"}


def test_the_consoles_experiment_page_shows_the_services_own_experiment(tmp_path, ledger):
    """Two experiments running on one ledger, 'greedy-test' recorded last: the console of a
    service routing 'rr-test' showed 'greedy-test's arms and lift (the latest the ledger records)."""
    from types import SimpleNamespace

    from solver.domain.io import load_policy
    from solver.http.ui import experiment_body
    from solver.online.stores import open_store

    two_experiments(tmp_path, ledger)
    policy = load_policy(tmp_path / "rr-test" / "policy.yaml")
    assert policy.experiment is not None and policy.experiment.name == "rr-test"
    store = open_store(ledger, read_only=True)
    try:
        page = experiment_body(SimpleNamespace(store=store, policy=policy))  # type: ignore[arg-type]
    finally:
        store.close()
    assert "rr-test" in page and "greedy-test" not in page
