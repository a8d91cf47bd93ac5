"""The verdict, the summary's proof and the % beside them read one test: the paired difference."""

from __future__ import annotations

import pytest

from solver.report.html import simulation_verdicts
from solver.report.results import RunSummary, SimulationResult
from solver.report.simulation import summary
from solver.report.studies import verdict
from solver.sim.metrics import aggregate


def two_seeds(flow: tuple[float, float], round_robin: tuple[float, float]) -> SimulationResult:
    """Flow against round robin over two seeds, expected revenue per seed as given."""
    runs: list[RunSummary] = [
        {"variant": "base", "policy": policy, "seed": seed,
         "metrics": {"expected_revenue": revenue, "response_p50_min": 5.0}}
        for policy, by_seed in (("round_robin", round_robin), ("flow", flow))
        for seed, revenue in enumerate(by_seed)]
    cells = aggregate(runs, "round_robin", ["round_robin"])
    return {"policies": ["round_robin", "flow"], "references": ["round_robin"],
            "cells": cells}  # type: ignore[typeddict-item]


@pytest.mark.parametrize(("flow", "wins", "proof"), [
    # +$100 and +$101: the dollar interval is above 0, though the per-seed % (+100%, +1.01%) spans 0.
    ((200.0, 10_101.0), True, "a gain beyond doubt"),
    # +$10 and +$1,010: the dollar interval spans 0, though the per-seed % (+10%, +10.1%) is above 0.
    ((110.0, 11_010.0), False, "not a proven difference"),
])
def test_one_answer_when_per_seed_percent_disagrees_with_the_dollars(
        flow: tuple[float, float], wins: bool, proof: str) -> None:
    result = two_seeds(flow, (100.0, 10_000.0))
    comp = result["cells"]["base"]["flow"]["vs"]["round_robin"]
    dollars, pct = comp["diff"]["expected_revenue"], comp["pct"]["expected_revenue"]
    assert (dollars["low"] > 0) == wins
    assert (pct["low"] > 0) == wins and pct["high"] > 0  # the % shown reads the same way
    sentence = verdict("flow", "round_robin", comp)
    assert sentence.startswith("flow beats round_robin:" if wins else "flow does NOT beat round_robin:")
    assert f"{pct['mean']:+.2f}% [{pct['low']:+.2f}%, {pct['high']:+.2f}%]" in sentence
    assert simulation_verdicts(result) == [sentence]
    (line,) = summary(result)
    assert proof in line and f"[{pct['low']:+.1f}; {pct['high']:+.1f}]" in line


def test_one_seed_claims_nothing() -> None:
    """One seed's interval has no width (nothing is known of the spread): no win, no interval shown."""
    runs: list[RunSummary] = [
        {"variant": "base", "policy": policy, "seed": 0,
         "metrics": {"expected_revenue": revenue, "response_p50_min": 5.0}}
        for policy, revenue in (("round_robin", 100.0), ("flow", 120.0))]
    result: SimulationResult = {"policies": ["round_robin", "flow"], "references": ["round_robin"],
                                "cells": aggregate(runs, "round_robin", ["round_robin"])}  # type: ignore[typeddict-item]
    comp = result["cells"]["base"]["flow"]["vs"]["round_robin"]
    sentence = verdict("flow", "round_robin", comp)
    assert sentence == ("flow vs round_robin: +20.00% on expected revenue from one seed: no interval, "
                        "so no verdict.")
    (line,) = summary(result)
    assert "+20.0% expected revenue (one seed: no interval)" in line and "beyond doubt" not in line
