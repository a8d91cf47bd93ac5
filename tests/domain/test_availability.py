"""Working hours, time zones (DST included), out-of-office ranges and SLA clocks."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from solver.domain.availability import RepCalendar, Schedule, parse_date_range, parse_working_hours
from solver.domain.model import Rep


def rep(**kw) -> Rep:
    return Rep(id=kw.pop("id", "R1"), capacity=5, **kw)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "9-5",  # no minutes
        "17:00-09:00",  # overnight shift
        "09:00-09:00",  # empty window
        "25:00-26:00",  # not a time of day
        "Mox 09:00-17:00",  # unknown day
    ],
)
def test_bad_working_hours_are_rejected_with_the_text(text):
    with pytest.raises(ValueError, match="working hours"):
        parse_working_hours(text)


def test_working_hours_default_to_weekdays_and_accept_day_ranges():
    assert parse_working_hours("09:00-17:30").days == frozenset(range(5))
    assert parse_working_hours("Fri-Mon 08:00-12:00").days == frozenset({4, 5, 6, 0})
    assert parse_working_hours("") is None


@pytest.mark.parametrize("text", ["2026-02-30", "2026-03-02..2026-03-01", "next week"])
def test_bad_ooo_ranges_are_rejected(text):
    with pytest.raises(ValueError, match="out-of-office"):
        parse_date_range(text)


def test_rep_rejects_unknown_time_zone():
    with pytest.raises(ValueError, match="unknown time zone"):
        rep(timezone="Europe/Atlantis")


def test_new_york_hours_follow_daylight_saving():
    s = Schedule(rep(timezone="America/New_York", working_hours="09:00-17:00"))
    # Friday 2026-03-06 is still EST (UTC-5): 13:30 UTC is 08:30 local.
    assert not s.state(utc(2026, 3, 6, 13, 30))[0]
    assert s.state(utc(2026, 3, 6, 14, 0))[0]
    # Monday 2026-03-09 is EDT (UTC-4) after the 8 March change: 13:30 UTC is 09:30 local.
    assert s.state(utc(2026, 3, 9, 13, 30))[0]
    assert not s.state(utc(2026, 3, 9, 21, 0))[0]  # 17:00 local: the window is half-open


def test_one_instant_three_time_zones():
    calendar = RepCalendar([
        rep(id="berlin", timezone="Europe/Berlin", working_hours="09:00-17:00"),
        rep(id="tokyo", timezone="Asia/Tokyo", working_hours="09:00-17:00"),
        rep(id="la", timezone="America/Los_Angeles", working_hours="09:00-17:00"),
    ])
    # Tuesday 2026-06-02 07:30 UTC: Berlin 09:30, Tokyo 16:30, Los Angeles 00:30.
    np.testing.assert_array_equal(calendar.available(utc(2026, 6, 2, 7, 30)), [True, True, False])


def test_weekend_and_leave_in_the_reps_own_calendar():
    s = Schedule(rep(timezone="Asia/Tokyo", ooo=("2026-03-02",)))
    # 2026-03-01 16:00 UTC is already Monday 2 March, 01:00, in Tokyo: on leave.
    assert not s.state(utc(2026, 3, 1, 16, 0))[0]
    assert s.state(utc(2026, 3, 1, 14, 0))[0]
    weekdays = Schedule(rep(working_hours="09:00-17:00"))
    assert not weekdays.state(utc(2026, 3, 7, 12, 0))[0]  # Saturday


def test_cached_calendar_matches_fresh_evaluation_across_boundaries():
    reps = [
        rep(id="a", timezone="America/New_York", working_hours="09:00-17:00", ooo=("2026-03-10..2026-03-11",)),
        rep(id="b", timezone="Europe/London", working_hours="Mon-Sat 08:00-20:00"),
        rep(id="c", available=False),
        rep(id="d"),
    ]
    calendar = RepCalendar(reps)
    t = utc(2026, 3, 5, 0, 0)
    for _ in range(600):  # 12.5 days in 30-minute steps, through DST in the US and UK
        expected = [Schedule(r).state(t)[0] for r in reps]
        np.testing.assert_array_equal(calendar.available(t), expected, err_msg=str(t))
        t += timedelta(minutes=30)


def test_the_availability_mask_is_one_read_only_array_until_a_boundary():
    # Callers cache what they derive from the mask by its identity (the urgent path's rows, the
    # calendar's shifts): it must be the same array within a shift and never change in place.
    for reps, always in (([rep(id="a", working_hours="09:00-17:00"), rep(id="b")], False),
                         ([rep(id="a"), rep(id="b")], True)):
        calendar = RepCalendar(reps)
        nine = calendar.available(utc(2026, 3, 9, 9, 0))  # a Monday
        assert calendar.available(utc(2026, 3, 9, 12, 0)) is nine
        with pytest.raises(ValueError, match="read-only"):
            nine[0] = not nine[0]
        evening = calendar.available(utc(2026, 3, 9, 18, 0))
        assert not evening.flags.writeable
        assert (evening is nine) == always  # a new array past a shift boundary; none without hours


def test_sla_clock_counts_only_working_hours():
    s = Schedule(rep(timezone="Europe/Berlin", working_hours="09:00-17:00"))
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=s.zone)
    due = s.add_working_time(friday_4pm, timedelta(hours=4))
    assert due == datetime(2026, 3, 9, 12, 0, tzinfo=s.zone)  # 1 h Friday + 3 h Monday
    always = Schedule(rep())
    assert always.add_working_time(utc(2026, 3, 6), timedelta(hours=4)) == utc(2026, 3, 6, 4)


def test_available_fraction_counts_scheduled_days_not_on_leave():
    s = Schedule(rep(working_hours="09:00-17:00", ooo=("2026-03-02..2026-03-06",)))
    # Two working weeks, one on leave.
    assert s.available_fraction(date(2026, 3, 2), date(2026, 3, 16)) == pytest.approx(0.5)
