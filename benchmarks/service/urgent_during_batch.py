"""Urgent leads while a big batch is solved on the same ledger: how long does each one wait?

    python -m benchmarks.service.urgent_during_batch [--batch run|flush] [--leads 20000] [--reps 1000]
                                                    [--pg URL]

Protocol
--------
- A synthetic team (`--reps`, seed 0, `solver.bench.synthetic.make_instance`, tightness
  1.5) on a fresh ledger: a new SQLite file, or a new schema of a PostgreSQL database
  (`--pg`). Policy: the flow solver, batches of up to 100 leads or 1 s.
- The batch, in its own process: `--batch run` is `leadsolver run` (the CLI, as cron
  starts it) deciding `--leads` new leads; `--batch flush` is a service's router that
  buffered `--leads` normal leads and flushes them in one micro-batch.
- Meanwhile this process, its own router on the same ledger (another replica), submits
  one urgent lead every `--every-ms`, open loop (lead k is due at start + k x every-ms
  whatever happened to the others), and times each from its due time to the return of
  `Router.submit`: the fast path, any wait for the ledger's lock, and the wait behind
  earlier urgent leads that waited for it.
- Reported: the batch's wall time, and the urgent latencies (p50, p99, max) of the leads
  submitted while the batch process was running (from its start to its exit). Nothing is
  written outside a temporary folder (or the schema, dropped after).

Run the same command against another checkout with ``PYTHONPATH=<checkout>`` to compare;
the figures are in benchmarks/service/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np

from solver.bench.synthetic import make_instance
from solver.domain.model import Lead, Policy, Rep
from solver.online.router import Router
from solver.online.stores import open_store

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday, in working hours
POLICY = "solver: flow\nbatch:\n  max_size: 100\n  max_wait_s: 1\n"


def flush_batch(ledger: str, reps: list[Rep], leads: list[Lead], ready: multiprocessing.Event) -> None:
    """A service's router (its own process) that buffered `leads`, flushing them in one batch."""
    store = open_store(ledger, synchronous="NORMAL")
    router = Router(reps, Policy(solver="flow", batch={"max_size": len(leads) + 1, "max_wait_s": 3600}),
                    store, clock=lambda: NOW)
    with store.transaction():
        for lead in leads:
            router.submit(lead, NOW)
    ready.set()
    router.flush(NOW, reprice=False)
    store.close()


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    a = np.array(ms)
    return {"n": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3), "max_ms": round(float(a.max()), 3)}


@contextlib.contextmanager
def ledger_at(pg: str | None, folder: Path) -> Iterator[str]:
    """A fresh ledger location: a file in `folder`, or a new schema of the `pg` database."""
    if pg is None:
        yield str(folder / "ledger.db")
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{pg}{'&' if '?' in pg else '?'}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(pg, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", choices=("run", "flush"), default="run")
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=1_000)
    parser.add_argument("--every-ms", type=float, default=20.0)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL database (default: a SQLite file)")
    args = parser.parse_args(argv)
    instance = make_instance(args.leads, args.reps, tightness=1.5, seed=0)
    urgent = make_instance(2_000, args.reps, tightness=1.5, seed=1).leads
    with tempfile.TemporaryDirectory() as tmp, ledger_at(args.pg, Path(tmp)) as ledger:
        folder = Path(tmp)
        store = open_store(ledger, synchronous="NORMAL")
        router = Router(instance.reps, Policy(solver="flow", batch={"max_size": 100, "max_wait_s": 1}), store,
                        clock=lambda: NOW)
        if args.batch == "run":
            (folder / "reps.json").write_text(json.dumps(
                {"reps": [r.model_dump(mode="json", exclude_defaults=True) for r in instance.reps]}))
            (folder / "leads.json").write_text(json.dumps(
                {"leads": [lead.model_dump(mode="json", exclude_defaults=True) for lead in instance.leads]}))
            (folder / "policy.yaml").write_text(POLICY)
            batch = subprocess.Popen(
                [sys.executable, "-m", "solver.cli", "run", "--db", ledger,
                 "--reps", str(folder / "reps.json"), "--leads", str(folder / "leads.json"),
                 "--policy", str(folder / "policy.yaml"),
                 "--now", NOW.isoformat(), "--format", "json", "--out", str(folder / "out.json")],
                stdout=subprocess.DEVNULL)
            alive = lambda: batch.poll() is None  # noqa: E731
        else:
            ready = multiprocessing.get_context("spawn").Event()
            proc = multiprocessing.get_context("spawn").Process(
                target=flush_batch, args=(ledger, instance.reps, instance.leads, ready))
            proc.start()
            ready.wait(timeout=600)
            alive = proc.is_alive
        start = time.perf_counter()
        during: list[float] = []
        k = 0
        while alive() and k < len(urgent):
            due = start + k * args.every_ms / 1e3  # open loop: a stalled submit delays the next ones
            time.sleep(max(0.0, due - time.perf_counter()))
            router.submit(urgent[k].model_copy(update={"id": f"U{k}", "urgent": True}), NOW)
            during.append((time.perf_counter() - due) * 1e3)
            k += 1
        wall = time.perf_counter() - start
        if args.batch == "run":
            batch.wait()
            failed = batch.returncode != 0
        else:
            proc.join()
            failed = proc.exitcode != 0
        decided = sum(1 for row in store.leads() if row["lifecycle"] not in ("buffered", "received"))
        store.close()
    result = {"batch": args.batch, "ledger": "postgresql" if args.pg else "sqlite", "leads": args.leads,
              "reps": args.reps, "batch_wall_s": round(wall, 2), "batch_failed": failed,
              "decided": decided, "urgent_during_batch": percentiles(during)}
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
