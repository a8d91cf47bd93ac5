"""The simulation result: what `leadsolver simulate` writes as result.json and the report reads.

Typed dicts, not classes: the result is JSON (written with `json.dumps`, read
back by notebooks and by the report), and a typed dict is that JSON with the
keys checked by mypy, so typing it changes nothing that is written. The
simulator (`solver.sim`) builds these; the report, a layer below, reads them,
so they live here.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Interval(TypedDict):
    """A mean with its 95% confidence interval over `n` seeds (nan and n=0 when there is no value)."""

    mean: float
    low: float
    high: float
    n: int


class Comparison(TypedDict):
    """Paired by seed against one reference: the mean difference and the difference in % of it."""

    diff: dict[str, Interval]  # metric -> mean of (this - reference) per seed, 95% CI
    pct: dict[str, Interval]  # metric -> diff's mean and CI in % of the reference's mean


class CellSummary(TypedDict):
    """One variant x policy: every metric's interval, and paired differences where there is a pair."""

    metrics: dict[str, Interval]
    vs_baseline: NotRequired[dict[str, Interval]]  # against the baseline policy, same variant
    vs_base_variant: NotRequired[dict[str, Interval]]  # against the base variant, same policy
    # Against each reference policy the scenario runs (round robin, least loaded), same variant.
    vs: NotRequired[dict[str, Comparison]]


# variant -> policy -> summary
Cells = dict[str, dict[str, CellSummary]]


class RunSummary(TypedDict):
    """One simulated run (variant, policy, seed) and its metrics, by name."""

    variant: str
    policy: str
    seed: int
    fairness_weight: float | None  # None = the scenario policy's own weight
    metrics: dict[str, float]


class LoadSeries(TypedDict):
    """Open leads per rep over time: one row per sample, one column per rep."""

    rep_ids: list[str]
    hours_per_sample: int
    open_leads: list[list[int]]


class RepTable(TypedDict):
    """Per rep, over the seeds of one policy (base variant): each figure's mean and interval."""

    rep_ids: list[str]
    territories: list[str]  # per rep, its territories joined ("" for none)
    metrics: dict[str, list[Interval]]  # `solver.sim.metrics.REP_METRICS` name -> one per rep


class SweepPoint(TypedDict):
    """One fairness weight of the trade-off curve."""

    weight: float
    expected_revenue: Interval
    expected_value: Interval
    jain: Interval


class FairnessSweep(TypedDict):
    """The value-against-fairness curve of one policy, one point per weight."""

    policy: str
    points: list[SweepPoint]


class SimulationResult(TypedDict):
    """The whole result of simulating a scenario (the keys of result.json, in order)."""

    scenario: str
    description: str
    variants: list[str]
    policies: list[str]
    baseline: str
    references: list[str]  # the policies every other one is compared with (`vs` of a cell)
    seeds: int
    sla_minutes: float
    cells: Cells
    runs: list[RunSummary]
    response_bins_min: list[int]
    response_histogram: dict[str, dict[str, list[int]]]  # variant -> policy -> counts per bin
    load_over_time: dict[str, LoadSeries]  # policy -> base variant, seed 0
    fairness_sweep: FairnessSweep
    start: NotRequired[str]  # the scenario's start, ISO 8601 (dates the report's time axes)
    per_rep: NotRequired[dict[str, RepTable]]  # policy -> its reps (base variant); older results lack it


class StudyArm(TypedDict):
    """One arm of a study: a policy with overrides of the scenario, its metrics over the seeds."""

    label: str
    policy: str
    variant: str
    overrides: dict[str, object]
    metrics: dict[str, Interval]
    per_seed: dict[str, list[float]]  # metric -> value per seed (seeds 0..n-1), for re-analysis


class StudyComparison(Comparison):
    """One arm against a reference arm, paired by seed."""

    arm: str
    reference: str


class StudyResult(TypedDict):
    """A paired study (`solver.sim.studies`): arms run on the same seeds and their comparisons."""

    study: str
    scenario: str
    seeds: int
    arms: list[StudyArm]
    comparisons: list[StudyComparison]
