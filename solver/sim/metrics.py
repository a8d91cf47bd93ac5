"""Simulation metrics: one run's numbers, and their mean and 95% interval across seeds.

`run_metrics` reads a `RunRecord` (plain arrays, so tiny cases can be checked
by hand). Across seeds, `interval` gives the mean with a Student-t 95%
confidence interval; `paired_interval` does the same for per-seed differences,
which is how policies are compared: every policy of a seed sees the same
arrivals and the same random draws, so the difference removes the traffic's
noise and "better" becomes a statement with an interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from solver.compile import fairness
from solver.report.glossary import clip
from solver.report.results import Cells, CellSummary, Comparison, Interval, RunSummary

# Two-sided 95% Student-t quantiles t(0.975, df) for df = 1..30; beyond, the normal 1.96.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)

# Bin edges (minutes) of the first-response histogram: minutes, then hours, then days.
RESPONSE_BINS = (0, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080)

# The metrics reported per run, in display order, with what a higher value means.
METRICS: dict[str, str] = {
    "expected_revenue": "better",  # sum of value x win probability at the simulated response time
    "realized_revenue": "better",  # sum of value of the leads won (sampled)
    "expected_value": "better",  # the router's own objective: value x score x skill, no speed effect
    "conversion_rate": "better",
    "response_p50_min": "worse",
    "response_p90_min": "worse",
    "sla_breaches": "worse",
    "unassigned": "worse",
    "reassigned": "worse",
    "utilization": "neutral",
    "quota_attainment": "better",  # share of reps at >= 100% of quota
    "mean_attainment": "better",
    "jain": "better",
    "gini": "worse",
    "max_deviation": "worse",
    # Pipeline fairness: value of the leads each rep got over the period, per unit of quota share.
    "pipeline_jain": "better",
    "pipeline_min_max": "better",  # the least served rep's pipeline / the most served one's
    # What the hard rules alone cause: each pool's leads split perfectly by quota share inside it.
    "structural_jain": "neutral",
    "structural_min_max": "neutral",
    # Pipeline Jain lost beyond the structural part: structural_jain - pipeline_jain.
    "router_pipeline_imbalance": "worse",
    "decided_by_router": "neutral",  # leads whose first rep the router chose
    "forced_by_owner": "neutral",  # leads whose first rep the account-owner rule forced
}


@dataclass
class RunRecord:
    """What one simulated run leaves behind: n leads, m reps, T load samples."""

    value: np.ndarray  # float (n,): lead value
    expected_value: np.ndarray  # float (n,): router's expected value with the final owner (0 if none)
    owner: np.ndarray  # int (n,): final owner, -1 = unassigned
    response_min: np.ndarray  # float (n,): first response after arrival, minutes (nan = never)
    p_win: np.ndarray  # float (n,): win probability given the response time (0 if never)
    won: np.ndarray  # bool (n,)
    reassigned: np.ndarray  # int (n,): times the lead moved to another rep
    capacity: np.ndarray  # int (m,)
    quota: np.ndarray  # float (m,): revenue quota over the horizon
    share: np.ndarray  # float (m,): fair share of the leads
    load_samples: np.ndarray  # float (T, m): open leads per rep, sampled hourly
    sla_minutes: float
    forced: np.ndarray | None = None  # bool (n,): first placed by the account-owner rule
    eligible: np.ndarray | None = None  # bool (n, m): each lead's pool under the hard rules


def run_metrics(rec: RunRecord) -> dict[str, float]:
    """The per-run metrics of `METRICS` (plus counts), as plain floats."""
    n, m = rec.owner.size, rec.capacity.size
    placed = rec.owner >= 0
    responded = np.isfinite(rec.response_min)
    late = placed & (~responded | (np.nan_to_num(rec.response_min, nan=np.inf) > rec.sla_minutes))
    revenue = np.bincount(rec.owner[rec.won & placed], weights=rec.value[rec.won & placed], minlength=m)
    attainment = revenue / rec.quota
    counts = np.bincount(rec.owner[placed], minlength=m).astype(float)
    with_room = rec.capacity > 0
    utilization = (
        float(np.mean(rec.load_samples[:, with_room] / rec.capacity[with_room]))
        if rec.load_samples.size and with_room.any() else 0.0
    )
    times = rec.response_min[responded]
    out = {
        "leads": float(n),
        "assigned": float(placed.sum()),
        "unassigned": float(n - placed.sum()),
        "expected_revenue": float(np.sum(rec.value * rec.p_win)),
        "realized_revenue": float(rec.value[rec.won].sum()),
        "expected_value": float(rec.expected_value[placed].sum()),
        "conversion_rate": float(rec.won.sum() / n) if n else 0.0,
        "response_p50_min": float(np.percentile(times, 50)) if times.size else float("nan"),
        "response_p90_min": float(np.percentile(times, 90)) if times.size else float("nan"),
        "sla_breaches": float(late.sum()),
        "reassigned": float((rec.reassigned > 0).sum()),
        "utilization": utilization,
        "quota_attainment": float(np.mean(attainment >= 1.0)),
        "mean_attainment": float(attainment.mean()),
    }
    out.update(fairness.metrics(counts, rec.share))
    pipeline = np.bincount(rec.owner[placed], weights=rec.value[placed], minlength=m)
    out["pipeline_jain"], out["pipeline_min_max"] = pipeline_fairness(pipeline, rec.share)
    if rec.eligible is not None:
        structural = structural_pipeline(rec.value, rec.eligible, rec.share)
        out["structural_jain"], out["structural_min_max"] = pipeline_fairness(structural, rec.share)
    else:
        out["structural_jain"] = out["structural_min_max"] = float("nan")
    out["router_pipeline_imbalance"] = out["structural_jain"] - out["pipeline_jain"]
    forced = rec.forced if rec.forced is not None else np.zeros(n, dtype=bool)
    out["decided_by_router"] = float((placed & ~forced).sum())
    out["forced_by_owner"] = float((placed & forced).sum())
    return out


# Per-rep figures of one run (`rep_metrics`), in the per-rep table's order.
REP_METRICS = ("leads", "pipeline", "quota_share", "pipeline_vs_share", "territory_vs_share", "won",
               "attainment", "response_p50_min", "sla_breaches")


def rep_metrics(rec: RunRecord) -> dict[str, list[float]]:
    """Per rep (`REP_METRICS`): who got how much pipeline against its quota share, and how fast.

    `pipeline_vs_share` is the rep's share of the pipeline over its quota share (1 = its
    fair share); `territory_vs_share` is the same for the split the territories allow
    (`structural_pipeline`), so a rep behind in both is short of leads, not of routing.
    """
    m = rec.capacity.size
    placed = rec.owner >= 0
    owners = rec.owner[placed]
    pipeline = np.bincount(owners, weights=rec.value[placed], minlength=m)
    won = rec.won & placed
    revenue = np.bincount(rec.owner[won], weights=rec.value[won], minlength=m)
    responded = placed & np.isfinite(rec.response_min)
    late = placed & (~np.isfinite(rec.response_min)
                     | (np.nan_to_num(rec.response_min, nan=np.inf) > rec.sla_minutes))
    share = rec.share / rec.share.sum() if rec.share.sum() > 0 else rec.share

    def vs_share(per_rep: np.ndarray) -> np.ndarray:
        total = per_rep.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(share > 0, (per_rep / total if total > 0 else 0 * per_rep) / share, np.nan)

    territory = (structural_pipeline(rec.value, rec.eligible, rec.share) if rec.eligible is not None
                 else np.full(m, np.nan))
    medians = np.full(m, np.nan)
    if responded.any():
        order = np.argsort(rec.owner[responded], kind="stable")
        reps, times = rec.owner[responded][order], rec.response_min[responded][order]
        bounds = np.searchsorted(reps, np.arange(m + 1))
        for j in np.flatnonzero(np.diff(bounds)):  # one median per rep with answers
            medians[j] = float(np.median(times[bounds[j]:bounds[j + 1]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = np.where(rec.quota > 0, revenue / rec.quota, np.nan)
    columns = {
        "leads": np.bincount(owners, minlength=m).astype(float), "pipeline": pipeline,
        "quota_share": share, "pipeline_vs_share": vs_share(pipeline),
        "territory_vs_share": vs_share(territory), "won": revenue, "attainment": attainment,
        "response_p50_min": medians,
        "sla_breaches": np.bincount(rec.owner[late], minlength=m).astype(float),
    }
    return {name: [float(v) for v in columns[name]] for name in REP_METRICS}


def pipeline_fairness(pipeline: np.ndarray, share: np.ndarray) -> tuple[float, float]:
    """Jain index and min/max ratio of pipeline value per unit of quota share.

    Over the reps with a positive share: x_j = pipeline_j / share_j, Jain =
    (sum x)^2 / (k sum x^2) (1 = every rep got its share's worth), min/max =
    min x / max x (0 = some rep got nothing). No pipeline at all counts as even.
    """
    mask = share > 0
    x = pipeline[mask] / share[mask]
    if x.size == 0 or not np.any(x > 0):
        return 1.0, 1.0
    return float(x.sum() ** 2 / (x.size * np.sum(x * x))), float(x.min() / x.max())


def structural_pipeline(value: np.ndarray, eligible: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Pipeline per rep if every lead's value were split by quota share inside its pool.

    The pool is the reps the hard rules admit for the lead (`eligible` row);
    a lead no rep may take counts for no one. The imbalance left here is the
    territories' (structural), not the router's.
    """
    weights = eligible * share[None, :]
    total = weights.sum(axis=1)
    ok = total > 0
    return (value[ok] / total[ok]) @ weights[ok]


def response_histogram(response_min: np.ndarray) -> list[int]:
    """Counts of first-response times per `RESPONSE_BINS` bin (the last bin is open-ended)."""
    times = response_min[np.isfinite(response_min)]
    edges = np.array([*RESPONSE_BINS, np.inf])
    return np.histogram(times, bins=edges)[0].tolist()


def t_quantile(df: int) -> float:
    """Two-sided 95% Student-t quantile for `df` degrees of freedom."""
    return _T975[df - 1] if 1 <= df <= len(_T975) else 1.96


def interval(values: Iterable[float]) -> Interval:
    """Mean and 95% confidence interval (Student t) of independent per-seed values.

    One value gives a zero-width interval: no spread is known, not none exists.
    """
    x = np.asarray(list(values), dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    mean = float(x.mean())
    half = t_quantile(x.size - 1) * float(x.std(ddof=1)) / float(np.sqrt(x.size)) if x.size > 1 else 0.0
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(x.size)}


def paired_interval(values: Sequence[float], baseline: Sequence[float]) -> Interval:
    """Interval of the per-seed differences values - baseline (same seeds, same order)."""
    if len(values) != len(baseline):
        raise ValueError("paired values need the same seeds on both sides")
    return interval(np.asarray(values, dtype=float) - np.asarray(baseline, dtype=float))


def paired_percent(values: Sequence[float], baseline: Sequence[float]) -> Interval:
    """The paired difference of `paired_interval` in % of the baseline's mean over the same seeds.

    Mean and bounds are the difference's, scaled by 100 / |baseline mean|, so the % interval
    excludes 0 exactly when the difference's does and a verdict reads the same from either. (A
    mean of per-seed % changes weights each seed by its own baseline and can disagree in sign
    with the difference.) A baseline mean of 0 leaves no % defined (n = 0).
    """
    diff = paired_interval(values, baseline)
    a, b = np.asarray(values, dtype=float), np.asarray(baseline, dtype=float)
    paired = np.isfinite(a - b)  # the seeds `interval` keeps for the difference
    scale = float(np.abs(b[paired].mean())) if paired.any() else 0.0
    if diff["n"] == 0 or scale == 0.0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    return {"mean": 100.0 * diff["mean"] / scale, "low": 100.0 * diff["low"] / scale,
            "high": 100.0 * diff["high"] / scale, "n": diff["n"]}


def compare(values: dict[int, dict[str, float]], reference: dict[int, dict[str, float]],
            names: Sequence[str]) -> Comparison:
    """Paired by seed (the seeds both sides ran): the difference per metric, and the same
    difference in % of the reference's mean (`paired_percent`)."""
    seeds = sorted(set(values) & set(reference))
    diff, pct = {}, {}
    for name in names:
        a = [values[s][name] for s in seeds]
        b = [reference[s][name] for s in seeds]
        diff[name], pct[name] = paired_interval(a, b), paired_percent(a, b)
    return {"diff": diff, "pct": pct}


def aggregate(runs: Sequence[RunSummary], baseline: str, references: Sequence[str] = ()) -> Cells:
    """Per variant x policy: mean and interval of every metric, and paired differences.

    `runs` are the runs' summaries (variant, policy, seed, metrics). Differences
    are against the baseline policy of the same variant, against the base
    variant of the same policy, and (`vs`) against each of the `references`
    policies of the same variant, in absolute terms and in %, each paired by seed.
    """
    table: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for run in runs:
        table.setdefault((run["variant"], run["policy"]), {})[run["seed"]] = run["metrics"]
    names = list(runs[0]["metrics"]) if runs else []
    cells: Cells = {}
    for (variant, policy), by_seed in table.items():
        seeds = sorted(by_seed)

        def column(source: dict[int, dict[str, float]], name: str, seeds: list[int] = seeds) -> list[float]:
            return [source[s][name] for s in seeds]

        # Clipped to what each metric can be: a share's t-interval over two seeds runs past 0..1.
        entry: CellSummary = {"metrics": {k: clip(interval(column(by_seed, k)), k) for k in names}}
        base = table.get((variant, baseline))
        if base is not None and policy != baseline and set(base) >= set(seeds):
            entry["vs_baseline"] = {k: paired_interval(column(by_seed, k), column(base, k))
                                    for k in names}
        base_variant = table.get(("base", policy))
        if base_variant is not None and variant != "base" and set(base_variant) >= set(seeds):
            entry["vs_base_variant"] = {k: paired_interval(column(by_seed, k), column(base_variant, k))
                                        for k in names}
        versus = {ref: compare(by_seed, table[(variant, ref)], names) for ref in references
                  if ref != policy and (variant, ref) in table}
        if versus:
            entry["vs"] = versus
        cells.setdefault(variant, {})[policy] = entry
    return cells
