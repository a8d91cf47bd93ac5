"""Replicas on one ledger: two `leadsolver serve` processes and a `leadsolver run` job, one killed.

Protocol
--------
- A team of `REPS` reps with room for every lead but a daily cap (`CAP_PER_DAY`
  each) that the load exceeds, a policy batching normal leads for up to
  `BATCH_WAIT_S` (so a replica always holds buffered leads), and a fresh
  ledger: a new PostgreSQL schema, or a new SQLite file.
- `replicas` `leadsolver serve` processes start together on loopback ports
  (they race to create the schema: the migration lock makes one do it).
- Open-loop load: lead k (a distinct id, a share `urgent` of them urgent) is
  due at start + k / rate and sent to replica k mod replicas, as a load
  balancer would; latency runs from the due time to the answer's last byte.
  A request that fails (connection refused or reset: a dead replica) is sent
  again, with the same lead id, to the next replica, and its answer compared
  with what the ledger recorded first.
- A tenth of the way into the schedule a `leadsolver run` job routes `JOB_LEADS` leads of
  its own on the same ledger; from half of it, once the job is done, the
  replica leading the micro-batches is killed with SIGKILL (when it holds
  buffered leads of its own), and the balancer sends everything to the others.
- After the schedule the surviving replicas get one batch window and a margin
  to decide what is buffered, then stop (SIGINT). The ledger is then read:
  every lead a replica answered (200, or 202: buffered), and every job lead, must be decided
  exactly once (waiting in the backlog then placed counts once), no rep may
  take more than its daily cap on any day, and the leads the killed replica
  had accepted but not decided must have been decided after its death, by
  another process.

Run as a script it measures urgent-lead latency on SQLite (one replica) and
PostgreSQL (one replica; two; two with the job and the kill) in the same run
and appends a row per scenario to `results/REPLICAS.md` (the JSON rows go to
stdout);
tests/http/test_replicas_failover.py runs the PostgreSQL failover scenario,
shorter, in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.service.loadgen import Connection, encode_request, free_port, wait_ready
from solver.online.stores import open_store

HERE = Path(__file__).parent
TOKEN = "replicas-benchmark-token-0123456789"
REPS = 8
CAP_PER_DAY = 60  # 8 x 60 = 480 seats a day: below what the load offers, so the caps bind
BATCH_WAIT_S = 1.0
JOB_LEADS = 150
DETECT_S = 0.3  # how long the balancer sends to a dead replica before its health check notices
RETRIED_AGAIN = 50  # leads the dead replica had assigned, sent again to a survivor after the run


@dataclass
class Sent:
    """One lead of the load: where it was answered, what it was told, how long it took."""

    lead_id: str
    urgent: bool
    replica: int | None = None  # the replica whose 200 answer the client got (None: none did)
    answer: dict | None = None
    latency_s: float = 0.0
    tries: int = 0
    error: str = ""  # the last failure (an exception's name, or an HTTP status)


@dataclass
class Scenario:
    """What was run (see the module docstring), and what happened."""

    backend: str  # postgresql | sqlite
    replicas: int
    rate: float
    duration_s: float
    urgent: float = 0.3
    kill: bool = True
    job: bool = True
    seed: int = 0
    sent: list[Sent] = field(default_factory=list)
    killed: int | None = None  # the replica killed (the batch leader at the time)
    killed_at: dt.datetime | None = None
    job_returncode: int | None = None
    settle_s: float = 0.0
    again: list[dict] = field(default_factory=list)  # the survivor's answers to leads sent again
    dead_buffered: list[str] = field(default_factory=list)  # the killed replica's, buffered at its death

    def urgent_latency_ms(self) -> dict[str, float]:
        """p50, p99 and max latency of the urgent leads that were answered the first time."""
        ms = np.array([s.latency_s for s in self.sent if s.urgent and s.tries == 1 and s.answer], float) * 1e3
        if not ms.size:
            return {"n": 0}
        return {"n": int(ms.size), "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
                "max": float(ms.max())}


@dataclass
class LedgerCheck:
    """What the ledger says after the run: each list names the leads (or reps) at fault."""

    accepted: int
    placed: int  # assignments (each one counts against its rep's cap)
    lost: list[str]  # answered 200 (or the job's) but not in the ledger, or still undecided
    doubled: list[str]  # decided more than once
    over_cap: list[str]  # "rep day: n > cap"
    answers_differ: list[str]  # a lead whose client answer is not the ledger's first one
    dead_buffered: int  # leads the killed replica accepted and had not decided when it died
    dead_buffered_decided_after: int  # ... decided since (by another process: it was dead)
    dead_buffered_by_a_replica: int  # ... of those, by a service replica (the new batch leader), not the job


def write_inputs(folder: Path, job_leads: int) -> None:
    reps = [{"id": f"R{j}", "capacity": 1000} for j in range(REPS)]
    (folder / "reps.json").write_text(json.dumps({"reps": reps}))
    (folder / "policy.yaml").write_text(
        f"solver: flow\nbatch:\n  max_size: 200\n  max_wait_s: {BATCH_WAIT_S}\n"
        f"caps:\n  default: {{per_day: {CAP_PER_DAY}}}\n")
    leads = [{"id": f"JOB-{i}", "value": 100.0 + i} for i in range(job_leads)]
    (folder / "job_leads.json").write_text(json.dumps({"leads": leads}))


def serve(folder: Path, db: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "solver.cli", "serve", "--reps", str(folder / "reps.json"),
         "--policy", str(folder / "policy.yaml"), "--db", db, "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "LEADSOLVER_TOKEN": TOKEN}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_job(folder: Path, db: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "solver.cli", "run", "--db", db, "--reps", str(folder / "reps.json"),
         "--leads", str(folder / "job_leads.json"), "--policy", str(folder / "policy.yaml"),
         "--format", "json", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def drive(scenario: Scenario, ports: list[int], bodies: list[tuple[str, bool, bytes]],
                on_time: list[tuple[float, object]]) -> None:
    """Send the load (see the module docstring); `on_time`: (fraction of the schedule, action)
    pairs, each action run when the schedule reaches it (start the job, kill a replica) with the
    replicas' liveness to change, and again at each next lead while it returns False."""
    host = "127.0.0.1"
    alive = [True] * len(ports)
    pools: list[list[Connection]] = [[] for _ in ports]

    async def exchange(r: int, request: bytes) -> tuple[int, bytes]:
        conn = pools[r].pop() if pools[r] else Connection(*await asyncio.open_connection(host, ports[r]))
        try:
            status, body = await asyncio.wait_for(conn.exchange(request), 10.0)
        except BaseException:
            conn.writer.close()
            raise
        pools[r].append(conn)
        return status, body

    async def one(k: int, due: float) -> None:
        body = bodies[k][2]
        sent = scenario.sent[k]
        r = k % len(ports)
        for _ in range(4 * len(ports)):
            if not alive[r]:
                r = (r + 1) % len(ports)
                continue
            sent.tries += 1
            try:
                status, raw = await exchange(r, encode_request(host, ports[r], TOKEN, body))
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                sent.error = type(exc).__name__
                r = (r + 1) % len(ports)  # the balancer tries the next replica, with the same lead id
                await asyncio.sleep(0.05)
                continue
            if status in (200, 202):  # answered, or accepted and buffered
                sent.replica, sent.answer = r, json.loads(raw)
                sent.latency_s = time.perf_counter() - due
                return
            sent.error = f"{status}: {raw[:200]!r}"
            r = (r + 1) % len(ports)
        # never answered: not accepted as far as the client knows (checked as such)

    tasks = []
    pending = sorted(on_time, key=lambda item: item[0])
    n = len(bodies)
    start = time.perf_counter() + 0.05
    for k in range(n):
        due = start + k / scenario.rate
        while pending and k >= pending[0][0] * n:
            if pending[0][1](alive) is False:  # type: ignore[operator]
                break  # not yet: tried again at the next lead
            pending.pop(0)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    for pool in pools:
        for conn in pool:
            conn.writer.close()


def named(db: str, name: str) -> str:
    """A PostgreSQL URL whose connections carry `name` (pg_stat_activity.application_name)."""
    if not db.startswith("postgresql://"):
        return db
    return f"{db}{'&' if '?' in db else '?'}application_name={name}"


def batch_leader(db: str) -> int | None:
    """The replica leading the micro-batches (`PostgresStore.lead_batches`), if any; replica 0
    on a SQLite ledger (every replica flushes there)."""
    if not db.startswith("postgresql://"):
        return 0
    import psycopg

    from solver.online.pg_schema import BATCH_LEADER_LOCK

    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s "
            "AND a.application_name LIKE 'replica-%%'", (BATCH_LEADER_LOCK,)).fetchone()
    return None if row is None else int(row[0].removeprefix("replica-"))


async def resend(port: int, bodies: list[bytes]) -> list[dict]:
    """Send leads again, one after the other, to the replica on `port`: its answers."""
    conn = Connection(*await asyncio.open_connection("127.0.0.1", port))
    answers = []
    for body in bodies:
        status, raw = await conn.exchange(encode_request("127.0.0.1", port, TOKEN, body))
        answers.append(json.loads(raw) | {"http_status": status})
    conn.writer.close()
    return answers


def run_scenario(scenario: Scenario, db: str, folder: Path) -> Scenario:
    """Run `scenario` on the fresh ledger `db` with its inputs written in `folder`."""
    write_inputs(folder, JOB_LEADS if scenario.job else 0)
    rng = np.random.default_rng(scenario.seed)
    n = int(scenario.rate * scenario.duration_s)
    bodies = []
    for k in range(n):
        urgent = bool(rng.random() < scenario.urgent)
        lead = {"id": f"W{k}", "value": round(float(rng.uniform(50, 5000)), 2), "urgent": urgent}
        bodies.append((lead["id"], urgent, json.dumps(lead).encode()))
    scenario.sent = [Sent(lead_id, urgent) for lead_id, urgent, _ in bodies]
    ports = [free_port() for _ in range(scenario.replicas)]
    # together: they race to migrate; each names itself to the database (which one leads)
    servers = [serve(folder, named(db, f"replica-{k}"), port) for k, port in enumerate(ports)]
    job: subprocess.Popen[bytes] | None = None
    try:
        for server, port in zip(servers, ports, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", 60, server)

        def start_job(alive: list[bool]) -> bool:
            nonlocal job
            job = run_job(folder, db)
            return True

        watch = open_store(db, read_only=True)  # one reader for the kill's checks: no reconnects
        checked = [0.0]

        def kill_the_leader(alive: list[bool]) -> bool:
            # the replica that leads the micro-batches (the first, on a ledger without leaders),
            # when it holds buffered leads of its own (it would not, just after a micro-batch);
            # looked at every 20 ms at most, as the load's schedule must not wait for the reads
            if time.monotonic() - checked[0] < 0.02 or (job is not None and job.poll() is None):
                return False  # (after the job: its run would decide the buffer, the dead one's too)
            checked[0] = time.monotonic()
            victim = batch_leader(db)
            if victim is None:
                return False
            mine = {s.lead_id for s in scenario.sent if s.replica == victim}
            if not mine & {lead.id for lead, _ in watch.buffered_leads()}:
                return False
            servers[victim].send_signal(signal.SIGKILL)
            servers[victim].wait()
            scenario.killed, scenario.killed_at = victim, dt.datetime.now(dt.UTC)
            # what it had accepted and not decided: buffered in the ledger now that it is dead
            # (its transaction in progress, if any, was rolled back with its connection)
            scenario.dead_buffered = sorted({lead.id for lead, _ in watch.buffered_leads()} & mine)
            # the balancer's health check notices a moment later: requests sent to the dead
            # replica meanwhile fail and are retried on the next one
            asyncio.get_running_loop().call_later(DETECT_S, alive.__setitem__, victim, False)
            return True

        actions: list[tuple[float, object]] = []
        if scenario.job:
            actions.append((1 / 10, start_job))
        if scenario.kill:
            actions.append((1 / 2, kill_the_leader))
        try:
            asyncio.run(drive(scenario, ports, bodies, actions))
        finally:
            watch.close()
        if scenario.killed is not None:  # clients retrying leads the dead replica had answered
            again = [k for k, s in enumerate(scenario.sent) if s.replica == scenario.killed
                     and s.answer and s.answer["status"] == "assigned"][-RETRIED_AGAIN:]
            survivor = ports[(scenario.killed + 1) % len(ports)]
            scenario.again = asyncio.run(resend(survivor, [bodies[k][2] for k in again]))
        if job is not None:
            scenario.job_returncode = job.wait(timeout=120)
        # the survivors decide what is buffered within a batch window (and a tick)
        start = time.monotonic()
        with open_store(db, read_only=True) as ledger:
            while ledger.count_buffered() and time.monotonic() - start < 30:
                time.sleep(0.1)
        scenario.settle_s = time.monotonic() - start
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
        for server in servers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=20)
            if server.poll() is None:
                server.kill()
        if job is not None and job.poll() is None:
            job.kill()
    return scenario


def check_ledger(scenario: Scenario, db: str) -> LedgerCheck:
    """Read the ledger after `scenario` (see the module docstring for what must hold)."""
    with open_store(db, read_only=True) as ledger:
        rows = {row["lead_id"]: row for row in ledger.leads()}
        events = ledger.history()
    accepted = {s.lead_id for s in scenario.sent if s.answer is not None}
    if scenario.job and scenario.job_returncode == 0:
        accepted |= {f"JOB-{i}" for i in range(JOB_LEADS)}
    lost = sorted(lead_id for lead_id in accepted
                  if lead_id not in rows or rows[lead_id]["status"] == "pending")
    decisions: dict[str, list[str]] = defaultdict(list)
    first_run: dict[str, int | None] = {}  # the run of each lead's first decision (None: a replica)
    taken: Counter[tuple[str, str]] = Counter()
    for e in events:
        if e["kind"] in ("assigned", "unassigned"):
            decisions[e["lead_id"]].append(e["kind"])
            first_run.setdefault(e["lead_id"], e["run_id"])
        if e["kind"] in ("assigned", "reassigned") and e["rep_id"]:
            taken[(e["rep_id"], e["at"][:10])] += 1  # reps in UTC: the cap's day is the UTC date
    # once: one first decision, then at most one more (placed from the backlog, or expired), and
    # at most one placement, as the last decision
    doubled = sorted(lead_id for lead_id, kinds in decisions.items()
                     if len(kinds) > 2 or kinds.count("assigned") > 1 or "assigned" in kinds[:-1])
    over_cap = sorted(f"{rep} {day}: {n} > {CAP_PER_DAY}" for (rep, day), n in taken.items()
                      if n > CAP_PER_DAY)
    placed_to = {}
    for e in events:
        if e["kind"] == "assigned":
            placed_to.setdefault(e["lead_id"], e["rep_id"])
    # an urgent lead's answer is the ledger's first placement, on whichever replica (and tries)
    differ = [s.lead_id for s in scenario.sent if s.urgent and s.answer is not None
              and s.answer["status"] == "assigned" and placed_to.get(s.lead_id) != s.answer["rep_id"]]
    # a lead the dead replica had answered, sent again to a survivor: the same answer once decided
    first_answers = {s.lead_id: s.answer for s in scenario.sent}
    for again in scenario.again:
        first = first_answers[again["lead_id"]] or {}
        if again["http_status"] not in (200, 202) or (
                first.get("status") == "assigned" and (again["status"], again["rep_id"]) != ("assigned",
                                                                                            first["rep_id"])):
            differ.append(again["lead_id"])
    dead = scenario.dead_buffered  # undecided when it died: any decision of theirs came after
    return LedgerCheck(len(accepted), sum(taken.values()), lost, doubled, over_cap, differ, len(dead),
                       sum(1 for lead_id in dead if lead_id in first_run),
                       sum(1 for lead_id in dead if lead_id in first_run and first_run[lead_id] is None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("LEADSOLVER_TEST_PG",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rate", type=float, default=300.0, help="leads per second offered")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of schedule")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    import psycopg

    admin = psycopg.connect(args.pg, autocommit=True)
    rows = []
    for backend, replicas, chaos in (("sqlite", 1, False), ("postgresql", 1, False), ("postgresql", 2, False),
                                     ("postgresql", 2, True)):
        scenario = Scenario(backend, replicas, args.rate, args.duration, kill=chaos, job=chaos)
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                db = str(Path(tmp) / "ledger.db")
            else:
                schema = f"bench_replicas_{os.getpid()}_{replicas}"
                admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                admin.execute(f"CREATE SCHEMA {schema}")
                db = f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}"
            load = os.getloadavg()[0]
            run_scenario(scenario, db, Path(tmp))
            check = check_ledger(scenario, db)
            if backend != "sqlite":
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
        latency = scenario.urgent_latency_ms()
        row = {"backend": backend, "replicas": replicas, "kill_and_job": chaos, "rate": args.rate,
               "duration_s": args.duration, "urgent_latency_ms": latency, "accepted": check.accepted,
               "placed": check.placed,
               "lost": len(check.lost), "doubled": len(check.doubled), "over_cap": len(check.over_cap),
               "answers_differ": len(check.answers_differ), "dead_buffered": check.dead_buffered,
               "dead_buffered_decided_after": check.dead_buffered_decided_after,
               "dead_buffered_by_a_replica": check.dead_buffered_by_a_replica,
               "retried": sum(1 for s in scenario.sent if s.tries > 1),
               "retried_after": dict(Counter(s.error.split(":")[0] for s in scenario.sent if s.tries > 1)),
               "settle_s": round(scenario.settle_s, 2),
               "load_avg_1m_before": round(load, 2)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    out = args.out / "REPLICAS.md"
    new = not out.exists()
    with out.open("a") as f:
        if new:
            f.write("| date | machine | backend | replicas | job + kill -9 | rate/s x s | urgent n | "
                    "p50 ms | p99 ms | max ms | accepted | placed (cap) | lost | doubled | over cap | "
                    "answers differ | "
                    "dead's buffered (decided after) | retried | load 1m |\n" + "|---" * 19 + "|\n")
        for r in rows:
            lat = r["urgent_latency_ms"]
            f.write(f"| {stamp} | {machine} | {r['backend']} | {r['replicas']} | {r['kill_and_job']} | "
                    f"{r['rate']:g} x {r['duration_s']:g} | {lat.get('n', 0)} | {lat.get('p50', 0):.1f} | "
                    f"{lat.get('p99', 0):.1f} | {lat.get('max', 0):.1f} | {r['accepted']} | "
                    f"{r['placed']} ({REPS * CAP_PER_DAY}) | {r['lost']} | "
                    f"{r['doubled']} | {r['over_cap']} | {r['answers_differ']} | {r['dead_buffered']} "
                    f"({r['dead_buffered_decided_after']}) | {r['retried']} | {r['load_avg_1m_before']} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
