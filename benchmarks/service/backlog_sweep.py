"""What a freed seat costs the router when the backlog is long: the sweep after room frees.

    python benchmarks/service/backlog_sweep.py [--waiting 20000] [--free 1]

A SQLite ledger holds `--waiting` territory-A leads in the backlog (rep RA full) while rep
RB (territory B) has `--free` empty seats none of them can take: the worst case for the
sweep (`solver.online.backlog`), which tries every lead waiting when room freed, a turn of
up to BACKLOG_PER_SOLVE leads per tick, before it goes idle. Prints the ticks the sweep took
and each tick's time (the router lock is held that long).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from solver.domain.model import Lead, Policy, Rep
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=20_000)
    parser.add_argument("--free", type=int, default=1)
    args = parser.parse_args()
    team = [Rep(id="RA", capacity=10, territories=("A",)),
            Rep(id="RB", capacity=args.free, territories=("B",))]
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder, SqliteStore(Path(folder) / "l.db") as ledger:
        router = Router(team, Policy(batch={"max_size": 100, "max_wait_s": 60}), ledger, clock=lambda: now)
        router.route([Lead(id=f"A{i}", value=100, territory="A") for i in range(args.waiting)], now)
        waiting = len(router.backlog)
        router.schedule.freed = True  # a seat freed: the sweep starts
        times: list[float] = []
        while len(times) < 10_000:
            now += timedelta(seconds=0.1)
            start = time.perf_counter()
            router.tick(now, reprice=False)
            times.append(time.perf_counter() - start)
            if not router.schedule.untried and not router.schedule.freed:
                break
    print(f"{waiting:,} waiting, {args.free} seat(s) none of them can take: the sweep took {len(times)} "
          f"ticks, {statistics.mean(times) * 1e3:.1f} ms a tick on average, {max(times) * 1e3:.1f} ms "
          "at most")


if __name__ == "__main__":
    main()
