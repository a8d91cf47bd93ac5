"""Grouped figures from the ledger for the console: per rep and period, and the leads by status.

`rep_periods` counts, per period (UTC day or ISO week, Monday first) and rep,
the leads decided to the rep, their value (pipeline intake), how many were
touched and in how many minutes in all, and how many breached their SLA
(touched after it was due, or untouched past it). `status_counts` counts the
leads by lifecycle status (and named queue). A store that answers these itself
with grouped queries (`LedgerStats`: the SQLite and PostgreSQL ledgers) is asked;
any other store is counted here from `leads()` and `record()` (fine for the
memory store's few leads).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from solver.online.store import LeadStore, iso

Bucket = Literal["day", "week"]


@dataclass(frozen=True)
class RepPeriod:
    """One rep's intake and speed in one period."""

    period: str  # the period's first day, YYYY-MM-DD (UTC)
    rep_id: str
    leads: int
    pipeline: float  # sum of the leads' values
    touched: int
    touch_minutes: float  # sum over the touched leads of minutes from decision to first touch
    breaches: int  # touched after the SLA was due, or untouched past it (at `now`)


@runtime_checkable
class LedgerStats(Protocol):
    """A store that counts these with grouped queries of its own."""

    def rep_periods(self, since: datetime, until: datetime, bucket: Bucket,
                    now: datetime) -> list[dict[str, Any]]:
        """Rows with `RepPeriod`'s fields for leads decided in [since, until), by period and rep."""
        ...

    def status_counts(self) -> dict[str, int]:
        """Leads per lifecycle status; a named queue's leads also as 'queue:<name>'."""
        ...

    def sla_clocks(self, now: datetime, within: timedelta, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """Open untouched leads already past their SLA (a count), and up to `limit` of those due
        in (now, now + within], soonest first, as rows of lead_id, rep_id, sla_due."""
        ...


def period_start(day: datetime, bucket: Bucket) -> datetime:
    """The first day (00:00 UTC) of the period holding `day`."""
    start = day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(days=start.weekday()) if bucket == "week" else start


def rep_periods(store: LeadStore, since: datetime, until: datetime, bucket: Bucket,
                now: datetime) -> list[RepPeriod]:
    """Per period and rep, for leads decided in [since, until), ordered by period then rep id."""
    if isinstance(store, LedgerStats):
        rows = store.rep_periods(since, until, bucket, now)
    else:
        rows = _counted(store, since, until, bucket, now)
    return sorted((RepPeriod(**row) for row in rows), key=lambda r: (r.period, r.rep_id))


def status_counts(store: LeadStore) -> dict[str, int]:
    if isinstance(store, LedgerStats):
        return store.status_counts()
    counts: dict[str, int] = defaultdict(int)
    for row in store.leads():
        counts[str(row["lifecycle"])] += 1
        if row.get("queue"):
            counts[f"queue:{row['queue']}"] += 1
    return dict(counts)


def sla_clocks(store: LeadStore, now: datetime, within: timedelta,
               limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """(open leads past their SLA, the next ones due within `within`): the console's SLA clocks."""
    if isinstance(store, LedgerStats):
        return store.sla_clocks(now, within, limit)
    overdue, soon = 0, []
    for item in store.open_leads():
        if item.touched or item.sla_due is None:
            continue
        if item.sla_due <= now:
            overdue += 1
        elif item.sla_due <= now + within:
            soon.append({"lead_id": item.lead.id, "rep_id": item.rep_id, "sla_due": iso(item.sla_due)})
    soon.sort(key=lambda row: (row["sla_due"], row["lead_id"]))
    return overdue, soon[:limit]


def _counted(store: LeadStore, since: datetime, until: datetime, bucket: Bucket,
             now: datetime) -> list[dict[str, Any]]:
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for row in store.leads():
        if not row["rep_id"] or not row["decided_at"]:
            continue
        decided = datetime.fromisoformat(row["decided_at"])
        if not since <= decided < until:
            continue
        key = (period_start(decided, bucket).date().isoformat(), row["rep_id"])
        out = sums.setdefault(key, {"period": key[0], "rep_id": key[1], "leads": 0, "pipeline": 0.0,
                                    "touched": 0, "touch_minutes": 0.0, "breaches": 0})
        record = store.record(row["lead_id"])
        out["leads"] += 1
        out["pipeline"] += record.value if record is not None else 0.0
        touched = datetime.fromisoformat(row["touched_at"]) if row["touched_at"] else None
        due = datetime.fromisoformat(row["sla_due"]) if row["sla_due"] else None
        if touched is not None:
            out["touched"] += 1
            out["touch_minutes"] += (touched - decided).total_seconds() / 60
        if due is not None and ((touched is not None and touched > due) or (touched is None and due < now)):
            out["breaches"] += 1
    return list(sums.values())
