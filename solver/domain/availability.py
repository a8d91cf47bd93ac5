"""When a rep can take leads: time zones, working hours and out-of-office ranges.

Three facts from the data contract decide whether rep j takes a new lead at an
instant `now` (a timezone-aware datetime):

- `timezone` (IANA name): all local times below are in the rep's own zone, so
  "09:00-17:30" follows the rep through daylight-saving changes;
- `working_hours`: ``HH:MM-HH:MM`` on weekdays, or with a day range first
  (``Mon-Sat 08:00-20:00``, ``Sun 10:00-14:00``); empty means always;
- `ooo`: inclusive local date ranges ``YYYY-MM-DD..YYYY-MM-DD`` (or one date).

This module is a leaf: it parses and evaluates schedules and knows nothing of
reps beyond those three attributes, so `solver.domain.model` can use its parsers to
validate records. `RepCalendar` evaluates a whole team at once and says until
when its answer holds, so the router recomputes only at the next boundary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS = frozenset(range(5))
_HOURS = re.compile(
    r"^(?:(?P<d1>[A-Za-z]{3})(?:-(?P<d2>[A-Za-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})$"
)
# Availability is re-evaluated at least this often even without a boundary, so
# a calendar answer never outlives a day (and a DST change inside it).
_MAX_VALIDITY = timedelta(hours=24)
# How far ahead a rep's next shift is looked for: past a fortnight a lead should not wait for it.
SHIFT_HORIZON = timedelta(days=14)  # = speed.MAX_WAIT_HOURS


class Scheduled(Protocol):
    """What a calendar reads from a rep (a `solver.model.Rep` satisfies it)."""

    available: bool
    timezone: str
    working_hours: str
    ooo: tuple[str, ...]


@dataclass(frozen=True)
class WorkingHours:
    """A weekly window: the same local start and end time on each of `days` (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time


@cache
def parse_timezone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def parse_working_hours(text: str) -> WorkingHours | None:
    """``"09:00-17:30"`` (weekdays), ``"Mon-Sat 08:00-20:00"``, ``"Sun 10:00-14:00"``; "" is None (always)."""
    text = text.strip()
    if not text:
        return None
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"working hours {text!r}: expected HH:MM-HH:MM, optionally after days "
                         "like 'Mon-Fri'")
    start = _clock(match["h1"], match["m1"], text)
    end = _clock(match["h2"], match["m2"], text)
    if end <= start:
        raise ValueError(f"working hours {text!r}: the end must be after the start "
                         "(overnight shifts are not supported)")
    if match["d1"] is None:
        return WorkingHours(WEEKDAYS, start, end)
    first = _day(match["d1"], text)
    last = _day(match["d2"], text) if match["d2"] else first
    days = frozenset((first + k) % 7 for k in range((last - first) % 7 + 1))
    return WorkingHours(days, start, end)


def parse_date_range(text: str) -> tuple[date, date]:
    """``"2026-12-21..2027-01-03"`` (inclusive) or one date ``"2026-12-24"``."""
    first, sep, last = text.strip().partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise ValueError(f"out-of-office {text!r}: expected YYYY-MM-DD..YYYY-MM-DD") from None
    if end < start:
        raise ValueError(f"out-of-office {text!r}: the range ends before it starts")
    return start, end


def _clock(hours: str, minutes: str, text: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time.max  # "24:00": until the end of the day
    if h > 23 or m > 59:
        raise ValueError(f"working hours {text!r}: {hours}:{minutes} is not a time of day")
    return time(h, m)


def _day(name: str, text: str) -> int:
    try:
        return DAY_NAMES.index(name.capitalize())
    except ValueError:
        raise ValueError(f"working hours {text!r}: unknown day {name!r}; "
                         f"expected one of {', '.join(DAY_NAMES)}") from None


class Schedule:
    """One rep's availability rule, evaluated at instants."""

    def __init__(self, rep: Scheduled) -> None:
        self.enabled = rep.available
        self.zone = parse_timezone(rep.timezone)
        self.hours = parse_working_hours(rep.working_hours)
        self.ooo = tuple(parse_date_range(r) for r in rep.ooo)

    @property
    def always(self) -> bool:
        """Available at every instant (no hours, no leave): nothing to evaluate."""
        return self.enabled and self.hours is None and not self.ooo

    def on_leave(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.ooo)

    def works_on(self, day: date) -> bool:
        """A scheduled working day (leave aside)."""
        return self.hours is None or day.weekday() in self.hours.days

    def state(self, now: datetime) -> tuple[bool, datetime]:
        """(available at `now`, an instant before which the answer cannot change)."""
        if not self.enabled:
            return False, now + _MAX_VALIDITY
        local = now.astimezone(self.zone)
        day = local.date()
        # The answer can only change at local midnight or at a working-hours edge.
        edges = [self._instant(day + timedelta(days=1), time.min)]
        if self.on_leave(day):
            return False, min(edges[0], now + _MAX_VALIDITY)
        if self.hours is None:
            return True, min(edges[0], now + _MAX_VALIDITY) if self.ooo else now + _MAX_VALIDITY
        works = self.works_on(day)
        start = self._instant(day, self.hours.start)
        end = self._instant(day, self.hours.end)
        inside = works and start <= now < end
        edges += [t for t in (start, end) if t > now]
        return inside, min(*edges, now + _MAX_VALIDITY)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of this rep's working hours has passed since `start`.

        Leave does not stop the clock: a lead held by a rep on leave should go
        stale and move to someone who is working.
        """
        if self.hours is None:
            return start + duration
        remaining = duration
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of days: ends long before for any real SLA
            if self.works_on(day):
                lo = max(start, self._instant(day, self.hours.start))
                hi = self._instant(day, self.hours.end)
                if hi > lo:
                    if hi - lo >= remaining:
                        return lo + remaining
                    remaining -= hi - lo
            day += timedelta(days=1)
        raise ValueError("working hours leave no time to count an SLA against")

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time between two instants: what `add_working_time` adds to `start` to
        reach `end` (leave does not stop the clock, as there)."""
        if end <= start:
            return timedelta(0)
        if self.hours is None:
            return end - start
        total = timedelta(0)
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            if self.works_on(day):
                lo = max(start, self._instant(day, self.hours.start))
                hi = min(end, self._instant(day, self.hours.end))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def next_shift(self, now: datetime) -> tuple[float, float, float]:
        """(start, end, next start) of the shift in progress at `now` or the next one, as epoch
        seconds (-inf: on since ever; inf: none within `SHIFT_HORIZON`, or no end in sight).

        Days on leave are skipped; back-to-back shifts (around the clock, or midnight-to-midnight
        days) count as one. What `solver.compile.speed` builds a rep's time to first touch of.
        """
        if not self.enabled:
            return math.inf, math.inf, math.inf
        if self.hours is None and not self.ooo:
            return -math.inf, math.inf, math.inf  # the same at any instant: cached for good
        horizon = now + SHIFT_HORIZON
        shifts: list[list[datetime]] = []
        day = now.astimezone(self.zone).date()
        while day <= horizon.date() + timedelta(days=1):
            if self.works_on(day) and not self.on_leave(day):
                lo = self._instant(day, time.min if self.hours is None else self.hours.start)
                hi = (self._instant(day + timedelta(days=1), time.min) if self.hours is None
                      else self._instant(day, self.hours.end))
                if hi > now:  # the start stays as it is (not `now`): the answer holds until `hi`
                    if shifts and shifts[-1][1] >= lo:
                        shifts[-1][1] = hi  # back to back: one shift
                    elif len(shifts) == 2:
                        break
                    else:
                        shifts.append([lo, hi])
            day += timedelta(days=1)
        if not shifts or shifts[0][0] > horizon:
            return math.inf, math.inf, math.inf
        start, end = shifts[0][0].timestamp(), shifts[0][1].timestamp()
        if shifts[0][1] > horizon:  # runs past the horizon: no end in sight
            end = math.inf
        following = shifts[1][0].timestamp() if len(shifts) == 2 and shifts[1][0] <= horizon else math.inf
        return start, end, following

    def available_fraction(self, start: date, end: date) -> float:
        """Share of the scheduled working days in [start, end) that were not on leave."""
        scheduled = available = 0
        day = start
        while day < end:
            if self.works_on(day):
                scheduled += 1
                available += not self.on_leave(day)
            day += timedelta(days=1)
        return available / scheduled if scheduled else 1.0

    def _instant(self, day: date, clock: time) -> datetime:
        """Local wall-clock time to an aware instant (fold=0: the first of a repeated hour)."""
        if clock == time.max:
            return datetime.combine(day + timedelta(days=1), time.min, self.zone)
        return datetime.combine(day, clock, self.zone)


class RepCalendar:
    """The schedules of a team, evaluated together and cached until the next boundary."""

    def __init__(self, reps: Sequence[Scheduled]) -> None:
        self.schedules = [Schedule(r) for r in reps]
        self._static = all(s.always or not s.enabled for s in self.schedules)
        # Some rep keeps hours or leave: shifts (the speed model's wait) depend on the clock.
        self.timed = any(not s.always for s in self.schedules)
        self._mask = _frozen(np.fromiter((s.enabled for s in self.schedules), dtype=bool,
                                         count=len(self.schedules)))
        self._valid_from: datetime | None = None
        self._valid_until: datetime | None = None
        # (the availability mask they were computed with, start/end/next start per rep)
        self._shifts: tuple[np.ndarray, np.ndarray] | None = None

    def available(self, now: datetime) -> np.ndarray:
        """bool (m,): rep j takes new leads at `now`; read-only, one array until the next shift
        boundary (callers cache what they derive from it by its identity)."""
        if self._static:
            return self._mask
        if self._valid_from is None or self._valid_until is None or not (
                self._valid_from <= now < self._valid_until):
            states = [s.state(now) for s in self.schedules]
            self._mask = _frozen(np.fromiter((ok for ok, _ in states), dtype=bool, count=len(states)))
            self._valid_from = now
            self._valid_until = min(until for _, until in states)
        return self._mask

    def shifts(self, now: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float (m,) x 3, in minutes from `now`: until each rep's next working minute (0 on
        shift), working minutes left in that shift, and the time off after it (inf: none)."""
        if self._shifts is None or self._shifts[0] is not self.available(now):
            edges = np.array([s.next_shift(now) for s in self.schedules]).reshape(-1, 3)
            self._shifts = (self.available(now), edges)
        start, end, following = self._shifts[1].T
        t = now.timestamp()
        wait = np.maximum(start - t, 0.0) / 60.0
        with np.errstate(invalid="ignore"):  # inf - inf: no shift at all, counted as no end
            left = np.nan_to_num((end - np.maximum(start, t)) / 60.0, nan=np.inf)
            gap = np.nan_to_num((following - end) / 60.0, nan=np.inf)
        return wait, left, gap

    def available_fractions(self, now: datetime, window: timedelta) -> np.ndarray:
        """float (m,): share of each rep's scheduled days in the window before `now` spent working."""
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=max(1, window.days))
        return np.array([s.available_fraction(first, today) if s.ooo else 1.0
                         for s in self.schedules])


def _frozen(mask: np.ndarray) -> np.ndarray:
    """`mask` made read-only: callers key caches on its identity, so it must not change in place."""
    mask.flags.writeable = False
    return mask
