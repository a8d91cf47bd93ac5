"""Latency of the console's pages with 1,000 reps and 100,000 leads in a SQLite ledger (issue 17).

Builds the ledger once (eight weeks of leads: decided, 80% touched, 70% released, a few waiting
and queued; a ledger built before is reused), starts `leadsolver serve` on it as a process, signs
in and requests each page REQUESTS times over loopback, one at a time, recording the wall time
of each request (connect to last byte). Prints p50 and p99 per page and writes them to
benchmarks/ui/results/latency-<date>.json with the machine.

    python benchmarks/ui/console_latency.py [--reps 1000] [--leads 100000] [--requests 50]

The target: every page under 200 ms at the p99.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import numpy as np

from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.sqlite_store import SqliteStore

HERE = Path(__file__).resolve().parent
TOKEN = "benchmark-token-0123456789abcdef"
TERRITORIES = [f"T{k}" for k in range(20)]


def build_ledger(path: Path, reps: int, leads: int, now: datetime, seed: int = 0) -> None:
    """`leads` leads over the eight weeks before `now`, spread over `reps` reps."""
    rng = np.random.default_rng(seed)
    start = now - timedelta(weeks=8)
    offsets = np.sort(rng.uniform(0, (now - start).total_seconds(), leads))
    owner = rng.integers(0, reps, leads)
    value = np.round(rng.lognormal(7, 1, leads), 2)
    touch_min = rng.lognormal(3, 1, leads)
    roll = rng.random(leads)
    with SqliteStore(path, synchronous="NORMAL") as store:
        for lo in range(0, leads, 2000):
            hi = min(lo + 2000, leads)
            with store.transaction():
                batch = [Lead(id=f"L{i:06d}", value=float(value[i]), territory=TERRITORIES[owner[i] % 20],
                              created_at=start + timedelta(seconds=float(offsets[i]))) for i in range(lo, hi)]
                at = start + timedelta(seconds=float(offsets[lo]))
                store.accept_many(batch, at)
                answers, due = [], {}
                for i in range(lo, hi):
                    if roll[i] < 0.01:
                        answers.append(Assignment(f"L{i:06d}", None, "unassigned", "waits", 0.0, "flow",
                                                  ReasonCode.WAITING))
                    elif roll[i] < 0.015:
                        answers.append(Assignment(f"L{i:06d}", None, "unassigned", "review", 0.0, "flow",
                                                  ReasonCode.QUEUED, queue="review"))
                    else:
                        answers.append(Assignment(f"L{i:06d}", f"R{owner[i]:04d}", "assigned", "placed",
                                                  float(value[i]) * 0.3, "flow", ReasonCode.PLACED_BY_RANK))
                        due[f"L{i:06d}"] = at + timedelta(hours=4)
                store.decide(answers, at, sla_due=due)
                for i in range(lo, hi):
                    if roll[i] < 0.015:
                        continue
                    decided = at
                    if roll[i] < 0.80:
                        store.touch(f"L{i:06d}", decided + timedelta(minutes=float(touch_min[i])))
                    if roll[i] < 0.70:
                        store.release(f"L{i:06d}", decided + timedelta(days=3))


def reps_file(path: Path, reps: int) -> None:
    path.write_text(json.dumps({"reps": [
        {"id": f"R{j:04d}", "name": f"Rep {j}", "territories": [TERRITORIES[j % 20]], "capacity": 200,
         "quota_weight": 1.0 + (j % 3)} for j in range(reps)]}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, cookie: str = "",
            body: str = "") -> tuple[int, Message, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"cookie": cookie} if cookie else {}
    if body:
        headers["content-type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, answer.msg, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path("/tmp/leadsolver-ui-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / f"ledger-{args.reps}-{args.leads}.db"
    now = datetime.now(UTC)
    if not db.exists():
        started = time.perf_counter()
        build_ledger(db, args.reps, args.leads, now)
        print(f"built {db} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    reps_file(args.work / "reps.json", args.reps)
    port = free_port()
    command = [sys.executable, "-m", "solver.cli", "serve", "--reps", str(args.work / "reps.json"),
               "--db", str(db), "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env={**os.environ, "LEADSOLVER_TOKEN": TOKEN})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if request(port, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        # Sign in as a browser does: the login page's pre-session cookie and form token first.
        _, headers, login_page = request(port, "GET", "/ui/login")
        csrf = re.search(r"name='csrf' value='([^']+)'", login_page.decode()).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"user": "bench", "token": TOKEN, "csrf": csrf})
        pre_session = headers["set-cookie"].split(";")[0]
        status, headers, _ = request(port, "POST", "/ui/login", pre_session, body=form)
        # The sign-in sets the session cookie and clears the pre-session one: keep the session's.
        cookie = next(c for c in headers.get_all("set-cookie", [])
                      if c.startswith("leadsolver_session=")).split(";")[0]
        pages = {"now": "/ui", "reps": "/ui/reps", "lead": "/ui/leads/L050000",
                 "fairness (8 weeks)": "/ui/fairness", "fairness (14 days)": "/ui/fairness?bucket=day",
                 "experiments": "/ui/experiments", "reports": "/ui/reports"}
        results = {}
        for name, path in pages.items():
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                status, _, body = request(port, "GET", path, cookie)
                times.append(time.perf_counter() - started)
                assert status == 200, (name, status)
            ms = np.array(times) * 1000
            # The first request of a page reads what later ones may keep (the fairness page's past
            # periods, for a minute): shown on its own, and inside p99 too.
            figures = {"first_ms": ms[0], "p50_ms": np.percentile(ms, 50), "p99_ms": np.percentile(ms, 99),
                       "max_ms": ms.max()}
            results[name] = {k: round(float(v), 1) for k, v in figures.items()} | {"bytes": len(body)}
            print(f"{name:20s} " + "  ".join(f"{k[:-3]} {v:7.1f} ms" for k, v in figures.items())
                  + f"  {len(body) / 1024:6.0f} kB")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    record = {"date_utc": now.isoformat(timespec="seconds"), "reps": args.reps, "leads": args.leads,
              "load_average_1min": os.getloadavg()[0],
              "requests_per_page": args.requests,
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "python": platform.python_version()},
              "pages": results}
    out = HERE / "results" / f"latency-{now:%Y%m%d-%H%M}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
