"""What the console's two indexes cost the ledger's writes: accept + decide + touch of 3,000 leads,
one at a time as the service writes them, with and without leads_period and leads_sla_open.

    python benchmarks/ui/write_cost.py
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.sqlite_store import SqliteStore

T0 = datetime(2026, 3, 2, tzinfo=UTC)
LEADS = 3000


def run(path: Path, drop: bool) -> tuple[float, float]:
    """p50 and p99 (microseconds) of one lead's accept + decide + touch."""
    path.unlink(missing_ok=True)
    with SqliteStore(path, synchronous="NORMAL") as store:
        if drop:  # a benchmark reaches in: the store offers no switch for its indexes
            for index in ("leads_period", "leads_sla_open"):
                store._db.execute(f"DROP INDEX {index}")
        times = []
        for i in range(LEADS):
            started = time.perf_counter()
            store.accept(Lead(id=f"L{i}", value=100.0), T0)
            store.decide([Assignment(f"L{i}", f"R{i % 50}", "assigned", "r", 1.0, "flow")], T0,
                         sla_due={f"L{i}": T0 + timedelta(hours=4)})
            store.touch(f"L{i}", T0 + timedelta(minutes=5))
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6, sorted(times)[int(0.99 * LEADS)] * 1e6


def main() -> None:
    for _ in range(2):
        for drop in (True, False):
            p50, p99 = run(Path(f"/tmp/leadsolver-write-cost-{int(drop)}.db"), drop)
            print("without the indexes" if drop else "with the indexes   ",
                  f"p50 {p50:.0f} us  p99 {p99:.0f} us (accept + decide + touch)")


if __name__ == "__main__":
    main()
