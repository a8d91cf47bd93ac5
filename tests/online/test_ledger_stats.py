"""The console's grouped figures: the SQLite ledger's grouped SQL and the generic count agree."""

from datetime import UTC, datetime, timedelta

import pytest

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.ledger_stats import (
    LedgerStats,
    RepPeriod,
    period_start,
    rep_periods,
    sla_clocks,
    status_counts,
)

SUNDAY = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # the last hour of ISO week 10


def fill(store):
    """Five leads over two weeks: touched in time, touched late, never touched, waiting, queued."""
    def decide(lead_id, rep, at, due_minutes, value):
        store.accept(Lead(id=lead_id, value=value), at)
        store.decide([Assignment(lead_id, rep, "assigned" if rep else "unassigned", "r", 1.0, "flow",
                                 queue=None)], at, sla_due={lead_id: at + timedelta(minutes=due_minutes)}
                     if rep else None)

    decide("A", "R1", SUNDAY, 60, 100.0)
    store.touch("A", SUNDAY + timedelta(minutes=30))  # in time
    decide("B", "R1", SUNDAY + timedelta(hours=2), 60, 50.0)  # Monday: the next week
    store.touch("B", SUNDAY + timedelta(hours=4))  # 120 minutes: late
    decide("C", "R2", SUNDAY + timedelta(hours=3), 60, 10.0)  # never touched, due past `now`
    store.accept(Lead(id="D", value=1.0), SUNDAY)
    decide("E", None, SUNDAY, 60, 1.0)


@pytest.mark.parametrize("bucket", ["day", "week"])
def test_grouped_figures_by_period_and_rep(store, bucket):
    fill(store)
    now = SUNDAY + timedelta(hours=6)
    rows = rep_periods(store, SUNDAY - timedelta(days=7), now, bucket, now)
    first = "2026-03-08" if bucket == "day" else "2026-03-02"
    assert rows == [
        RepPeriod(first, "R1", 1, 100.0, 1, pytest.approx(30.0), 0),
        RepPeriod("2026-03-09", "R1", 1, 50.0, 1, pytest.approx(120.0), 1),
        RepPeriod("2026-03-09", "R2", 1, 10.0, 0, 0.0, 1),
    ]
    assert rep_periods(store, SUNDAY - timedelta(days=7), SUNDAY, bucket, now) == []  # [since, until)


def test_status_counts(store):
    fill(store)
    counts = status_counts(store)
    assert counts["assigned"] == 3 and counts["buffered"] == 1 and sum(
        v for k, v in counts.items() if not k.startswith("queue:")) == 5


def test_the_sqlite_ledger_counts_with_its_own_query(store):
    # (and the PostgreSQL ledger: issue 16)
    assert isinstance(store, LedgerStats) == (type(store).__name__ in ("SqliteStore", "PostgresStore"))


def test_weeks_start_on_monday():
    assert period_start(SUNDAY, "week").date().isoformat() == "2026-03-02"
    assert period_start(SUNDAY + timedelta(hours=1), "week").date().isoformat() == "2026-03-09"


def test_sla_clocks_count_the_overdue_and_list_the_next_due(store):
    for k, due in enumerate((10, 20, 90, -5)):  # minutes from T
        store.accept(Lead(id=f"S{k}", value=1.0), SUNDAY)
        store.decide([Assignment(f"S{k}", "R1", "assigned", "r", 1.0, "flow")], SUNDAY,
                     sla_due={f"S{k}": SUNDAY + timedelta(minutes=due)})
    store.touch("S1", SUNDAY)  # touched: its clock stopped
    overdue, soon = sla_clocks(store, SUNDAY, timedelta(minutes=30), limit=5)
    assert overdue == 1 and [row["lead_id"] for row in soon] == ["S0"]
    assert datetime.fromisoformat(soon[0]["sla_due"]) == SUNDAY + timedelta(minutes=10)
