"""Metrics on hand-computed tiny runs, and the confidence intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.sim.metrics import (
    RunRecord,
    aggregate,
    interval,
    paired_interval,
    paired_percent,
    response_histogram,
    run_metrics,
)


def tiny() -> RunRecord:
    """Four leads, two reps: rep 0 gets two (one won), rep 1 one (won), one lead unassigned."""
    return RunRecord(
        value=np.array([100.0, 200.0, 300.0, 400.0]),
        expected_value=np.array([50.0, 80.0, 90.0, 0.0]),
        owner=np.array([0, 0, 1, -1]),
        response_min=np.array([5.0, 90.0, 30.0, np.nan]),
        p_win=np.array([0.5, 0.2, 0.4, 0.0]),
        won=np.array([True, False, True, False]),
        reassigned=np.array([0, 1, 0, 0]),
        capacity=np.array([4, 2]),
        quota=np.array([100.0, 600.0]),
        share=np.array([0.5, 0.5]),
        load_samples=np.array([[2.0, 1.0], [0.0, 1.0]]),
        sla_minutes=60.0,
    )


def test_run_metrics_by_hand() -> None:
    m = run_metrics(tiny())
    assert m["assigned"] == 3 and m["unassigned"] == 1
    assert m["expected_revenue"] == pytest.approx(100 * 0.5 + 200 * 0.2 + 300 * 0.4)
    assert m["realized_revenue"] == 400
    assert m["expected_value"] == 220
    assert m["conversion_rate"] == 0.5
    assert m["response_p50_min"] == 30
    assert m["response_p90_min"] == pytest.approx(30 + 0.8 * (90 - 30))  # linear interpolation
    assert m["sla_breaches"] == 1  # lead 1 answered after 90 > 60 minutes
    assert m["reassigned"] == 1
    assert m["utilization"] == pytest.approx(np.mean([2 / 4, 1 / 2, 0 / 4, 1 / 2]))
    # revenue: rep 0 won 100 (quota 100 -> 100%), rep 1 won 300 (quota 600 -> 50%)
    assert m["quota_attainment"] == 0.5
    assert m["mean_attainment"] == pytest.approx(0.75)
    # counts 2 and 1 against equal shares: Jain = 9 / (2 * 5)
    assert m["jain"] == pytest.approx(0.9)
    assert m["max_deviation"] == pytest.approx(2 / 3 - 0.5)


def test_response_histogram_counts_answered_leads_per_bin() -> None:
    counts = response_histogram(np.array([0.5, 5.0, 30.0, 20000.0, np.nan]))
    assert sum(counts) == 4
    assert counts[0] == 1 and counts[-1] == 1


def test_interval_uses_student_t() -> None:
    iv = interval([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / math.sqrt(3)  # t(0.975, 2) x sd 1 / sqrt(3)
    assert iv["mean"] == 2.0
    assert (iv["low"], iv["high"]) == pytest.approx((2 - half, 2 + half))
    assert interval([5.0]) == {"mean": 5.0, "low": 5.0, "high": 5.0, "n": 1}


def test_paired_interval_removes_shared_noise() -> None:
    base = [10.0, 50.0, 90.0]  # large seed-to-seed spread
    better = [11.0, 51.2, 90.8]  # consistently about +1
    assert interval(better)["low"] < interval(base)["high"]  # unpaired: overlapping
    diff = paired_interval(better, base)
    assert diff["low"] > 0  # paired: clearly better
    with pytest.raises(ValueError, match="same seeds"):
        paired_interval([1.0], [1.0, 2.0])


def test_aggregate_pairs_by_seed_against_baseline_and_base_variant() -> None:
    runs = [{"variant": v, "policy": p, "seed": s, "metrics": {"x": s + (p == "opt") + 10 * (v == "big")}}
            for v in ("base", "big") for p in ("rr", "opt") for s in range(3)]
    cells = aggregate(runs, baseline="rr")
    assert cells["base"]["opt"]["vs_baseline"]["x"]["mean"] == 1.0
    assert cells["base"]["opt"]["vs_baseline"]["x"]["low"] == 1.0  # identical differences
    assert "vs_baseline" not in cells["base"]["rr"]
    assert cells["big"]["rr"]["vs_base_variant"]["x"]["mean"] == 10.0
    assert cells["base"]["rr"]["metrics"]["x"]["mean"] == 1.0


def test_paired_percent_is_the_paired_difference_in_percent_of_the_baseline_mean() -> None:
    # Per-seed % changes are +100% and +1.01% (their own interval spans 0); the dollar differences
    # are 100 and 101 (their interval is well above 0). The % must be the dollars, rescaled.
    values, base = [200.0, 10_101.0], [100.0, 10_000.0]
    diff, pct = paired_interval(values, base), paired_percent(values, base)
    assert diff["low"] > 0
    scale = 100.0 / np.mean(base)
    assert (pct["mean"], pct["low"], pct["high"], pct["n"]) == pytest.approx(
        (diff["mean"] * scale, diff["low"] * scale, diff["high"] * scale, 2))
    # A negative baseline mean keeps the difference's sign; a zero one leaves no % at all.
    assert paired_percent([-1.0, -3.0], [-4.0, -4.0])["mean"] == pytest.approx(50.0)
    assert paired_percent([1.0, 2.0], [-1.0, 1.0])["n"] == 0
