"""Issue 13 through `leadsolver run` as cron calls it: caps over days, rotations across runs, queues,
events, and a day with nothing new. Each run is a new process's worth of state: only the ledger
carries over (the commands run in-process here for speed; the ledger file is all they share)."""

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from solver.cli.main import main


def cli(*argv: str) -> tuple[int, str]:
    """Exit code and stdout (warnings go to stderr), or stderr when it failed."""
    result = CliRunner().invoke(main, list(argv))
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr + result.stdout


class Job:
    """A ledger and the files of a cron job; `run` routes one leads file as of a time."""

    def __init__(self, tmp: Path, reps: str, policy: str, accounts: str | None = None) -> None:
        self.tmp, self.db, self.n = tmp, tmp / "ledger.db", 0
        self.reps = self.write("reps.csv", reps)
        self.policy = self.write("policy.yaml", policy)
        self.accounts = self.write("accounts.csv", accounts) if accounts else None

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text)
        return path

    def run(self, leads: str, now: str, *extra: str) -> dict:
        self.n += 1
        path = self.write(f"leads{self.n}.csv", leads)
        argv = ["run", "--db", str(self.db), "--reps", str(self.reps), "--leads", str(path),
                "--policy", str(self.policy), "--now", now, "--format", "json", *extra]
        if self.accounts:
            argv += ["--accounts", str(self.accounts)]
        code, out = cli(*argv)
        assert code == 0, out
        return json.loads(out)

    def history(self) -> dict:
        code, out = cli("history", "--db", str(self.db), "--format", "json")
        assert code == 0, out
        return json.loads(out)


def one_lead(i: int, **fields: str) -> str:
    names = ["id", "value", *fields]
    return ",".join(names) + "\n" + ",".join([f"L{i:02d}", "100", *fields.values()]) + "\n"


def test_a_daily_cap_of_2_holds_across_runs_in_the_reps_day_and_resets_the_next(tmp_path):
    job = Job(tmp_path, "id,capacity,timezone\nR1,50,America/New_York\n",
              "solver: flow\ncaps:\n  default: {per_day: 2}\n")
    day1 = ["2026-03-02T14:00:00Z", "2026-03-02T16:00:00Z", "2026-03-02T20:00:00Z",
            "2026-03-03T03:00:00Z"]  # the last is 22:00 on March 2 in New York: the same day
    placed = []
    for k, now in enumerate(day1):
        out = job.run(one_lead(k), now)
        (a,) = out["assignments"]
        placed.append(a["rep_id"])
        if a["rep_id"] is None:
            assert a["reason"].startswith("cap: all 1 eligible reps reached a cap or their capacity (per_day)")
            assert a["reason_code"] == "waiting"  # it waits in the backlog for the next day
    assert placed == ["R1", "R1", None, None]
    out = job.run(one_lead(9), "2026-03-03T14:00:00Z")  # March 3 in New York: two more
    assert sum(a["rep_id"] == "R1" for a in out["assignments"]) == 2
    assert out["summary"]["counts"]["from_backlog"] + out["summary"]["counts"]["assigned"] == 2
    per_day = Counter(e["at"][:10] for e in job.history()["events"] if e["kind"] == "assigned")
    assert per_day == {"2026-03-02": 2, "2026-03-03": 2}


def test_round_robin_over_30_one_lead_runs_splits_15_15(tmp_path):
    job = Job(tmp_path, "id,capacity\nA,100\nB,100\n", "solver: round_robin\n")
    owners = [job.run(one_lead(i), f"2026-03-02T09:{i:02d}:00Z")["assignments"][0]["rep_id"]
              for i in range(30)]
    assert Counter(owners) == {"A": 15, "B": 15}
    assert owners[:4] == ["A", "B", "A", "B"]


def test_weighted_round_robin_follows_the_weights_across_runs(tmp_path):
    job = Job(tmp_path, "id,capacity,quota_weight\nA,100,2\nB,100,1\n", "solver: weighted_round_robin\n")
    owners = [job.run(one_lead(i), f"2026-03-02T09:{i:02d}:00Z")["assignments"][0]["rep_id"]
              for i in range(30)]
    assert Counter(owners) == {"A": 20, "B": 10}
    assert all(Counter(owners[k:k + 3]) == {"A": 2, "B": 1} for k in range(0, 30, 3))


def test_a_rep_removed_from_the_team_is_skipped_and_the_rotation_goes_on(tmp_path):
    job = Job(tmp_path, "id,capacity\nA,100\nB,100\nC,100\n", "solver: round_robin\n")
    owners = [job.run(one_lead(i), f"2026-03-02T09:0{i}:00Z")["assignments"][0]["rep_id"] for i in range(4)]
    assert owners == ["A", "B", "C", "A"]
    job.write("reps.csv", "id,capacity\nA,100\nC,100\n")  # B, next in line, left
    owners = [job.run(one_lead(i), f"2026-03-02T10:0{i}:00Z")["assignments"][0]["rep_id"] for i in range(4, 7)]
    assert owners == ["C", "A", "C"]


def test_a_departed_owners_account_lead_goes_to_the_review_queue_and_the_queues_command_lists_it(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,9\nR2,9\n",
              "solver: flow\nfallback:\n  owner_inactive: {queue: review}\n  queues: [review]\n",
              accounts="account_id,owner_id\nacme,OLD\nglobex,R2\n")
    out = job.run("id,value,account_id\norphan,10,acme\nkept,10,globex\nplain,10,\n", "2026-03-02T09:00:00Z")
    by_lead = {a["lead_id"]: a for a in out["assignments"]}
    assert by_lead["orphan"]["queue"] == "review" and by_lead["orphan"]["reason_code"] == "queued"
    assert by_lead["kept"]["rep_id"] == "R2" and by_lead["plain"]["rep_id"] is not None
    assert out["summary"]["counts"]["queued"] == 1
    code, text = cli("queues", "--db", str(job.db), "--format", "json")
    assert code == 0, text
    listed = json.loads(text)
    assert listed["queues"] == {"review": 1}
    assert [(r["lead_id"], r["queue"], r["lifecycle"]) for r in listed["leads"]] == [("orphan", "review", "queued")]
    code, table = cli("queues", "--db", str(job.db), "--queue", "review")
    assert code == 0 and "1 queued leads (review: 1)" in table
    # the next run does not route it: a person does, or `events` closes it
    again = job.run("id,value\nnext,10\n", "2026-03-02T10:00:00Z")
    assert [a["lead_id"] for a in again["assignments"]] == ["next"]
    events = job.write("events.csv", "lead_id,action,at,reason,value\norphan,disqualified,,bad_data,\n")
    code, text = cli("events", "--db", str(job.db), "--file", str(events), "--now", "2026-03-02T11:00:00Z")
    assert code == 0, text
    code, text = cli("queues", "--db", str(job.db), "--format", "json")
    assert json.loads(text)["leads"] == []
    code, table = cli("queues", "--db", str(job.db), "--queue", "review")  # known, now empty
    assert code == 0 and "0 queued leads (none)" in table


def test_a_queue_neither_the_ledger_nor_the_policy_knows_is_an_error_with_a_did_you_mean(tmp_path):
    # `--queue reviw` printed "0 queued leads (none)", exit 0, while leads waited in `review`
    job = Job(tmp_path, "id,capacity,territories\nR1,9,EU\n",
              "solver: flow\nfallback:\n  no_rule_match: {queue: review}\n  queues: [review, escalate]\n")
    job.run("id,value,territory\nL1,10,US\n", "2026-03-02T09:00:00Z")
    code, text = cli("queues", "--db", str(job.db), "--queue", "reviw")
    assert code == 2
    assert "no such queue" in text and "did you mean 'review'?" in text
    code, text = cli("queues", "--db", str(job.db), "--queue", "escalate")  # the ledger has not seen it
    assert code == 2 and "give --policy" in text
    code, table = cli("queues", "--db", str(job.db), "--queue", "escalate", "--policy", str(job.policy))
    assert code == 0 and "0 queued leads (none)" in table
    code, text = cli("queues", "--db", str(job.db), "--queue", "escalat", "--policy", str(job.policy))
    assert code == 2 and "did you mean 'escalate'?" in text


def test_an_empty_leads_file_is_nothing_new_and_still_places_the_backlog(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,1\n", "solver: flow\n")
    first = job.run("id,value\nL1,10\nL2,5\n", "2026-03-02T09:00:00Z")
    assert [a["rep_id"] for a in first["assignments"]] == ["R1", None]
    events = job.write("events.csv", "lead_id,action,at,reason,value\nL1,won,2026-03-02T12:00:00Z,,2500\n")
    code, text = cli("events", "--db", str(job.db), "--file", str(events), "--format", "json")
    assert code == 0, text
    assert json.loads(text)["summary"] == {"events": 1, "applied": 1, "unchanged": 0}
    empty = job.run("id,value\n", "2026-03-03T09:00:00Z")  # nothing new: exit 0, the backlog still runs
    assert empty["summary"]["counts"]["leads"] == 0 and empty["summary"]["counts"]["from_backlog"] == 1
    assert [(a["lead_id"], a["rep_id"]) for a in empty["assignments"]] == [("L2", "R1")]
    nothing = job.write("nothing.json", "[]")  # an empty JSON list: nothing new, as a header only
    code, text = cli("run", "--db", str(job.db), "--reps", str(job.reps), "--leads", str(nothing),
                     "--format", "json")
    assert code == 0, text
    assert json.loads(text)["summary"]["counts"]["leads_in_file"] == 0
    code, text = cli("assign", "--reps", str(job.reps), "--leads", str(nothing))  # a batch needs leads
    assert code == 2 and f"{nothing}: no leads in the file" in text
    last_run = cli("history", "--db", str(job.db), "--run", "last", "--format", "json")
    zero = job.write("zero.csv", "")  # no header at all: a broken export, refused, no run recorded
    code, text = cli("run", "--db", str(job.db), "--reps", str(job.reps), "--leads", str(zero))
    assert code == 2 and f"{zero}: file is empty" in text
    assert cli("history", "--db", str(job.db), "--run", "last", "--format", "json") == last_run
    won = [e for e in job.history()["events"] if e["kind"] == "won"]
    assert [(e["lead_id"], e["rep_id"], e["expected_value"]) for e in won] == [("L1", "R1", 2500.0)]


def test_events_apply_once_free_capacity_and_show_in_history(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,2\n", "solver: flow\n")
    job.run("id,value\nL1,10\nL2,9\nL3,8\n", "2026-03-02T09:00:00Z")  # L3 waits: R1 is full
    events = job.write("events.csv", "lead_id,action,at,reason,value\n"
                                     "L1,touch,2026-03-02T10:00:00Z,,\n"
                                     "L1,won,2026-03-02T12:00:00+00:00,,12000\n"
                                     "L2,disqualified,2026-03-02T12:30:00Z,not_a_fit,\n"
                                     "L3,release,2026-03-02T13:00:00Z,,\n")
    argv = ("events", "--db", str(job.db), "--file", str(events), "--format", "json")
    code, text = cli(*argv)
    assert code == 0, text
    assert json.loads(text)["summary"] == {"events": 4, "applied": 4, "unchanged": 0}
    code, text = cli(*argv)  # the same file again changes nothing
    assert code == 0 and json.loads(text)["summary"] == {"events": 4, "applied": 0, "unchanged": 4}
    leads = {r["lead_id"]: r for r in job.history()["leads"]}
    assert (leads["L1"]["outcome"], leads["L1"]["outcome_value"], leads["L1"]["lifecycle"]) == (
        "won", 12000.0, "closed")
    assert (leads["L2"]["outcome"], leads["L2"]["outcome_reason"]) == ("disqualified", "not_a_fit")
    assert leads["L3"]["lifecycle"] == "closed" and leads["L3"]["reason_code"] == "closed_while_waiting"
    kinds = [e["kind"] for e in job.history()["events"] if e["lead_id"] == "L1"]
    assert kinds == ["accepted", "assigned", "touched", "released", "won"]
    code, table = cli("history", "--db", str(job.db), "--lead", "L2")
    assert code == 0 and "disqualified" in table and "not_a_fit" in table
    out = job.run("id,value\nL4,1\nL5,1\n", "2026-03-02T14:00:00Z")  # both seats are free again
    assert [a["rep_id"] for a in out["assignments"]] == ["R1", "R1"]


def test_a_bad_events_row_names_file_row_and_field_and_applies_nothing(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,5\n", "solver: flow\n")
    job.run("id,value\nL1,10\nL2,9\n", "2026-03-02T09:00:00Z")
    cases = [
        ("L1,release,,,\nL2,disqualified,,too_expensive,\n", "row 2, field 'reason'"),
        ("L1,release,,,\nL2,won,yesterday,,\n", "row 2, field 'at'"),
        ("L1,release,,,\nL2,won,,,lots\n", "row 2, field 'value'"),
        ("L1,release,,,\nL2,sold,,,\n", "row 2, field 'action'"),
        ("L1,release,,,\nL9,won,,,\n", "row 2, field 'lead_id': lead 'L9' is not in the ledger"),
    ]
    for k, (rows, where) in enumerate(cases):
        events = job.write(f"bad{k}.csv", "lead_id,action,at,reason,value\n" + rows)
        code, text = cli("events", "--db", str(job.db), "--file", str(events))
        assert code == 2 and f"{events}, {where}" in text, text
    assert {r["lifecycle"] for r in job.history()["leads"]} == {"assigned"}  # L1 was not released
    leads = job.write("more.csv", "id,value\nL3,1\n")
    code, text = cli("run", "--db", str(job.db), "--reps", str(job.reps), "--leads", str(leads),
                     "--now", "2026-03-02")
    assert code == 2 and "has no time zone offset" in text


def test_a_person_assigns_a_queued_lead_by_an_event_and_it_counts_as_the_reps_lead(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,1\n",
              "solver: flow\nfallback:\n  owner_inactive: {queue: review}\n  queues: [review]\n",
              accounts="account_id,owner_id\nacme,OLD\n")
    job.run("id,value,account_id\norphan,10,acme\n", "2026-03-02T09:00:00Z")
    events = job.write("assign.csv", "lead_id,action,rep_id\norphan,assign,R1\n")
    for applied in (1, 0):  # the second time it no longer waits: nothing changes
        code, text = cli("events", "--db", str(job.db), "--file", str(events), "--reps", str(job.reps),
                         "--format", "json")
        assert code == 0, text
        assert json.loads(text)["summary"]["applied"] == applied
    (row,) = job.history()["leads"]
    assert (row["lifecycle"], row["rep_id"], row["reason_code"], row["queue"]) == (
        "assigned", "R1", "assigned_by_person", None)
    assert row["reason"] == "assigned by a person from the queue review"
    out = job.run("id,value\nnext,10\n", "2026-03-02T10:00:00Z")  # R1's one seat is taken
    assert out["assignments"][0]["rep_id"] is None
    bad = job.write("bad.csv", "lead_id,action,rep_id\norphan,won,R1\n")
    code, text = cli("events", "--db", str(job.db), "--file", str(bad))
    assert code == 2 and "row 1, field 'rep_id': a rep_id is for assign, not won" in text


def test_csv_reports_of_run_history_queues_and_events_defuse_spreadsheet_formulas(tmp_path):
    job = Job(tmp_path, "id,capacity\nR1,9\n",
              "solver: flow\nfallback:\n  owner_inactive: {queue: review}\n  queues: [review]\n",
              accounts="account_id,owner_id\nacme,OLD\n")
    leads = job.write("formula.csv", 'id,value,account_id\n"=HYPERLINK(""x"")",10,acme\n')
    code, text = cli("run", "--db", str(job.db), "--reps", str(job.reps), "--leads", str(leads),
                     "--policy", str(job.policy), "--accounts", str(job.accounts), "--format", "csv")
    assert code == 0, text
    assert text.splitlines()[1].startswith("\"'=HYPERLINK(\"\"x\"\")\",")
    events = job.write("events.csv", 'lead_id,action,rep_id\n"=HYPERLINK(""x"")",assign,R1\n')
    for argv in (("history",), ("queues",)):
        code, text = cli(*argv, "--db", str(job.db), "--format", "csv")
        assert code == 0, text
        rows = text.splitlines()[1:]
        assert rows and all("'=HYPERLINK(" in row for row in rows), text
        assert not any(",=HYPERLINK(" in row or row.startswith("=") for row in rows), text
    code, text = cli("events", "--db", str(job.db), "--file", str(events), "--reps", str(job.reps),
                     "--format", "csv")
    assert code == 0, text
    assert text.splitlines()[1].startswith("\"'=HYPERLINK(\"\"x\"\")\",assign,")
