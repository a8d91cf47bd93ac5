"""Inline SVG charts: readable ticks, labelled axes, dated time axes, intervals drawn."""

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from solver.report.svg import Band, bars, nice_ticks, scatter, tick_labels, time_lines


@pytest.mark.parametrize("low, high", [(0.976, 0.99), (0, 1), (0, 1e6), (5e5, 9e5), (0, 2), (0, 15), (3.1, 3.4)])
def test_tick_labels_are_distinct_and_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    labels = tick_labels(ticks)
    assert len(set(labels)) == len(labels), labels


def test_a_time_chart_has_dates_a_legend_and_its_band():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    svg = time_lines(start, timedelta(days=7), {"median rep": Band([1, 2, 3], [0, 1, 2], [2, 3, 4])},
                     "Open leads", "open leads per rep", low=0)
    assert "role='img'" in svg and "aria-label='Open leads'" in svg
    assert ">02 Mar<" in svg and ">16 Mar<" in svg and ">open leads per rep<" in svg and ">date<" in svg
    assert "<polygon" in svg and ">median rep<" in svg


def test_bars_draw_each_interval_and_scatter_labels_each_point():
    svg = bars(["a", "b"], [1.0, 2.0], [0.5, 1.5], [1.5, 2.5], "Revenue", "revenue ($)")
    assert len(re.findall(r"<path d='M", svg)) == 2 and ">revenue ($)<" in svg
    points = scatter([("w 0", 0.9, 10.0, 9.0, 11.0), ("w 1", 0.95, 8.0, 7.0, 9.0)], "T", "x", "y")
    assert ">w 0<" in points and ">w 1<" in points and points.count("<circle") == 2


@pytest.mark.parametrize("step, points", [
    (timedelta(days=1), 14), (timedelta(days=7), 8), (timedelta(days=1), 366), (timedelta(hours=1), 120),
    (timedelta(hours=1), 24 * 42), (timedelta(minutes=90), 50), (timedelta(days=7), 60), (timedelta(days=1), 2),
    (timedelta(hours=13), 400)])
def test_time_ticks_are_few_evenly_spaced_and_never_repeat_a_label(step, points):
    start = datetime(2026, 3, 4, 7, tzinfo=UTC)  # a Wednesday, 07:00: hourly ticks start at a midnight
    svg = time_lines(start, step, {"s": [1.0] * points}, "T", "y")
    labels = re.findall(r"<text x='[\d.]+' y='\d+' text-anchor='middle' font-size='12' fill='#222'>([^<]+)<", svg)
    assert 2 <= len(labels) <= 8 and len(set(labels)) == len(labels), labels
    ticks = r"<line x1='([\d.]+)' x2='\1' y1='[\d.]+' y2='[\d.]+' stroke='#444'/><text"
    positions = [float(x) for x in re.findall(ticks, svg)]
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    assert max(gaps) - min(gaps) < 0.25, gaps  # evenly spaced (to the drawing's 0.1 px)
    if step >= timedelta(days=1):  # the current day or week is labelled
        long = step * (points - 1) > timedelta(days=300)
        assert labels[-1] == (start + step * (points - 1)).strftime("%b %Y" if long else "%d %b")
    if step == timedelta(hours=1) and points == 120:
        assert labels == ["05 Mar", "06 Mar", "07 Mar", "08 Mar", "09 Mar"]  # midnights, one a day
    if step == timedelta(hours=13):  # 7 months sampled every 13 hours: every 4 weeks, from a midnight
        assert labels[:3] == ["05 Mar", "02 Apr", "30 Apr"] and len(labels) == 8


def test_a_time_chart_says_what_its_dates_stand_for():
    svg = time_lines(datetime(2026, 3, 2, tzinfo=UTC), timedelta(days=7), {"s": [1.0, 2.0]}, "T", "y",
                     x_label="week starting (UTC)")
    assert ">week starting (UTC)<" in svg and ">date<" not in svg


def test_a_long_bar_label_goes_on_two_lines_instead_of_being_cut():
    names = ["round robin", "least loaded", "greedy", "the optimizer (min-cost flow)"]  # ~16 characters a bar
    svg = bars(names, [1.0] * 4, [0.5] * 4, [1.5] * 4, "R", "$")
    assert ">the optimizer</tspan>" in svg and ">(min-cost flow)</tspan>" in svg and "…" not in svg
    assert ">round robin</text>" in svg


def test_a_band_is_drawn_only_where_both_ends_are_known():
    # NaN ends went into one polygon ('78.0,nan': invalid SVG), and the experiment chart drew an
    # unknown confidence sequence as a zero-width band on the estimate
    nan = float("nan")
    band = Band([1.0, 2.0, nan, 3.0, 4.0], [0.0, 1.0, nan, nan, 3.0], [2.0, 3.0, nan, 5.0, 5.0])
    svg = time_lines(datetime(2026, 3, 2, tzinfo=UTC), timedelta(days=1), {"lift": band}, "T", "y")
    assert "nan" not in svg
    assert svg.count("<polygon") == 2  # days 1-2 and day 5; days 3-4 lack an end


def test_the_experiment_chart_draws_no_sequence_band_before_the_sequence_is_known():
    from solver.report.experiment import lift_chart

    looks = [{"at": "2026-03-02T00:00:00+00:00", "diff": 0.1, "se": 0.05, "low": None, "high": None},
             {"at": "2026-03-03T00:00:00+00:00", "diff": None, "se": None, "low": None, "high": None},
             {"at": "2026-03-04T00:00:00+00:00", "diff": 0.2, "se": 0.04, "low": -0.3, "high": 0.7}]
    svg = lift_chart({"looks": looks, "metric": "conversion"})
    assert "nan" not in svg
    # the one-look interval on days 1 and 3 (day 2 has no estimate), the sequence on day 3 only
    assert svg.count("<polygon") == 3
