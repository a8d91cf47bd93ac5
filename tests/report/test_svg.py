"""Inline SVG charts: readable ticks, labelled axes, dated time axes, intervals drawn."""

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
